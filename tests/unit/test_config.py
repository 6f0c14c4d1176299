from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from botperms.config import Settings, describe_error

KEY = Fernet.generate_key().decode()


def make(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "app_id": "123",
        "app_secret": "s3cret",
        "verify_token": "vt",
        "page_id": "456",
        "page_token": "EAApage",
        "public_url": "https://bot.example.com/",
        "token_keys": KEY,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def test_defaults_and_comma_lists() -> None:
    settings = make(
        scopes="user_likes, email", token_keys=f"{KEY},{Fernet.generate_key().decode()}"
    )
    assert settings.scopes == ["user_likes", "email"]
    assert len(settings.token_keys) == 2
    assert settings.public_url == "https://bot.example.com"
    assert settings.graph_base == "https://graph.facebook.com/v25.0"
    assert settings.url("/auth/callback") == "https://bot.example.com/auth/callback"


def test_http_public_url_only_on_loopback() -> None:
    assert make(public_url="http://127.0.0.1:8000").public_url == "http://127.0.0.1:8000"
    assert make(public_url="http://localhost:8000").public_url == "http://localhost:8000"
    with pytest.raises(ValidationError, match="must use https"):
        make(public_url="http://bot.example.com")


def test_bad_fernet_key_names_the_setting() -> None:
    with pytest.raises(ValidationError) as info:
        make(token_keys="not-a-key")
    text = describe_error(info.value)
    assert text.startswith("BOTPERMS_TOKEN_KEYS:")
    assert "not a Fernet key" in text


def test_missing_settings_are_named_one_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_ID", "APP_SECRET", "VERIFY_TOKEN", "PAGE_ID", "PAGE_TOKEN", "PUBLIC_URL"):
        monkeypatch.delenv(f"BOTPERMS_{name}", raising=False)
    monkeypatch.setenv("BOTPERMS_TOKEN_KEYS", KEY)
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None)  # type: ignore[call-arg]
    lines = describe_error(info.value).splitlines()
    assert "BOTPERMS_APP_SECRET: is required but not set" in lines
    assert len(lines) == 6


def test_production_refuses_demo_secrets() -> None:
    with pytest.raises(ValidationError, match="BOTPERMS_APP_SECRET is a demo secret"):
        make(env="production", app_secret="demo-abc")
    with pytest.raises(ValidationError, match="https in production"):
        make(env="production", public_url="http://127.0.0.1:8000")
    assert make(env="production").env == "production"
    assert make(app_secret="demo-abc").app_secret.get_secret_value() == "demo-abc"


def test_secrets_do_not_show_in_repr() -> None:
    settings = make()
    assert "s3cret" not in repr(settings)
    assert "EAApage" not in repr(settings)


@pytest.mark.parametrize("scopes", ["user likes", "User_Likes", "1email", "user_likes,drop;"])
def test_scopes_must_be_permission_names(scopes: str) -> None:
    with pytest.raises(ValidationError) as error:
        make(scopes=scopes)
    assert "is not a Facebook permission" in describe_error(error.value)
