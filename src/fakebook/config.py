"""fakebook's settings: one frozen model, loaded from defaults, a JSON file, then FAKEBOOK_* env.

Everything the real platform leaves UNCONFIRMED (contract §11) is a setting here, so a test or a
demo can pick the behaviour it wants to exercise.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fakebook.versions import parse_version

ENV_PREFIX = "FAKEBOOK_"


class PageConfig(BaseModel):
    """One more page of the app (the first page is ``page_id``/``page_name``/``page_token``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^\d+$")
    name: str = Field(min_length=1)
    token: str = Field(min_length=8)
    username: str | None = None


class FakebookConfig(BaseModel):
    """The app, the page(s) and the platform behaviours fakebook emulates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    app_id: str = "100000000000001"
    app_secret: str = "fakebook-demo-app-secret"
    app_name: str = "Botperms Demo"
    page_id: str = "200000000000001"
    page_name: str = "Botperms Demo Page"
    # m.me links accept the page id or this username.
    page_username: str | None = "botpermsdemo"
    page_token: str = "EAAFakebookDemoPageToken"
    # More pages, each with its own token: webhooks carry the page's id, a page token's /me is
    # its page, and each page has its own threads and subscribed_apps.
    extra_pages: list[PageConfig] = Field(default_factory=list)
    webhook_url: str | None = None
    verify_token: str = "fakebook-verify-token"
    valid_redirect_uris: list[str] = Field(default_factory=list)
    # fakebook's own base URL for absolute links (paging `next`, profile_pic). None: taken
    # from each request, which is right whenever nothing rewrites the Host header.
    public_url: str | None = None
    min_graph_version: str = "v21.0"
    # Contract §0: Facebook serves a call to an expired version at the oldest available one;
    # "reject" answers code 12 instead, to catch a client pinned to a dead version.
    expired_version_policy: Literal["reject", "upgrade"] = "upgrade"
    require_appsecret_proof: bool = True
    code_ttl_seconds: int = Field(default=600, ge=1)
    short_token_ttl: int = Field(default=7200, ge=1)
    long_token_ttl: int = Field(default=5184000, ge=1)
    data_access_ttl: int = Field(default=90 * 86400, ge=1)
    # Contract §5: the app has the approved "Business Asset User Profile Access" feature, so the
    # User Profile API answers locale, timezone and gender (else 100/2018247).
    profile_extended_access: bool = False
    # Contract §6.2: whether the code exchange yields a long-lived token is UNCONFIRMED.
    code_exchange_long_lived: bool = False
    # Contract §6.2: whether client_secret may be left out when PKCE is used is UNCONFIRMED.
    pkce_secret_optional: bool = False
    webhook_timeout: float = Field(default=20.0, gt=0)
    webhook_retries: int = Field(default=5, ge=0, le=20)
    # Retry n (0-based) waits backoff * 2**n seconds, capped at backoff_max.
    webhook_backoff: float = Field(default=0.5, ge=0)
    webhook_backoff_max: float = Field(default=30.0, ge=0)
    send_sha1_signature: bool = True
    messaging_window_seconds: int = Field(default=86400, ge=1)
    human_agent_window_seconds: int = Field(default=7 * 86400, ge=1)
    # Contract §4: Facebook takes only https fully qualified domains in whitelisted_domains and
    # account_linking_url. On by default so the offline demo's bot (http://127.0.0.1:…) can list
    # itself; set false to get Facebook's rule (no http, no IP address, no localhost).
    profile_allow_local_urls: bool = True
    # Contract §3: an account_linking_token is valid for 5 minutes.
    account_linking_token_ttl: int = Field(default=300, ge=1)
    # Contract §11.7: whether an API unlink is followed by an `unlinked` webhook is UNCONFIRMED.
    unlink_api_sends_webhook: bool = True
    # Contract §7: the App Dashboard's two callback URLs; None means not configured.
    deauthorize_callback_url: str | None = None
    data_deletion_callback_url: str | None = None

    @field_validator("min_graph_version")
    @classmethod
    def _version_shape(cls, value: str) -> str:
        if parse_version(value) is None:
            raise ValueError("min_graph_version must look like v21.0")
        return value

    @field_validator("valid_redirect_uris")
    @classmethod
    def _absolute_uris(cls, value: list[str]) -> list[str]:
        for uri in value:
            if not uri.startswith(("http://", "https://")):
                raise ValueError(f"valid_redirect_uris must be absolute http(s) URLs: {uri!r}")
        return value

    @field_validator("deauthorize_callback_url", "data_deletion_callback_url")
    @classmethod
    def _absolute_callback(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"callback URLs must be absolute http(s) URLs: {value!r}")
        return value

    @field_validator("extra_pages")
    @classmethod
    def _distinct_pages(cls, value: list[PageConfig]) -> list[PageConfig]:
        ids = [page.id for page in value]
        tokens = [page.token for page in value]
        if len(set(ids)) != len(ids) or len(set(tokens)) != len(tokens):
            raise ValueError("extra_pages need distinct ids and tokens")
        return value

    @property
    def app_token(self) -> str:
        return f"{self.app_id}|{self.app_secret}"

    @property
    def pages(self) -> tuple[PageConfig, ...]:
        """Every page, the first (``page_id``) first."""
        first = PageConfig(
            id=self.page_id, name=self.page_name, token=self.page_token, username=self.page_username
        )
        return (first, *(page for page in self.extra_pages if page.id != self.page_id))

    def page(self, page_id_or_username: str | None) -> PageConfig | None:
        """The page of that id (or m.me username); None names the first page."""
        if page_id_or_username is None:
            return self.pages[0]
        for page in self.pages:
            if page_id_or_username in (page.id, page.username):
                return page
        return None

    def page_of_token(self, token: str) -> PageConfig | None:
        for page in self.pages:
            if hmac.compare_digest(page.token, token):
                return page
        return None


def _env_value(name: str, raw: str) -> Any:
    """Env values are strings; lists may be JSON or comma-separated."""
    if name == "extra_pages":
        return json.loads(raw)
    if name == "valid_redirect_uris":
        raw = raw.strip()
        if raw.startswith("["):
            return json.loads(raw)
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> FakebookConfig:
    """Defaults, overridden by the JSON file, overridden by FAKEBOOK_<FIELD> variables."""
    values: dict[str, Any] = {}
    if path is not None:
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a JSON object of settings")
        values.update(loaded)
    environ = os.environ if env is None else env
    for name in FakebookConfig.model_fields:
        key = ENV_PREFIX + name.upper()
        if key in environ:
            values[name] = _env_value(name, environ[key])
    return FakebookConfig.model_validate(values)
