"""The Graph API client: URL building, appsecret_proof, JSON decoding, retries. A client bound
to one token (``ctx.user_graph``) is :class:`~botperms.graph.bound.BoundGraph`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json as jsonlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx
import structlog

from botperms.graph.bound import BoundGraph
from botperms.graph.errors import GraphError, RateLimitedError, TransientError
from botperms.graph.paging import paginate
from botperms.graph.redaction import SECRET_PARAMS
from botperms.graph.responses import error_from_response
from botperms.graph.transport import HttpxTransport, ReqwestTransport, Transport, TransportFailure

if TYPE_CHECKING:
    from botperms.config import Settings

log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]
# Told every answer's headers, errors included (the outbox's pacer reads the usage headers).
HeadersHook = Callable[[Mapping[str, str]], None]

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
# Params we always set ourselves; any copy inside a paging URL is dropped so the token and proof
# we send are exactly the ones we computed.
_OWN_PARAMS = frozenset({"access_token", "appsecret_proof"})
# Tokens whose appsecret_proof is kept (the pages' tokens, and the people's recently used).
_PROOFS_KEPT = 1024


class GraphClient:
    """Async Graph API client. One instance per process; share it between tasks."""

    def __init__(
        self,
        *,
        graph_base: str,
        app_id: str,
        app_secret: str,
        http: httpx.AsyncClient | None = None,
        transport: Transport | None = None,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        max_retry_wait: float = 30.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.graph_base = graph_base.rstrip("/")
        self.app_id = app_id
        self._app_secret = app_secret
        self._proofs: dict[str, str] = {}
        # An injected httpx client belongs to whoever made it (tests); otherwise pyreqwest.
        if transport is None:
            transport = HttpxTransport(http) if http is not None else ReqwestTransport()
        self._transport = transport
        self._timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        # A rate-limit hint longer than this is not slept through inside one call: the caller
        # (outbox, handler) gets the RateLimitedError with retry_after and reschedules instead.
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._random = random.SystemRandom()
        base = urlsplit(self.graph_base)
        self._origin = (base.scheme, base.netloc)

    @classmethod
    def from_settings(
        cls, settings: Settings, http: httpx.AsyncClient | None = None
    ) -> GraphClient:
        return cls(
            graph_base=settings.graph_base,
            app_id=settings.app_id,
            app_secret=settings.app_secret.get_secret_value(),
            http=http,
            timeout=settings.graph_timeout_seconds,
            max_retries=settings.graph_max_retries,
        )

    def __repr__(self) -> str:
        return f"GraphClient(graph_base={self.graph_base!r}, app_id={self.app_id!r})"

    def app_token(self) -> str:
        return f"{self.app_id}|{self._app_secret}"

    def client_credentials(self) -> dict[str, str]:
        """``client_id`` and ``client_secret`` for the OAuth token endpoint."""
        return {"client_id": self.app_id, "client_secret": self._app_secret}

    def appsecret_proof(self, access_token: str) -> str:
        # The page token's proof goes with every send: worked out once, not per call (it was
        # 3 % of a busy handler process's CPU). Bounded, as user tokens pass through too.
        proof = self._proofs.get(access_token)
        if proof is None:
            proof = hmac.new(
                self._app_secret.encode(), access_token.encode(), hashlib.sha256
            ).hexdigest()
            if len(self._proofs) >= _PROOFS_KEPT:
                self._proofs.clear()
            self._proofs[access_token] = proof
        return proof

    def for_token(self, access_token: str) -> BoundGraph:
        return BoundGraph(self, access_token)

    def paginate(
        self,
        path: str,
        *,
        access_token: str | None,
        params: Mapping[str, str] | None = None,
        limit: int = 100,
        page_size: int | None = None,
        max_pages: int = 20,
    ) -> AsyncIterator[dict[str, Any]]:
        """The items of a paged list, across pages; see `BoundGraph.paginate`."""
        return paginate(
            self,
            path,
            access_token=access_token,
            params=params,
            limit=limit,
            page_size=page_size,
            max_pages=max_pages,
        )

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        access_token: str | None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        on_headers: HeadersHook | None = None,
    ) -> Any:
        """Call the Graph API and return the decoded JSON (dict, list, or ``True``).

        ``idempotent`` defaults to True for GET/DELETE and False otherwise. A non-idempotent
        request is replayed only when it surely never reached Facebook (connect failures) or when
        Facebook answered with a retryable error: the Send API has no idempotency key, so a
        send that timed out while waiting for the answer may already be in the person's chat and
        resending it would show the message twice. Such failures raise a TransientError marked
        ``ambiguous`` and the caller decides.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS
        url, query = self._prepare(path, access_token, params)
        endpoint = f"{method} {urlsplit(url).path}"
        secrets = [self._app_secret, *(v for k, v in query if k in SECRET_PARAMS)]
        attempt = 0
        while True:
            try:
                return await self._once(
                    method, url, query, json, endpoint, secrets, idempotent, on_headers
                )
            except GraphError as error:
                delay = self._retry_delay(error, attempt)
                if delay is None:
                    raise
                log.warning(
                    "graph.retry",
                    endpoint=endpoint,
                    attempt=attempt + 1,
                    delay=round(delay, 3),
                    error=type(error).__name__,
                    code=error.code,
                    subcode=error.subcode,
                )
            attempt += 1
            await self._sleep(delay)

    def _retry_delay(self, error: GraphError, attempt: int) -> float | None:
        if not error.retryable or error.ambiguous or attempt >= self.max_retries:
            return None
        # Exponential backoff with "equal jitter": half fixed, half random, so a burst of
        # failing calls does not retry in lockstep.
        step = self.backoff_base * (2.0**attempt)
        delay = step / 2 + self._random.uniform(0, step / 2)
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            if error.retry_after > self.max_retry_wait:
                return None
            delay = max(delay, error.retry_after)
        return delay

    def _prepare(
        self, path: str, access_token: str | None, params: Mapping[str, str] | None
    ) -> tuple[str, list[tuple[str, str]]]:
        query: list[tuple[str, str]] = []
        if path.startswith(("http://", "https://")):
            parts = urlsplit(path)
            # Never send a token to a host other than the configured Graph API.
            if (parts.scheme, parts.netloc) != self._origin:
                raise ValueError("refusing to call a URL outside the configured Graph API base")
            url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
            query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
            query = [(k, v) for k, v in query if k not in _OWN_PARAMS]
        else:
            url = f"{self.graph_base}/{path.lstrip('/')}"
        if params:
            overridden = set(params)
            query = [(k, v) for k, v in query if k not in overridden]
            query.extend((k, str(v)) for k, v in params.items() if k not in _OWN_PARAMS)
        if access_token is not None:
            query.append(("access_token", access_token))
            query.append(("appsecret_proof", self.appsecret_proof(access_token)))
        return url, query

    async def _once(
        self,
        method: str,
        url: str,
        query: list[tuple[str, str]],
        json: Any,
        endpoint: str,
        secrets: list[str],
        idempotent: bool,
        on_headers: HeadersHook | None = None,
    ) -> Any:
        try:
            response = await self._transport.request(method, url, query, json, self._timeout)
        except TransportFailure as exc:
            # Only the failure's kind crosses into our error: the client library's own
            # message carries the request URL, with the token in its query string.
            what = "timed out" if exc.timed_out else "failed"
            raise TransientError(
                f"network error: request {what} ({exc.kind})",
                endpoint=endpoint,
                ambiguous=not (idempotent or exc.not_sent),
            ) from None
        if on_headers is not None:
            on_headers(response.headers)
        body = response.body
        is_error = response.status >= 400
        try:
            data = jsonlib.loads(body) if body else None
        except ValueError:
            data = None
            is_error = True
        if isinstance(data, dict) and "error" in data:
            is_error = True
        if not is_error and data is None:
            is_error = True  # an empty 2xx body is not something any Graph endpoint returns
        if is_error:
            error = error_from_response(
                response.status,
                data if isinstance(data, dict) else body,
                headers=response.headers,
                redact_values=secrets,
                endpoint=endpoint,
            )
            # A 5xx from a proxy says nothing about whether Facebook acted on a send.
            if isinstance(error, TransientError) and error.code is None and not idempotent:
                error.ambiguous = True
            raise error
        return data
