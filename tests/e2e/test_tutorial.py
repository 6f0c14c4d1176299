"""docs/tutorial.md as a newcomer follows it: ``botperms new mybot``, then ``botperms demo bot:bot``
as a real process (fakebook its subprocess), a person chatting through fakebook's control API and
a browser over loopback HTTP.

The code the tutorial asks the reader to add comes from the tutorial itself (its blocks marked
``<!-- tutorial-test: NAME -->``), so the text and this test cannot drift apart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin

import httpx
import pytest

from botperms import Prompts
from botperms.config import DEFAULT_GRAPH_VERSION
from tests.e2e.forms import parse_forms
from tests.e2e.person import IPHONE_MESSENGER
from tests.e2e.servers import free_port

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
BLOCK = re.compile(r"<!-- tutorial-test: (?P<name>[^>]+?) -->\n```[a-z]*\n(?P<body>.*?)```", re.S)
# The console script next to this interpreter: the `botperms` the tutorial's reader types.
BOTPERMS = Path(sys.executable).with_name("botperms")
HELP = 'Say "likes" to see pages you like on Facebook, or "logout" to log out.'
LIKES_HEADER = "Pages you like:\n"
T = TypeVar("T")


def poll(probe: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    """``probe()`` until it returns something truthy, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def tutorial_blocks() -> dict[str, str]:
    return {match["name"]: match["body"] for match in BLOCK.finditer(TUTORIAL.read_text())}


def clean_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOTPERMS_")}
    env["COLUMNS"] = "100"  # the demo's panel, as wide as a terminal; no surprise wrapping
    return env


def botperms_new(folder: Path) -> Path:
    assert BOTPERMS.is_file(), f"no botperms script next to {sys.executable}"
    done = subprocess.run(
        [str(BOTPERMS), "new", "mybot"], cwd=folder, env=clean_env(), capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return folder / "mybot"


class Demo:
    """``botperms demo bot:bot`` started in the project folder, on free ports."""

    def __init__(self, project: Path, log: Path, *options: str) -> None:
        bot_port, fb_port = free_port(), free_port()
        self.bot = f"http://127.0.0.1:{bot_port}"
        self.fb = f"http://127.0.0.1:{fb_port}"
        self.project = project
        self.log = log
        with log.open("w") as output:
            self.process = subprocess.Popen(
                [str(BOTPERMS), "demo", "bot:bot", "--port", str(bot_port),
                 "--fakebook-port", str(fb_port), *options],
                cwd=project, stdout=output, stderr=subprocess.STDOUT, env=clean_env(),
                start_new_session=True,  # its own process group, fakebook included
            )  # fmt: skip

    def __enter__(self) -> Demo:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:  # a check failed while it ran
            self.kill()
            print(self.output())  # pytest shows it with the failure

    def output(self) -> str:
        return self.log.read_text()

    def wait_for_output(self, text: str, after: int = 0) -> None:
        def shown() -> bool:
            assert self.process.poll() is None, f"the demo exited:\n{self.output()}"
            return text in self.output()[after:]

        poll(shown, repr(text))

    def wait_until_up(self, http: httpx.Client) -> None:
        def answers(url: str) -> bool:
            assert self.process.poll() is None, f"the demo exited:\n{self.output()}"
            try:
                return http.get(url, timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        poll(lambda: answers(f"{self.fb}/_fakebook/people"), "fakebook", timeout=30)
        poll(lambda: answers(f"{self.bot}/healthz"), "the bot", timeout=30)

    def stop(self) -> str:
        """Ctrl-C, as the tutorial says; the demo must exit 0 with fakebook gone too."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        finally:
            self.kill()
        assert self.process.returncode == 0, self.output()
        try:
            httpx.get(f"{self.fb}/", timeout=1)
            raise AssertionError("fakebook is still running after the demo stopped")
        except httpx.TransportError:
            pass
        return self.output()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


class Chat:
    """The first fake person in the chat simulator, driven through fakebook's control API."""

    def __init__(self, http: httpx.Client, demo: Demo) -> None:
        self.http = http
        self.demo = demo
        person = http.get(f"{demo.fb}/_fakebook/people").json()[0]
        self.psid: str = person["psid"]
        self.asid: str = person["asid"]
        self.name: str = person["name"]
        self.first_name: str = person["first_name"]
        self.likes_count: int = person["likes_count"]

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.http.get(f"{self.demo.fb}/_fakebook/chat/{self.psid}").json()
        return state

    def received(self) -> list[dict[str, Any]]:
        entries = self.http.get(f"{self.demo.fb}/_fakebook/conversations/{self.psid}").json()
        return [e["message"] for e in entries if e["direction"] == "out" and e.get("message")]

    def reply_after(self, count_before: int, what: str) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            messages = self.received()
            return messages[count_before] if len(messages) > count_before else None

        return poll(probe, what)

    def _send(self, kind: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        before = len(self.received())
        url = f"{self.demo.fb}/_fakebook/chat/{self.psid}/{kind}"
        sent = self.http.post(url, params={"wait": "true"}, json=body)
        assert sent.status_code == 200, sent.text
        assert sent.json()["webhook_status"] == 200, sent.text
        return self.reply_after(before, what)

    def say(self, text: str) -> dict[str, Any]:
        return self._send("message", {"text": text}, f"the answer to {text!r}")

    def press(self, title: str, payload: str) -> dict[str, Any]:
        """A postback button: Get Started or a persistent-menu item."""
        return self._send("postback", {"title": title, "payload": payload}, f"the {title!r} reply")

    def texts(self) -> list[str]:
        return [str(message.get("text", "")) for message in self.received()]

    # -- the browser ----------------------------------------------------------------------
    def use_dialog(self, dialog_url: str, *, share: bool, headers: dict[str, str]) -> str:
        """fakebook's Login dialog: Continue with ``user_likes`` kept ticked or unticked."""
        page = self.http.get(dialog_url, headers=headers)
        assert page.status_code == 200, page.text
        form = parse_forms(page.text)[0]
        data: dict[str, list[str]] = {}
        for name, value in form.fields:
            data.setdefault(name, []).append(value)
        for name, value, _ in form.radios:
            if value in (self.psid, self.asid):
                data.setdefault(name, []).append(value)
        offered = {value: checked for _, value, checked in form.checkboxes}
        assert offered.get("user_likes") is True, "the dialog should offer user_likes, ticked"
        for name, value, checked in form.checkboxes:
            if checked and (share or value != "user_likes"):
                data.setdefault(name, []).append(value)
        data["action"] = ["continue"]
        submitted = self.http.post(
            urljoin(dialog_url, form.action or dialog_url), data=data, headers=headers
        )
        assert submitted.status_code in (302, 303), submitted.text
        location: str = submitted.headers["location"]
        return location

    def log_in(
        self, button_url: str, *, share: bool = True, heading: str = "Connect Facebook"
    ) -> None:
        """Tap "Log in with Facebook": our page, Continue with Facebook, the dialog, back."""
        confirm = self.http.get(button_url)
        assert confirm.status_code == 200, confirm.text
        assert heading in confirm.text
        last_initial = self.name.split()[-1][0]
        assert f"{self.first_name} {last_initial}." in confirm.text  # "made for Alice E."
        form = parse_forms(confirm.text)[0]
        started = self.http.post(urljoin(button_url, form.action), data=dict(form.fields))
        assert started.status_code == 303, started.text
        callback = self.use_dialog(started.headers["location"], share=share, headers={})
        done = self.http.get(callback)
        assert done.status_code == 200, done.text
        assert "You're logged in" in done.text

    def link_account(self, button_url: str) -> None:
        """Tap Messenger's account-link button in the phone app: fakebook mints the linking
        token and opens the bot's /link/start; the dialog; back to Messenger with the code."""
        minted = self.http.post(
            f"{self.demo.fb}/_fakebook/linking/{self.psid}/token", json={"url": button_url}
        )
        assert minted.status_code == 200, minted.text
        headers = {"User-Agent": IPHONE_MESSENGER}
        start = self.http.get(minted.json()["url"], headers=headers)
        assert start.status_code == 302, start.text
        callback = self.use_dialog(start.headers["location"], share=True, headers=headers)
        back = self.http.get(callback, headers=headers)
        assert back.status_code in (302, 303), back.text
        assert "authorization_code=" in back.headers["location"]
        assert self.http.get(back.headers["location"], headers=headers).status_code == 200


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = message.get("attachment", {}).get("payload", {}).get("buttons")
    assert found, f"expected buttons, got {message}"
    return found


def login_button(message: dict[str, Any], text: str, title: str = "Log in with Facebook") -> str:
    """The URL of the prompt's one web_url button, after checking the prompt's text."""
    payload = message["attachment"]["payload"]
    assert payload["text"] == text
    (button,) = buttons(message)
    assert (button["type"], button["title"]) == ("web_url", title)
    url: str = button["url"]
    return url


def likes_lines(message: dict[str, Any]) -> list[str]:
    text = str(message.get("text", ""))
    assert text.startswith(LIKES_HEADER), f"expected the likes, got {message}"
    return text[len(LIKES_HEADER) :].split("\n")


def shown_profile(chat: Chat) -> dict[str, Any]:
    """The chat's state once the demo has applied the profile (it does so after start-up, in
    two calls: Get Started first, then the menu)."""

    def probe() -> dict[str, Any] | None:
        state = chat.state()
        shown = state["profile"]
        return state if shown["get_started"] and shown["persistent_menu"] else None

    return poll(probe, "the Messenger Profile on the demo page")


def menu_titles(state: dict[str, Any]) -> list[str]:
    menu = state["profile"]["persistent_menu"]
    return [item["title"] for item in menu["call_to_actions"]] if menu else []


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=15) as client:
        yield client


def test_the_tutorial_from_an_empty_folder_to_a_bot_that_lists_likes(
    tmp_path: Path, http: httpx.Client
) -> None:
    blocks = tutorial_blocks()

    # 2. Create the project; 3. the bot.py the tutorial shows is the one `new` writes.
    project = botperms_new(tmp_path)
    assert (project / "bot.py").read_text() == blocks["generated bot.py"]
    profile_file = tomllib.loads((project / "messenger_profile.toml").read_text())

    # 4. A mistake in bot.py is told at its file and line before anything starts.
    generated = (project / "bot.py").read_text()
    (project / "bot.py").write_text(
        generated.replace('@requires("user_likes")', '@requires("user_emial")', 1)
    )
    shown = subprocess.run(
        [str(BOTPERMS), "demo", "bot:bot"], cwd=project, env=clean_env(), capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert shown.returncode == 2
    assert shown.stdout + shown.stderr == blocks["mistake"]
    (project / "bot.py").write_text(generated)

    # 4. Run it in the demo, with --reload as the tutorial says.
    with Demo(project, tmp_path / "demo-1.log", "--reload") as demo:
        demo.wait_until_up(http)
        alice = Chat(http, demo)
        assert (alice.name, alice.first_name) == ("Alice Example", "Alice")

        # 5.1 The empty conversation shows the file's greeting, Get Started and menu.
        state = shown_profile(alice)
        assert state["entries"] == []
        greeting = profile_file["greeting"][0]["text"].replace("{{user_first_name}}", "Alice")
        assert state["profile"]["greeting"] == greeting
        assert greeting == "Hi Alice! I can show you the pages you like on Facebook."
        assert state["profile"]["get_started"] == {"payload": "GET_STARTED"}
        assert menu_titles(state) == ["My likes", "Log out"]
        demo.wait_for_output("Press Ctrl-C to stop.")
        for line in blocks["demo panel"].splitlines():
            assert line in demo.output(), f"{line!r} is not in the demo's output"
        # The panel's hints are this bot's: its texts, its menu, the scope it requires.
        panel = " ".join(demo.output().replace("│", " ").split())
        assert (
            "Tap Get Started, say likes or logout, open the menu (☰): My likes, Log out." in panel
        )
        assert "tap Log in with Facebook and allow user_likes." in panel

        # 5.2 Get Started greets by first name.
        assert alice.press("Get Started", "GET_STARTED")["text"] == f"Hi Alice! {HELP}"

        # 5.3 "likes" before logging in: the login prompt.
        prompt = alice.say("likes")
        url = login_button(prompt, Prompts().login)
        assert url.startswith(f"{demo.bot}/auth/start?ticket=")

        # 5.4–5.5 Log in keeping user_likes: the waiting "likes" is answered, exactly once.
        before = len(alice.received())
        alice.log_in(url)
        answer = alice.reply_after(before, "the likes after logging in")
        assert len(likes_lines(answer)) == min(10, alice.likes_count)
        # Events of a conversation are handled in order: a second replay would come first.
        assert alice.say("hello")["text"] == HELP
        assert sum(text.startswith(LIKES_HEADER) for text in alice.texts()) == 1
        assert likes_lines(alice.say("likes")) == likes_lines(answer)  # no prompt this time

        # 6. Make it yours: the tutorial's handlers, import and menu item, saved while the
        # demo runs.
        seen = len(demo.output())
        bot_py = (project / "bot.py").read_text()
        anchor = "from botperms import Bot, Context, requires\n"
        assert anchor in bot_py
        bot_py = bot_py.replace(anchor, anchor + blocks["import in bot.py"])
        (project / "bot.py").write_text(bot_py + "\n\n" + blocks["append to bot.py"])
        demo.wait_for_output("Reloading the bot: bot.py changed.", after=seen)
        demo.wait_for_output("The bot is up again.", after=seen)
        seen = len(demo.output())
        with (project / "messenger_profile.toml").open("a") as toml:
            toml.write("\n" + blocks["append to messenger_profile.toml"])
        for line in blocks["reload"].splitlines():
            demo.wait_for_output(line, after=seen)
        state = alice.state()
        assert menu_titles(state) == ["My likes", "Log out", "My name"]
        assert len(state["entries"]) > 0  # fakebook kept the conversation across the reloads

        assert alice.press("My name", "MY_NAME")["text"] == "You're Alice Example."
        # Alice is still logged in, and fakebook still knows her token: cards at once.
        cards = alice.say("cards")
        assert len(cards["attachment"]["payload"]["elements"]) == min(10, alice.likes_count)

        # logout, then cards; untick user_likes: the bot explains and offers "Share and
        # continue" (rerequest).
        alice.say("logout")
        url = login_button(alice.say("cards"), Prompts().login)
        before = len(alice.received())
        alice.log_in(url, share=False)
        declined = alice.reply_after(before, "the explanation after declining")
        why = Prompts().declined.format(permissions="your likes")
        url = login_button(declined, why, title=Prompts().rerequest_button)

        before = len(alice.received())
        alice.log_in(url, share=True, heading="Share your likes")  # auth_type=rerequest
        cards = alice.reply_after(before, "the cards after sharing")
        elements = cards["attachment"]["payload"]["elements"]
        assert cards["attachment"]["payload"]["template_type"] == "generic"
        assert len(elements) == min(10, alice.likes_count)
        assert {element["subtitle"] for element in elements} == {"A page you like"}
        assert alice.say("hello")["text"] == HELP
        generic = [m for m in alice.received() if "elements" in json.dumps(m)]
        assert len(generic) == 2  # the first cards, then the replay: exactly once
        output = demo.stop()
    assert "Demo stopped." in output
    assert (project / "data" / "demo" / "demo-secrets.json").is_file()

    # Stop and start again, without --reload: at once, on fresh ports of its own.
    with Demo(project, tmp_path / "demo-2.log") as demo:
        demo.wait_until_up(http)
        alice = Chat(http, demo)
        state = shown_profile(alice)
        assert menu_titles(state) == ["My likes", "Log out", "My name"]
        assert state["entries"] == []  # fakebook forgot the conversation; the bot did not

        # The bot still holds Alice's token from the first run; this fakebook does not know it.
        url = login_button(alice.say("cards"), Prompts().expired)
        before = len(alice.received())
        alice.log_in(url)
        cards = alice.reply_after(before, "the cards after logging in again")
        assert len(cards["attachment"]["payload"]["elements"]) == min(10, alice.likes_count)
        output = demo.stop()
    assert "Messenger Profile: messenger_profile.toml (applied)" in output


def test_the_tutorial_with_account_linking(tmp_path: Path, http: httpx.Client) -> None:
    project = botperms_new(tmp_path)
    with Demo(project, tmp_path / "demo.log", "--flow", "account_link") as demo:
        demo.wait_until_up(http)
        alice = Chat(http, demo)
        shown_profile(alice)

        # The demo derived the page's account_linking_url from the bot's public URL.
        secrets = json.loads((project / "data" / "demo" / "demo-secrets.json").read_text())
        token = secrets["page_token"]
        proof = hmac.new(secrets["app_secret"].encode(), token.encode(), hashlib.sha256)
        profile = http.get(
            f"{demo.fb}/{DEFAULT_GRAPH_VERSION}/me/messenger_profile",
            params={
                "fields": "account_linking_url",
                "access_token": token,
                "appsecret_proof": proof.hexdigest(),
            },
        )
        assert profile.status_code == 200, profile.text
        assert profile.json()["data"] == [{"account_linking_url": f"{demo.bot}/link/start"}]

        alice.press("Get Started", "GET_STARTED")
        prompt = alice.say("likes")
        link, browser = buttons(prompt)
        assert link == {"type": "account_link", "url": f"{demo.bot}/link/start?scope=user_likes"}
        assert (browser["type"], browser["title"]) == ("web_url", "Log in on a computer")

        before = len(alice.received())
        alice.link_account(link["url"])
        answer = alice.reply_after(before, "the likes after linking")
        assert len(likes_lines(answer)) == min(10, alice.likes_count)

        # The generated log_out unlinks on Messenger's side in this flow.
        assert alice.say("logout")["text"] == "You're logged out: I've deleted your Facebook token."

        def unlinked() -> bool:
            outcomes = http.get(f"{demo.fb}/_fakebook/linking/{alice.psid}").json()
            return bool(outcomes) and outcomes[-1]["status"] == "unlinked"

        poll(unlinked, "the unlink on Messenger's side")
        # Its `unlinked` webhook is handled before this message: no second goodbye.
        assert alice.say("hello")["text"] == HELP
        assert sum(text.startswith(LIKES_HEADER) for text in alice.texts()) == 1
        assert not any("no longer linked" in text for text in alice.texts())
        output = demo.stop()
    assert "login flow: account_link" in output


def test_the_tutorials_chat_tester_section_passes(tmp_path: Path) -> None:
    """8. Test your bot: the generated tests and the tutorial's own, after the step 6 edits,
    run by pytest from the project folder as the reader would."""
    blocks = tutorial_blocks()
    project = botperms_new(tmp_path)
    bot_py = (project / "bot.py").read_text()
    anchor = "from botperms import Bot, Context, requires\n"
    bot_py = bot_py.replace(anchor, anchor + blocks["import in bot.py"])
    (project / "bot.py").write_text(bot_py + "\n\n" + blocks["append to bot.py"])
    test_file = blocks["test_my_handlers.py"]
    assert "from botperms.testing import ChatTester" in test_file
    (project / "test_my_handlers.py").write_text(test_file)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project,
        env=clean_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    generated = len(re.findall(r"^def test_", (project / "test_bot.py").read_text(), re.M))
    assert f"{generated + 1} passed" in done.stdout
