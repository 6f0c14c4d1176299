"""Hypothesis settings for the property tests of every parser of outside input.

Examples are bounded (``fuzz`` profile, the default) so the whole directory stays well under a
minute; ``HYPOTHESIS_PROFILE=long`` runs ten times more for a local hunt. The database stays
off: a run is reproducible from its seed, and nothing is written to the working tree.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "fuzz",
    max_examples=200,
    deadline=None,  # the in-process app's first request pays for start-up
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("long", parent=settings.get_profile("fuzz"), max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fuzz"))

# The bot app in-process with its store, as tests/flows drives it (workers off).
from tests.flows.conftest import app, client, settings  # noqa: E402, F401
