"""``botperms demo`` as a newcomer runs it: a real process, fakebook as its subprocess."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from botperms.demo import EXAMPLE_PROFILE
from tests.e2e.forms import parse_forms
from tests.e2e.servers import free_port


def wait_for(url: str, process: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


def start_demo(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str, str]:
    bot_port, fb_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTPERMS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "botperms.cli", "demo", "--port", str(bot_port),
         "--fakebook-port", str(fb_port), "--data-dir", str(tmp_path / "demo"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    return process, f"http://127.0.0.1:{fb_port}", f"http://127.0.0.1:{bot_port}"


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    return output


def profile_shown(http: httpx.Client, fb: str, psid: str) -> dict[str, object]:
    """The Messenger Profile as the simulator shows it, once the demo has applied it."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        shown: dict[str, object] = http.get(f"{fb}/_fakebook/chat/{psid}").json()["profile"]
        if shown.get("persistent_menu"):
            return shown
        time.sleep(0.05)
    raise AssertionError("the demo did not apply the Messenger Profile")


def test_demo_runs_the_whole_flow_and_stops_cleanly(tmp_path: Path) -> None:
    process, fb, bot = start_demo(tmp_path)
    try:
        wait_for(f"{bot}/healthz", process)
        with httpx.Client(timeout=15) as http:
            psid = http.get(f"{fb}/_fakebook/people").json()[0]["psid"]
            shown = profile_shown(http, fb, psid)
            assert shown["get_started"] == {"payload": "GET_STARTED"}
            assert str(shown["greeting"]).startswith("Hi Alice!")
            # The profile commands run against the demo with its demo.env; the demo applied
            # the example's file already, so applying it again changes nothing.
            profile = profile_command(tmp_path, "apply", "--file", str(EXAMPLE_PROFILE))
            assert profile.returncode == 0, profile.stdout + profile.stderr
            assert "No change" in profile.stdout
            check = profile_command(tmp_path, "diff", "--check", "--file", str(EXAMPLE_PROFILE))
            assert check.returncode == 0, check.stdout + check.stderr
            sent = http.post(
                f"{fb}/_fakebook/chat/{psid}/message", params={"wait": "true"}, json={"text": "hi"}
            )
            assert sent.json()["webhook_status"] == 200
            button = None
            deadline = time.monotonic() + 15
            while button is None and time.monotonic() < deadline:
                for entry in http.get(f"{fb}/_fakebook/conversations/{psid}").json():
                    buttons = (
                        (entry.get("message") or {})
                        .get("attachment", {})
                        .get("payload", {})
                        .get("buttons", [])
                    )
                    button = next((b["url"] for b in buttons if b["type"] == "web_url"), None)
                time.sleep(0.05)
            assert button is not None, "the demo bot sent no login button"
            assert button.startswith(f"{bot}/auth/start?ticket=")
            confirm = http.get(button)
            started = http.post(f"{bot}/auth/start", data=dict(parse_forms(confirm.text)[0].fields))
            dialog_url = started.headers["location"]
            assert dialog_url.startswith(f"{fb}/v25.0/dialog/oauth?")
            dialog = parse_forms(http.get(dialog_url).text)[0]
            data = {name: value for name, value in dialog.fields}
            data.update(person=psid, action="continue")
            answer = http.post(dialog_url, data={**data, "scopes": ["user_likes"]})
            done = http.get(answer.headers["location"])
            assert done.status_code == 200
            assert "You're logged in" in done.text
        secrets_file = json.loads((tmp_path / "demo" / "demo-secrets.json").read_text())
        assert secrets_file["app_secret"].startswith("demo-")
    finally:
        output = stop(process)
    assert "Demo stopped." in output
    assert "Open the Messenger simulator" in output
    assert "Webhook verified: yes" in output
    # fakebook went down with it.
    try:
        httpx.get(f"{fb}/", timeout=1)
        raise AssertionError("fakebook is still running")
    except httpx.TransportError:
        pass


def test_demo_with_account_linking_offers_the_link_button(tmp_path: Path) -> None:
    process, fb, bot = start_demo(tmp_path, "--flow", "account_link")
    try:
        wait_for(f"{bot}/healthz", process)
        with httpx.Client(timeout=15) as http:
            psid = http.get(f"{fb}/_fakebook/people").json()[0]["psid"]
            profile_shown(http, fb, psid)
            token = http.get(
                f"{fb}/v25.0/me/messenger_profile",
                params={"fields": "account_linking_url", **page_credentials(tmp_path)},
            )
            assert token.json()["data"][0]["account_linking_url"] == f"{bot}/link/start"
            http.post(
                f"{fb}/_fakebook/chat/{psid}/message", params={"wait": "true"}, json={"text": "hi"}
            )
            kinds: list[str] = []
            deadline = time.monotonic() + 15
            while not kinds and time.monotonic() < deadline:
                for entry in http.get(f"{fb}/_fakebook/conversations/{psid}").json():
                    payload = (entry.get("message") or {}).get("attachment", {}).get("payload", {})
                    kinds = kinds or [b["type"] for b in payload.get("buttons", [])]
                time.sleep(0.05)
            assert kinds == ["account_link", "web_url"]
    finally:
        output = stop(process)
    assert "login flow: account_link" in output


def page_credentials(tmp_path: Path) -> dict[str, str]:
    """The demo page's token and its appsecret_proof, from the demo's own secrets file."""
    values = json.loads((tmp_path / "demo" / "demo-secrets.json").read_text())
    token, secret = values["page_token"], values["app_secret"]
    proof = hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()
    return {"access_token": token, "appsecret_proof": proof}


def profile_command(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``set -a; . demo.env; set +a; botperms profile ARGS`` as a person would type it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTPERMS_")}
    for line in (tmp_path / "demo" / "demo.env").read_text().splitlines():
        if line.startswith("BOTPERMS_"):
            name, _, value = line.partition("=")
            env[name] = shlex.split(value)[0]
    return subprocess.run(
        [sys.executable, "-m", "botperms.cli", "profile", *args],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
