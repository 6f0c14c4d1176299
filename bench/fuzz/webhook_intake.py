"""atheris over the webhook intake: the raw body of a signed delivery, as the app reads it.

    .venv/bin/pip install atheris
    .venv/bin/python bench/fuzz/webhook_intake.py -max_total_time=300
    .venv/bin/python bench/fuzz/webhook_intake.py -max_total_time=300 -app=1  # the whole app

Each input is a delivery body. It goes through what ``POST /webhook`` does on the path Facebook
waits on (the signature check, ``read_delivery``), then through what the worker does with each
stored event (``MessagingEvent.model_validate``, its kind, PSID and dedupe key), and through
``parse_payload``. Allowed outcomes are a typed result, ``InvalidPayload`` or pydantic's
``ValidationError`` in the worker's typing step; anything else is a crash, written with its
input to ``data/fuzz/webhook_intake/crashes/``. The corpus grows in
``data/fuzz/webhook_intake/corpus/`` and is reused by the next run.

With ``-app=1`` each input is also POSTed, signed, to the real Starlette app in-process
(httpx.ASGITransport, SQLite in a temporary folder, workers off): the answer must be below 500.
That is about a hundred times slower, so run it for longer. libFuzzer prints the number of
inputs tried (``stat::number_of_executed_units``) at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import atheris

with atheris.instrument_imports(include=["botperms.messenger"]):
    from pydantic import ValidationError

    from botperms.messenger import InvalidPayload, MessagingEvent, parse_payload, sign_body
    from botperms.messenger.intake import decode_body, read_delivery
    from botperms.messenger.signature import verify_signature

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import run

SECRET = "fuzz-app-secret"
SEEDS = [
    b'{"object":"page","entry":[{"id":"222","time":1,"messaging":[{"sender":{"id":"1"},'
    b'"recipient":{"id":"222"},"timestamp":1700000000000,"message":{"mid":"m.1","text":"hi"}}]}]}',
    b'{"object":"page","entry":[{"id":"222","messaging":[{"sender":{"id":"1"},"recipient":'
    b'{"id":"222"},"timestamp":1,"postback":{"title":"Go","payload":"GET_STARTED"}}]}]}',
    b'{"object":"page","entry":[{"id":"222","messaging":[{"sender":{"id":"1"},"recipient":'
    b'{"id":"222"},"timestamp":1,"account_linking":{"status":"linked","authorization_code":"c"}}'
    b'],"standby":[{"sender":{"id":"2"},"read":{"watermark":5}}]}]}',
    b'{"object":"page","entry":[{"messaging":[{"message":{"is_echo":true,"app_id":1,'
    b'"attachments":[{"type":"image","payload":{"sticker_id":369239263222822}}]}},7,null]}]}',
    b'{"field":"messages","value":{}}',
]


def check_intake(body: bytes) -> None:
    assert verify_signature(SECRET, body, sign_body(SECRET, body))
    try:
        events = read_delivery(body)
    except InvalidPayload:
        return
    for event in events:
        json.dumps(event.payload, ensure_ascii=False).encode("utf-8")
        assert event.key.startswith(("mid:", "sha256:"))
        try:
            typed = MessagingEvent.model_validate(event.payload)
        except ValidationError:
            continue  # stored, acknowledged, then "unreadable" for the worker: by design
        typed.key()
        _ = typed.kind, typed.psid, typed.page_id
    try:
        data: Any = decode_body(body)
    except InvalidPayload:
        return
    with contextlib.suppress(InvalidPayload):
        parse_payload(data).events()


class AppTarget:
    """The real app in-process, one event loop for the whole run."""

    def __init__(self) -> None:
        import httpx
        from cryptography.fernet import Fernet

        from botperms.config import Settings
        from botperms.logs import configure

        configure("ERROR")  # one log line per request would drown libFuzzer's

        self.httpx = httpx
        self.loop = asyncio.new_event_loop()
        folder = Path(tempfile.mkdtemp(prefix="botperms-fuzz-"))
        settings = Settings(
            app_id="111", app_secret=SECRET, verify_token="fuzz-verify", page_id="222",
            page_token="EAAfuzzpagetoken", public_url="http://127.0.0.1:9",
            graph_url="https://fakebook.invalid", www_url="https://fakebook.invalid",
            database_url=f"sqlite+aiosqlite:///{folder}/bot.db",
            token_keys=Fernet.generate_key().decode(), _env_file=None,
        )  # fmt: skip
        self.client = self.loop.run_until_complete(self._start(settings))

    async def _start(self, settings: Any) -> Any:
        from botperms.app import App
        from botperms.examples.likes_bot import bot

        self.app = App.build(settings, bot, run_workers=False)
        await self.app.start()
        transport = self.httpx.ASGITransport(app=self.app.asgi())
        return self.httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9")

    def post(self, body: bytes) -> None:
        headers = {"X-Hub-Signature-256": sign_body(SECRET, body)}
        answer = self.loop.run_until_complete(
            self.client.post("/webhook", content=body, headers=headers)
        )
        assert answer.status_code < 500, (answer.status_code, answer.text[:300])


def main() -> None:
    app = AppTarget() if "-app=1" in sys.argv else None
    sys.argv = [arg for arg in sys.argv if arg != "-app=1"]

    def test_one_input(body: bytes) -> None:
        check_intake(body)
        if app is not None:
            app.post(body)

    run("webhook_intake", test_one_input, SEEDS)


if __name__ == "__main__":
    main()
