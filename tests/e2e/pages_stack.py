"""Real processes for the many-pages tests: ``fakebook serve`` with several pages, and the
``botperms`` environment pointing at it (each command runs as its own process)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from tests.e2e.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "1000000000000001"
APP_SECRET = "pages-app-secret-0123456789"
VERIFY_TOKEN = "pages-verify-token"
# The settings' page (BOTPERMS_PAGE_ID / BOTPERMS_PAGE_TOKEN) and two more pages of the app.
FIRST = ("2000000000000001", "First Page", "EAApagesFirstToken0123456789")
SECOND = ("2000000000000002", "Second Page", "EAApagesSecondToken0123456789")
THIRD = ("2000000000000003", "Third Page", "EAApagesThirdToken0123456789")


@dataclass
class Fakebook:
    url: str
    process: subprocess.Popen[str]

    def get(self, path: str, **params: str) -> Any:
        answer = httpx.get(f"{self.url}/_fakebook/{path}", params=params, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def say(self, psid: str, text: str, page_id: str) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.url}/_fakebook/chat/{psid}/message",
            params={"wait": "true", "page": page_id},
            json={"text": text},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result


def start_fakebook(bot_port: int) -> Iterator[Fakebook]:
    """``fakebook serve --port 0`` with the three pages; yields once it listens."""
    env = {
        **os.environ,
        "FAKEBOOK_APP_ID": APP_ID,
        "FAKEBOOK_APP_SECRET": APP_SECRET,
        "FAKEBOOK_PAGE_ID": FIRST[0],
        "FAKEBOOK_PAGE_NAME": FIRST[1],
        "FAKEBOOK_PAGE_TOKEN": FIRST[2],
        "FAKEBOOK_WEBHOOK_URL": f"http://127.0.0.1:{bot_port}/webhook",
        "FAKEBOOK_VERIFY_TOKEN": VERIFY_TOKEN,
        "FAKEBOOK_WEBHOOK_BACKOFF": "0.05",
    }
    pages = [f"{page_id},{name},{token}" for page_id, name, token in (SECOND, THIRD)]
    command = [sys.executable, "-m", "fakebook", "serve", "--port", "0"]
    for page in pages:
        command += ["--extra-page", page]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("fakebook listening on "):
        process.kill()
        raise AssertionError(f"fakebook did not start: {line}{process.stdout.read()}")
    try:
        yield Fakebook(line.removeprefix("fakebook listening on ").strip(), process)
    finally:
        process.kill()
        process.wait()


@dataclass
class Botperms:
    """The environment of one bot project; ``run`` is one ``botperms`` command process."""

    tmp_path: Path
    fakebook: Fakebook
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            key: value for key, value in os.environ.items() if not key.startswith("BOTPERMS_")
        }
        self.env.update(
            {
                "BOTPERMS_APP_ID": APP_ID,
                "BOTPERMS_APP_SECRET": APP_SECRET,
                "BOTPERMS_VERIFY_TOKEN": VERIFY_TOKEN,
                "BOTPERMS_PAGE_ID": FIRST[0],
                "BOTPERMS_PAGE_TOKEN": FIRST[2],
                "BOTPERMS_PUBLIC_URL": self.url,
                "BOTPERMS_GRAPH_URL": self.fakebook.url,
                "BOTPERMS_WWW_URL": self.fakebook.url,
                "BOTPERMS_DATABASE_URL": f"sqlite+aiosqlite:///{self.tmp_path}/botperms.db",
                "BOTPERMS_TOKEN_KEYS": Fernet.generate_key().decode(),
                "BOTPERMS_LOG_LEVEL": "WARNING",
            }
        )

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "botperms.cli", *args],
            cwd=self.tmp_path,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def serve(self, target: str) -> subprocess.Popen[bytes]:
        """``botperms serve TARGET`` as a child process, once it answers /healthz."""
        log = (self.tmp_path / "serve.log").open("ab")
        env = {**self.env, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(
            [sys.executable, "-m", "botperms.cli", "serve", target, "--port", str(self.port),
             "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=log,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (self.tmp_path / "serve.log").read_text()
            try:
                httpx.get(f"{self.url}/healthz", timeout=1)
                return process
            except httpx.TransportError:
                assert time.monotonic() < deadline, "botperms serve did not start"
                time.sleep(0.05)
