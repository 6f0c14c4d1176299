"""The edit–run loop as an author lives it: ``botperms demo`` stopped and started again at once,
and ``botperms demo --reload`` picking up an edit while fakebook keeps the conversation.

Real processes throughout: the demo as a console script, fakebook its subprocess, the reloaded
bot a child of the demo.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.e2e.servers import free_port

BOTPERMS = Path(sys.executable).with_name("botperms")
T = TypeVar("T")

BOT = """
from botperms import Bot, Context

bot = Bot(name="echo")


@bot.on_message
async def answer(ctx: Context) -> None:
    await ctx.reply("REPLY")
"""


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def poll(probe: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Demo:
    """``botperms demo`` in ``folder``, its output in a file, in its own process group."""

    def __init__(
        self, folder: Path, log: Path, bot_port: int, fb_port: int, *args: str,
        sigint_ignored: bool = False,
    ) -> None:  # fmt: skip
        self.bot = f"http://127.0.0.1:{bot_port}"
        self.fb = f"http://127.0.0.1:{fb_port}"
        self.log = log
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOTPERMS_")}
        env["COLUMNS"] = "120"
        env["PYTHONFAULTHANDLER"] = "1"
        with log.open("w") as output:
            self.process = subprocess.Popen(
                [str(BOTPERMS), "demo", *args, "--port", str(bot_port),
                 "--fakebook-port", str(fb_port)],
                cwd=folder, stdout=output, stderr=subprocess.STDOUT, env=env,
                start_new_session=True,
                # Started with SIGINT ignored, as some shells and test runners start children.
                preexec_fn=ignore_sigint if sigint_ignored else None,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text()

    def wait_for_output(self, text: str, after: int = 0) -> None:
        """Until ``text`` appears in the output past character ``after``."""

        def shown() -> bool:
            assert self.process.poll() is None, f"the demo exited:\n{self.output()}"
            return text in self.output()[after:]

        poll(shown, repr(text))

    def wait_until_up(self, http: httpx.Client) -> None:
        def answers() -> bool:
            assert self.process.poll() is None, f"the demo exited:\n{self.output()}"
            try:
                return http.get(f"{self.bot}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        poll(answers, "the bot")
        self.wait_for_output("Press Ctrl-C to stop.")  # the panel: the profile is applied

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # Where it hangs: faulthandler prints every thread's stack on SIGABRT.
            self.process.send_signal(signal.SIGABRT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
            raise AssertionError(f"the demo did not stop on Ctrl-C:\n{self.output()}") from None
        finally:
            self.kill()
        assert self.process.returncode == 0, self.output()
        return self.output()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=15) as client:
        yield client


def say(http: httpx.Client, fb: str, text: str) -> dict[str, Any]:
    """Send ``text`` to fakebook at ``fb`` as its first fake person; the bot's next message."""
    psid = http.get(f"{fb}/_fakebook/people").json()[0]["psid"]

    def received() -> list[dict[str, Any]]:
        entries = http.get(f"{fb}/_fakebook/conversations/{psid}").json()
        return [e["message"] for e in entries if e["direction"] == "out" and e.get("message")]

    before = len(received())
    sent = http.post(
        f"{fb}/_fakebook/chat/{psid}/message", params={"wait": "true"}, json={"text": text}
    )
    assert sent.json()["webhook_status"] == 200, sent.text
    return poll(lambda: received()[before] if len(received()) > before else None, "a reply")


def time_wait_ports(ports: set[int]) -> set[int]:
    """Which of ``ports`` have a socket in TIME_WAIT (what used to refuse the restart)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            port = int(fields[1].rsplit(":", 1)[1], 16)
            if fields[3] == "06" and port in ports:
                found.add(port)
    return found


def test_a_demo_stopped_and_started_again_at_once_on_the_same_ports(
    tmp_path: Path, http: httpx.Client
) -> None:
    bot_port, fb_port = free_port(), free_port()
    first = Demo(tmp_path, tmp_path / "first.log", bot_port, fb_port)
    try:
        first.wait_until_up(http)
        assert say(http, first.fb, "likes")["attachment"]["payload"]["buttons"]
    finally:
        first.stop()
    # The servers closed their connections first, so their ports hold TIME_WAIT sockets: the
    # case in which the old port check refused to start for up to a minute.
    assert time_wait_ports({bot_port, fb_port})

    second = Demo(tmp_path, tmp_path / "second.log", bot_port, fb_port)
    try:
        second.wait_until_up(http)
        assert "in use" not in second.output()
        assert say(http, second.fb, "likes")["attachment"]["payload"]["buttons"]
    finally:
        output = second.stop()
    assert "Webhook verified: yes" in output


def test_reload_after_an_edit_keeps_the_conversation(tmp_path: Path, http: httpx.Client) -> None:
    (tmp_path / "bot.py").write_text(BOT.replace("REPLY", "first version"))
    demo = Demo(
        tmp_path, tmp_path / "demo.log", free_port(), free_port(), "bot:bot", "--reload",
        sigint_ignored=True,  # Ctrl-C must still stop it: the supervisor handles the signal
    )  # fmt: skip
    try:
        demo.wait_until_up(http)
        output = demo.output()
        assert "Edit your files: the bot restarts when you save." in output
        # The panel speaks for this bot: no likes, no login.
        assert "Say something. No handler uses @requires" in output
        assert "likes" not in output
        assert say(http, demo.fb, "hello")["text"] == "first version"

        seen = len(demo.output())
        (tmp_path / "bot.py").write_text(BOT.replace("REPLY", "second version"))
        demo.wait_for_output("Reloading the bot: bot.py changed.", after=seen)
        demo.wait_for_output("The bot is up again.", after=seen)
        assert say(http, demo.fb, "hello")["text"] == "second version"

        # fakebook did not restart: the whole conversation is still there.
        psid = http.get(f"{demo.fb}/_fakebook/people").json()[0]["psid"]
        entries = http.get(f"{demo.fb}/_fakebook/conversations/{psid}").json()
        texts = [e.get("text") or (e.get("message") or {}).get("text") for e in entries]
        assert texts == ["hello", "first version", "hello", "second version"]

        # A broken edit stops the bot with its file and line; the next save brings it back.
        seen = len(demo.output())
        (tmp_path / "bot.py").write_text(BOT.replace("on_message", "on_mesage"))
        demo.wait_for_output("The bot stopped (exit code 2).", after=seen)
        assert (
            "bot.py, line 7: Bot has no decorator on_mesage (did you mean on_message?)"
            in demo.output()[seen:]
        )
        seen = len(demo.output())
        (tmp_path / "bot.py").write_text(BOT.replace("REPLY", "fixed"))
        demo.wait_for_output("The bot is up again.", after=seen)
        assert say(http, demo.fb, "hello")["text"] == "fixed"
    finally:
        output = demo.stop()
    assert "Demo stopped." in output


def test_serve_reload_restarts_the_bot_while_fakebook_runs_apart(
    tmp_path: Path, http: httpx.Client
) -> None:
    """The scaffold README's "run the pieces yourself", with ``serve --reload``."""
    from cryptography.fernet import Fernet

    from botperms.scaffold import create_project

    project = tmp_path / "mybot"
    create_project(project)
    bot_port, fb_port = free_port(), free_port()
    settings = (project / ".env.example").read_text()
    settings = settings.replace("127.0.0.1:8000", f"127.0.0.1:{bot_port}")
    settings = settings.replace("127.0.0.1:8001", f"127.0.0.1:{fb_port}")
    (project / ".env").write_text(
        settings + f"BOTPERMS_TOKEN_KEYS={Fernet.generate_key().decode()}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOTPERMS_", "FAKEBOOK_"))}
    fb_env = {
        **env,
        "FAKEBOOK_WEBHOOK_URL": f"http://127.0.0.1:{bot_port}/webhook",
        "FAKEBOOK_VALID_REDIRECT_URIS": f"http://127.0.0.1:{bot_port}/auth/callback",
    }
    fakebook = subprocess.Popen(
        [sys.executable, "-m", "fakebook", "serve", "--port", str(fb_port)],
        cwd=project, env=fb_env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        serve = subprocess.Popen(
            [str(BOTPERMS), "serve", "bot:bot", "--reload", "--port", str(bot_port)],
            cwd=project, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    bot, fb = f"http://127.0.0.1:{bot_port}", f"http://127.0.0.1:{fb_port}"

    def up() -> bool:
        assert serve.poll() is None, log.read_text()
        try:
            return http.get(f"{bot}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        poll(lambda: fakebook.poll() is None and _answers(http, f"{fb}/"), "fakebook")
        poll(up, "the bot")
        assert "Watching" in log.read_text()
        help_text = 'Say "likes" to see pages you like on Facebook, or "logout" to log out.'
        assert say(http, fb, "hello")["text"] == help_text

        bot_py = (project / "bot.py").read_text()
        (project / "bot.py").write_text(bot_py.replace(help_text, "Edited while serving."))
        poll(lambda: "Reloading the bot: bot.py changed." in log.read_text(), "the reload")
        poll(up, "the bot after the reload")
        assert say(http, fb, "hello")["text"] == "Edited while serving."
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            assert serve.wait(timeout=30) == 0, log.read_text()
        finally:
            if serve.poll() is None:
                os.killpg(serve.pid, signal.SIGKILL)
            fakebook.terminate()
            fakebook.wait(timeout=10)
    assert not _answers(http, f"{bot}/healthz")  # the reloaded child stopped with it


def _answers(http: httpx.Client, url: str) -> bool:
    try:
        return http.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False
