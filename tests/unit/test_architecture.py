"""The import direction of design.md, read from the source with ``ast``:

web → flows, bot → graph, store, messenger → config; worker (which runs the bot's handlers for
queued events) sits beside web. Nothing in botperms imports fakebook, and fakebook imports
nothing of botperms: the two meet only over HTTP.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
LEAVES = {"graph", "store", "messenger"}
BASE = {"config", "logs", "metrics", "permissions"}

ALLOWED: dict[str, set[str]] = {
    "permissions": set(),
    "config": {"permissions"},
    "logs": set(),
    "metrics": set(),
    "graph": BASE,
    "store": BASE,
    "messenger": BASE,
    "flows": LEAVES | BASE,
    "bot": LEAVES | BASE,
    "worker": {"bot"} | LEAVES | BASE,
    "web": {"flows", "bot", "worker"} | LEAVES | BASE,
    "examples": {"bot"} | LEAVES | BASE,
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def layer_of(path: Path) -> str:
    relative = path.relative_to(SRC / "botperms")
    return relative.parts[0].removesuffix(".py")


def botperms_files() -> list[Path]:
    return sorted((SRC / "botperms").rglob("*.py"))


@pytest.mark.parametrize("path", botperms_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_botperms_imports_point_down(path: Path) -> None:
    layer = layer_of(path)
    if layer not in ALLOWED:  # cli and its commands, demo, __init__: the top, may wire anything
        top = {"app", "cli", "profile_cmd", "scaffold", "demo", "testing", "__init__"}
        assert layer in top, f"{layer} has no place in the layering"
        return
    for name in imports_of(path):
        assert not name.startswith("fakebook"), f"{path.name} imports fakebook"
        if not name.startswith("botperms."):
            continue
        target = name.split(".")[1]
        if target == layer:
            continue
        assert target in ALLOWED[layer], f"{layer} must not import {target} ({path.name})"


@pytest.mark.parametrize(
    "path", sorted((SRC / "fakebook").rglob("*.py")), ids=lambda p: str(p.relative_to(SRC))
)
def test_fakebook_never_imports_botperms(path: Path) -> None:
    assert not any(name.split(".")[0] == "botperms" for name in imports_of(path))


def test_the_rule_is_checked_against_real_files() -> None:
    # Guards against the glob silently finding nothing (which would make the test vacuous).
    layers = {layer_of(path) for path in botperms_files()}
    assert {"graph", "store", "messenger", "flows", "bot", "web", "worker"} <= layers
