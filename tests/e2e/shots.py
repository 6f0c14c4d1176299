"""Screenshots the browser tests take on their way through the flows, for the README.

They go to ``docs/screenshots/`` (or ``$BOTPERMS_SHOTS_DIR``) under fixed names, so a run
rewrites the same files; the pages are deterministic (seeded people, no clocks on screen), so an
unchanged page gives an unchanged PNG. Each capture also checks that the browser reported no
Content-Security-Policy violation on the way: a page that needs something its policy forbids
shows up here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from playwright.async_api import Page

PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
SIZES: dict[str, dict[str, int]] = {"phone": PHONE["viewport"], "desktop": DESKTOP["viewport"]}
# The simulator's webview address bar shows a loopback port and a ticket, new on every run.
_STEADY = "#webview-url { visibility: hidden; }"
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shots_dir() -> Path:
    directory = Path(os.environ.get("BOTPERMS_SHOTS_DIR") or DOCS_SHOTS)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


async def csp_violations(page: Page) -> list[str]:
    messages = await page.console_messages()
    return [message.text for message in messages if "Content Security Policy" in message.text]


async def capture(page: Page, name: str, *sizes: str, full_page: bool = False) -> None:
    """Saves ``{name}-{size}.png`` for each size (default: the page's own viewport size),
    resizing the viewport for the others and restoring it afterwards."""
    violations = await csp_violations(page)
    assert not violations, violations
    original = page.viewport_size
    assert original is not None
    # Nothing focused or hovered: a focus ring or hover shade would differ from run to run.
    await page.mouse.move(0, 0)
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    for size in sizes or [_size_of(original)]:
        if SIZES[size] != page.viewport_size:
            await page.set_viewport_size(SIZES[size])  # type: ignore[arg-type]
        await page.screenshot(
            path=shots_dir() / f"{name}-{size}.png",
            full_page=full_page,
            style=_STEADY,
            animations="disabled",
        )
    # The screenshot's own style is injected into every frame, and our framed pages refuse it.
    await page.clear_console_messages()
    if page.viewport_size != original:
        await page.set_viewport_size(original)


def _size_of(viewport: Any) -> str:
    for size, box in SIZES.items():
        if box == dict(viewport):
            return size
    raise AssertionError(f"not a phone or desktop viewport: {viewport}")
