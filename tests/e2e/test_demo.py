"""``botperms demo`` as a newcomer runs it: a real process, fakebook as its subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

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


def test_demo_runs_the_whole_flow_and_stops_cleanly(tmp_path: Path) -> None:
    bot_port, fb_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTPERMS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "botperms.cli", "demo", "--port", str(bot_port),
         "--fakebook-port", str(fb_port), "--data-dir", str(tmp_path / "demo")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    fb, bot = f"http://127.0.0.1:{fb_port}", f"http://127.0.0.1:{bot_port}"
    try:
        wait_for(f"{bot}/healthz", process)
        with httpx.Client(timeout=15) as http:
            psid = http.get(f"{fb}/_fakebook/people").json()[0]["psid"]
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
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert "Demo stopped." in output
    assert "Open the Messenger simulator" in output
    assert "Webhook verified: yes" in output
    # fakebook went down with it.
    try:
        httpx.get(f"{fb}/", timeout=1)
        raise AssertionError("fakebook is still running")
    except httpx.TransportError:
        pass
