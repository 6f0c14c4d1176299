"""Webhook deliveries to the bot: the envelope, the signature, ordering and retries (contract §1).

The body is `json.dumps(ensure_ascii=True)` and the signature is computed over exactly those
bytes, so "äöå" travels as "\\u00e4\\u00f6\\u00e5" and a receiver that re-serialises before
checking fails, as it would against Facebook. Each conversation's events go out one after
another (the next waits for the previous one's final outcome); conversations run in parallel.
A failed attempt (non-2xx, timeout, connection error) is retried with the identical body after
`webhook_backoff * 2**n` seconds, at most `webhook_retries` times.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from typing import Any

import httpx

from fakebook.state import State

USER_AGENT = "facebookexternalua"


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def signature_headers(app_secret: str, body: bytes, *, sha1: bool) -> dict[str, str]:
    key = app_secret.encode()
    headers = {"X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()}
    if sha1:
        # Legacy header; still sent by default because the contract could not rule it out.
        headers["X-Hub-Signature"] = "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest()
    return headers


class WebhookDeliverer:
    def __init__(self, state: State, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.state = state
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        # The last delivery of each (page, PSID) thread: the next one waits for it (order).
        self._tails: dict[tuple[str, str], asyncio.Task[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[dict[str, Any]]] = set()
        self._counter = 0

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: the bot is normally on loopback, and a proxy taken from the
            # environment would sit between fakebook and it unnoticed.
            self._client = httpx.AsyncClient(
                transport=self._transport,
                timeout=self.state.config.webhook_timeout,
                trust_env=False,
            )
        return self._client

    def envelope(
        self, psid: str, event: dict[str, Any], page_id: str | None = None
    ) -> dict[str, Any]:
        """The webhook body of one event of ``psid`` with ``page_id`` (the first page if None):
        ``entry[].id`` and the recipient are that page."""
        page_id = page_id or self.state.config.page_id
        ms = int(self.state.now() * 1000)
        sender, recipient = psid, page_id
        if (event.get("message") or {}).get("is_echo"):
            sender, recipient = page_id, psid  # an echo is the page's message to the person
        messaging = {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": ms}
        messaging.update(event)
        # While another app owns the thread (handover), the bot gets its events as standby.
        where = "standby" if self.state.threads.is_standby(page_id, psid, event) else "messaging"
        return {"object": "page", "entry": [{"id": page_id, "time": ms, where: [messaging]}]}

    def submit(
        self, psid: str, event: dict[str, Any], page_id: str | None = None
    ) -> asyncio.Task[dict[str, Any]]:
        """Queue one event of `psid` to `page_id`; the task resolves to its delivery record."""
        page_id = page_id or self.state.config.page_id
        body = encode(self.envelope(psid, event, page_id))
        self._counter += 1
        kind = next(iter(event))
        inner = event[kind]
        record: dict[str, Any] = {
            "id": self._counter,
            "psid": psid,
            "page_id": page_id,
            "kind": kind,
            "mid": inner.get("mid") if isinstance(inner, dict) else None,
            "body": body.decode("ascii"),
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "status": "pending",
            "attempts": 0,
            "http_status": None,
            "error": None,
            "created": int(self.state.now() * 1000),
            "finished": None,
        }
        self.state.deliveries.append(record)
        thread = (page_id, psid)
        task = asyncio.create_task(self._run(self._tails.get(thread), record, body))
        self._tails[thread] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(
        self,
        previous: asyncio.Task[dict[str, Any]] | None,
        record: dict[str, Any],
        body: bytes,
    ) -> dict[str, Any]:
        if previous is not None:
            await asyncio.wait([previous])
        try:
            return await self._attempts(record, body)
        except asyncio.CancelledError:
            record.update(status="cancelled", finished=int(self.state.now() * 1000))
            raise

    async def _attempts(self, record: dict[str, Any], body: bytes) -> dict[str, Any]:
        config = self.state.config
        if not config.webhook_url:
            record.update(status="skipped", error="no webhook_url configured")
            return record
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        headers.update(signature_headers(config.app_secret, body, sha1=config.send_sha1_signature))
        for attempt in range(config.webhook_retries + 1):
            if attempt:
                delay = config.webhook_backoff * 2 ** (attempt - 1)
                await asyncio.sleep(min(delay, config.webhook_backoff_max))
            record["attempts"] = attempt + 1
            try:
                response = await self.client().post(
                    config.webhook_url, content=body, headers=headers
                )
            except httpx.TimeoutException:
                record.update(http_status=None, error=f"timeout after {config.webhook_timeout}s")
                continue
            except httpx.HTTPError as exc:
                record.update(http_status=None, error=f"{type(exc).__name__}: {exc}")
                continue
            record["http_status"] = response.status_code
            if 200 <= response.status_code < 300:
                record.update(status="delivered", error=None)
                break
            record["error"] = f"HTTP {response.status_code}"
        else:
            record["status"] = "failed"
        record["finished"] = int(self.state.now() * 1000)
        return record

    async def verify(self, verify_token: str | None = None) -> dict[str, Any]:
        """The GET handshake Facebook makes when a callback URL is saved (contract §1.1)."""
        config = self.state.config
        if not config.webhook_url:
            return {"ok": False, "error": "no webhook_url configured"}
        challenge = str(secrets.randbelow(9 * 10**9) + 10**9)
        params = {
            "hub.mode": "subscribe",
            "hub.challenge": challenge,
            "hub.verify_token": verify_token if verify_token is not None else config.verify_token,
        }
        try:
            response = await self.client().get(config.webhook_url, params=params)
        except httpx.HTTPError as exc:
            return {"ok": False, "challenge": challenge, "error": f"{type(exc).__name__}: {exc}"}
        ok = response.status_code == 200 and response.text == challenge
        return {
            "ok": ok,
            "status": response.status_code,
            "challenge": challenge,
            "body": response.text[:200],
        }

    async def drain(self) -> None:
        """Wait until every queued delivery has reached its final outcome."""
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.wait(pending)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tails.clear()

    async def aclose(self) -> None:
        self.cancel_all()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
