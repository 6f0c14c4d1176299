"""The import direction of design.md, read from the source with ``ast``, third-party packages
included, and the public surface a bot author sees.

Between our layers: web → flows, bot → graph, store, messenger → config (and the other base
modules); worker (which runs the bot's handlers for queued events) sits beside web, and the
composition root (``app``) and the commands above everything. Nothing in botperms imports
fakebook, and fakebook imports nothing of botperms: the two meet only over HTTP.

Third-party packages belong to one layer each (design.md "Shape of the code", style.md): only
graph/ talks to Facebook (httpx, pyreqwest), only store/ to the database (SQLAlchemy, Alembic),
only web/ knows Starlette and serves HTTP, only the commands print with Rich or parse with
Typer. The few places that differ say why, next to their entry.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
LEAVES = {"graph", "store", "messenger"}
# Base modules: they import nothing of botperms but each other.
BASE = {"config", "logs", "metrics", "permissions", "failures"}
# The composition root (app, and roles: how it wires each process role), the commands and the
# test harness: the top, they may wire anything of botperms (third-party packages still follow
# THIRD_PARTY).
TOP = {"app", "roles", "cli", "profile_cmd", "scaffold", "demo", "testing", "__init__"}

ALLOWED: dict[str, set[str]] = {
    "permissions": set(),
    "failures": set(),
    "config": {"permissions"},
    "logs": set(),
    "metrics": set(),
    "graph": BASE,
    "store": BASE,
    "messenger": BASE,
    "flows": LEAVES | BASE,
    "bot": LEAVES | BASE,
    "worker": {"bot"} | LEAVES | BASE,
    # serve --processes 2: the link between the web half and the handler half.
    "relay": {"store"} | BASE,
    "web": {"flows"} | LEAVES | BASE,
    # The example bot is a bot author's module: the public API only (see below).
    "examples": set(),
}

# Used everywhere: logging.
ANYWHERE = {"structlog"}
THIRD_PARTY: dict[str, set[str]] = {
    # graph/ is the only code that talks to Facebook. The composition root takes an httpx
    # client for the Graph client (the tests' transport seam) and hands it on; the demo polls
    # its own fakebook process while starting it; botperms.testing's Graph is an httpx
    # MockTransport, in-process.
    "httpx": {"graph", "app", "demo", "testing"},
    "pyreqwest": {"graph"},
    "authlib": {"graph"},
    # store/ is the only code that talks to the database.
    "sqlalchemy": {"store"},
    "alembic": {"store"},
    "aiosqlite": {"store"},
    "asyncpg": {"store"},
    # The distributed mode's queue engine (design.md "Scale") and its PostgreSQL driver.
    "procrastinate": {"worker"},
    "psycopg": {"worker"},
    # web/ is the only code that knows Starlette and serves HTTP; App.asgi() returns the
    # Starlette app that web/ builds, hence the composition root's import of the type.
    "starlette": {"web", "app"},
    "uvicorn": {"web"},
    "h11": {"web"},
    "jinja2": {"web"},
    "prometheus_client": {"metrics", "web"},
    # The command line (profile_cmd and demo are commands kept beside cli/).
    "typer": {"cli", "profile_cmd"},
    "rich": {"cli", "profile_cmd", "demo"},
    "watchfiles": {"cli"},
    "uvloop": {"cli"},
    # Settings, typed events and the Messenger Profile file; the bot catches the events'
    # ValidationError, the commands report a settings one.
    "pydantic_settings": {"config"},
    "pydantic": {"config", "messenger", "bot", "cli", "profile_cmd"},
    # Token encryption (store), key checks (config), ticket keys (flows), and new keys for a
    # new project, the demo and the test harness.
    "cryptography": {"store", "config", "flows", "cli", "testing"},
    "itsdangerous": {"flows"},
    "ua_parser": {"flows"},
}
# Where the code and the rule above disagree, for a reason: (file under src/botperms, package).
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("worker/process_lock.py", "sqlalchemy"): "make_url only reads the database URL's path",
    ("worker/engine.py", "sqlalchemy"): "make_url only reads the database URL (no session)",
    ("worker/page_backoff.py", "prometheus_client"): "a counter of its own, kept beside its use",
}


def imports_of(path: Path, *, runtime_only: bool = False) -> set[str]:
    """Every module ``path`` imports (absolute imports only); with ``runtime_only``, those
    under ``if TYPE_CHECKING:`` are left out (they never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skipped.update(id(inner) for inner in ast.walk(node))
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
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


def _id(path: Path) -> str:
    return str(path.relative_to(SRC))


@pytest.mark.parametrize("path", botperms_files(), ids=_id)
def test_botperms_imports_point_down(path: Path) -> None:
    layer = layer_of(path)
    if layer not in ALLOWED:
        assert layer in TOP, f"{layer} has no place in the layering"
    for name in imports_of(path):
        assert not name.startswith("fakebook"), f"{path.name} imports fakebook"
        if layer in TOP or not name.startswith("botperms."):
            continue
        target = name.split(".")[1]
        if target == layer:
            continue
        assert target in ALLOWED[layer], f"{layer} must not import {target} ({path.name})"


@pytest.mark.parametrize("path", botperms_files(), ids=_id)
def test_third_party_packages_stay_in_their_layer(path: Path) -> None:
    layer = layer_of(path)
    relative = str(path.relative_to(SRC / "botperms"))
    for name in imports_of(path, runtime_only=True):
        package = name.split(".")[0]
        if package in sys.stdlib_module_names or package in {"botperms", "__future__"}:
            continue
        if package in ANYWHERE or (relative, package) in EXCEPTIONS:
            continue
        assert package in THIRD_PARTY, (
            f"{relative} imports {package}, which has no layer yet: add it to THIRD_PARTY "
            "with the layers that may use it"
        )
        assert layer in THIRD_PARTY[package], (
            f"{relative} imports {package}, which belongs to {sorted(THIRD_PARTY[package])}"
        )


def test_every_exception_is_still_needed() -> None:
    for (relative, package), reason in EXCEPTIONS.items():
        path = SRC / "botperms" / relative
        if not path.exists():
            continue  # the module went away: its exception with it (nothing to check)
        used = {name.split(".")[0] for name in imports_of(path, runtime_only=True)}
        assert package in used, f"{relative} no longer imports {package}: drop ({reason})"


@pytest.mark.parametrize(
    "path", sorted((SRC / "fakebook").rglob("*.py")), ids=lambda p: str(p.relative_to(SRC))
)
def test_fakebook_never_imports_botperms(path: Path) -> None:
    assert not any(name.split(".")[0] == "botperms" for name in imports_of(path))


def test_the_rule_is_checked_against_real_files() -> None:
    # Guards against the glob silently finding nothing (which would make the test vacuous).
    layers = {layer_of(path) for path in botperms_files()}
    assert {"graph", "store", "messenger", "flows", "bot", "web", "worker"} <= layers
    used = {name.split(".")[0] for path in botperms_files() for name in imports_of(path)}
    assert {"httpx", "sqlalchemy", "starlette", "typer"} <= used


# -- what a bot author sees ---------------------------------------------------------------


def author_modules() -> list[Path]:
    templates = SRC / "botperms" / "scaffold" / "templates"
    return [*sorted((SRC / "botperms" / "examples").glob("*.py")), templates / "bot.py.tmpl"]


@pytest.mark.parametrize("path", author_modules(), ids=lambda p: p.name)
def test_the_example_bot_and_the_template_use_only_the_import_root(path: Path) -> None:
    imported = {name for name in imports_of(path) if name.split(".")[0] == "botperms"}
    # botperms.testing is the other public package (a bot's tests use it).
    assert imported <= {"botperms", "botperms.testing"}, imported


def test_the_import_root_has_what_an_author_needs_and_no_machinery() -> None:
    import botperms
    import botperms.bot

    needed = {"Bot", "Router", "Context", "requires", "Prompts", "FailureReason", "NotGranted"}
    needed |= {"postback_button", "generic_element", "quick_reply", "InvalidMessage"}
    needed |= {"GraphError", "InvalidTokenError", "RateLimitedError", "TransientError"}
    assert needed <= set(botperms.__all__)
    internal = {"Runtime", "Dispatcher", "Store", "GraphClient", "LoginLinks", "handler_name"}
    for package in (botperms, botperms.bot):
        assert internal.isdisjoint(package.__all__), package.__name__
        assert all(hasattr(package, name) for name in package.__all__), package.__name__
