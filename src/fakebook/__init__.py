"""fakebook: a local stand-in for the Facebook endpoints botperms uses."""

from fakebook.app import create_app
from fakebook.config import FakebookConfig, load_config

__all__ = ["FakebookConfig", "create_app", "load_config"]
