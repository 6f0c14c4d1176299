"""Settings loading (fakebook.config)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from fakebook.config import FakebookConfig, load_config


def test_defaults_are_usable() -> None:
    config = FakebookConfig()
    assert config.min_graph_version == "v21.0"
    assert config.require_appsecret_proof is True
    assert config.app_token == f"{config.app_id}|{config.app_secret}"
    assert config.webhook_retries == 5


def test_file_then_env_override(tmp_path: Path) -> None:
    path = tmp_path / "fb.json"
    path.write_text(json.dumps({"app_name": "From File", "webhook_timeout": 3, "page_id": "7"}))
    env = {
        "FAKEBOOK_APP_NAME": "From Env",
        "FAKEBOOK_VALID_REDIRECT_URIS": "https://a.test/cb, https://b.test/cb",
        "FAKEBOOK_REQUIRE_APPSECRET_PROOF": "false",
        "UNRELATED": "x",
    }
    config = load_config(path, env)
    assert config.app_name == "From Env"
    assert config.page_id == "7"
    assert config.webhook_timeout == 3.0
    assert config.valid_redirect_uris == ["https://a.test/cb", "https://b.test/cb"]
    assert config.require_appsecret_proof is False


def test_env_list_as_json() -> None:
    config = load_config(None, {"FAKEBOOK_VALID_REDIRECT_URIS": '["https://a.test/x"]'})
    assert config.valid_redirect_uris == ["https://a.test/x"]


@pytest.mark.parametrize(
    "values",
    [
        {"min_graph_version": "21"},
        {"expired_version_policy": "ignore"},
        {"valid_redirect_uris": ["/relative"]},
        {"webhook_retries": 100},
        {"unknown_setting": 1},
    ],
)
def test_invalid_settings_rejected(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        FakebookConfig.model_validate(values)


def test_file_must_hold_an_object(tmp_path: Path) -> None:
    path = tmp_path / "fb.json"
    path.write_text("[]")
    with pytest.raises(ValueError, match="JSON object"):
        load_config(path, {})
