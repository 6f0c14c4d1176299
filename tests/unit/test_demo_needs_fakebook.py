"""The demo without fakebook installed (a production install of botperms) says how to get it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from botperms import demo
from tests.flows.conftest import make_settings


async def test_the_demo_names_the_missing_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "fakebook" else real(name)
    )
    code = await demo.run_demo(make_settings(tmp_path), tmp_path / "fakebook.json", 1)
    assert code == 2
    captured = capsys.readouterr()
    output = " ".join((captured.out + captured.err).split())
    assert 'pip install "botperms[fakebook]"' in output
