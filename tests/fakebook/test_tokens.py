"""Token and code book (fakebook.tokens)."""

from __future__ import annotations

from fakebook.tokens import TokenBook


def test_issue_expire_invalidate() -> None:
    book = TokenBook()
    token = book.issue_user("1", now=100.0, ttl=50, data_access_ttl=1000, long_lived=False)
    other = book.issue_user("2", now=100.0, ttl=50, data_access_ttl=1000, long_lived=True)
    assert token.token.startswith("EAA")
    assert token.token != other.token
    assert not token.is_expired(149.9)
    assert token.is_expired(150.0)
    assert book.expire_person("1", now=120.0) == 1
    assert token.is_expired(120.0)
    assert not other.is_expired(120.0)
    assert book.invalidate_person("2", "password_changed") == 1
    assert other.invalidated == "password_changed"
    assert book.invalidate_person("2", "app_removed") == 0


def test_codes_and_app_tokens_are_unique() -> None:
    book = TokenBook()
    codes = {
        book.issue_code(
            "1",
            redirect_uri="https://x",
            now=0,
            ttl=1,
            code_challenge=None,
            code_challenge_method=None,
        ).code
        for _ in range(20)
    }
    assert len(codes) == 20
    app_token = book.issue_app_token("42")
    assert app_token.startswith("42|")
    assert app_token in book.app_tokens
