from __future__ import annotations

from datetime import UTC, datetime, timedelta

from botperms.store import GrantRecord, LoginAttemptRecord

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _grant(**overrides: object) -> GrantRecord:
    values: dict[str, object] = {
        "id": 1,
        "page_id": "page1",
        "psid": "psid1",
        "asid": None,
        "access_token": "EAAB-secret",
        "scopes_granted": ("public_profile", "user_likes"),
        "scopes_declined": ("email",),
        "expires_at": NOW,
        "data_access_expires_at": None,
        "status": "active",
        "flow": "web",
        "created_at": NOW,
    }
    values.update(overrides)
    return GrantRecord(**values)  # type: ignore[arg-type]


def test_repr_never_shows_the_token() -> None:
    grant = _grant()
    assert "EAAB-secret" not in repr(grant)
    assert "EAAB-secret" not in str(grant)
    attempt = LoginAttemptRecord(
        state_hash="s", ticket_id="t", page_id="p", psid="u", scopes=(), flow="web",
        auth_type=None, linking_redirect_uri=None, code_verifier="verifier-secret",
        browser_hash="b", client_kind="desktop", created_at=NOW, expires_at=NOW,
        consumed_at=None, outcome=None,
    )  # fmt: skip
    assert "verifier-secret" not in repr(attempt)


def test_has_scopes() -> None:
    grant = _grant()
    assert grant.has_scopes()
    assert grant.has_scopes("user_likes", "public_profile")
    assert not grant.has_scopes("user_likes", "email")


def test_expiry() -> None:
    assert _grant(expires_at=None).is_expired is False
    assert _grant().is_expired_at(NOW)
    assert not _grant().is_expired_at(NOW - timedelta(seconds=1))
    assert _grant(expires_at=None, status="expired").is_expired
    assert _grant(expires_at=datetime.now(UTC) - timedelta(seconds=1)).is_expired
