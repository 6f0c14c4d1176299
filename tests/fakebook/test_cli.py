"""The command line (fakebook.cli), including a real `python -m fakebook serve`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from fakebook.cli import app
from fakebook.config import FakebookConfig


def test_example_config_round_trips() -> None:
    result = CliRunner().invoke(app, ["example-config"])
    assert result.exit_code == 0
    config = FakebookConfig.model_validate(json.loads(result.output))
    assert config.webhook_url == "http://127.0.0.1:8000/webhook"


def test_help_mentions_the_surfaces() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--config" in result.output
    assert "--port" in result.output
    for words in ("Emulated:", "Not emulated:", "Control API", "latency", "docs/fakebook.md"):
        assert words in result.output


def test_bad_config_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"min_graph_version": "nope"}')
    result = CliRunner().invoke(app, ["serve", "--config", str(path)])
    assert result.exit_code == 2


def test_serve_prints_url_and_answers(tmp_path: Path) -> None:
    path = tmp_path / "fb.json"
    path.write_text(json.dumps({"page_name": "Subprocess Page"}))
    process = subprocess.Popen(
        [sys.executable, "-m", "fakebook", "serve", "--config", str(path), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("fakebook listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        people = httpx.get(f"{url}/_fakebook/people", timeout=5).json()
        assert len(people) == 4
        index = httpx.get(f"{url}/", timeout=5)
        assert "Subprocess Page" in index.text
        # public_url defaults to the bound address, so absolute links point back here.
        assert f"{url}/v21.0/" in index.text
    finally:
        process.terminate()
        process.wait(timeout=10)
