"""Screenshots the browser tests take on their way through the flows, for the README.

They go to ``docs/screenshots/`` (or ``$BOTPERMS_SHOTS_DIR``) under fixed names. The pages are
deterministic (seeded people, no clocks or ports on screen), and a file is only rewritten when
the page really changed (more than a few pixels), so a test run leaves the tree clean. Each
capture also checks that the browser reported no Content-Security-Policy violation on the way:
a page that needs something its policy forbids shows up here.
"""

from __future__ import annotations

import base64
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
    for frame in page.frames:
        await frame.evaluate("document.activeElement && document.activeElement.blur()")
    for size in sizes or [_size_of(original)]:
        if SIZES[size] != page.viewport_size:
            await page.set_viewport_size(SIZES[size])  # type: ignore[arg-type]
        shot = await page.screenshot(full_page=full_page, style=_STEADY, animations="disabled")
        await _save(page, shots_dir() / f"{name}-{size}.png", shot)
    # The screenshot's own style is injected into every frame, and our framed pages refuse it.
    await page.clear_console_messages()
    if page.viewport_size != original:
        await page.set_viewport_size(original)


# Counts the pixels two PNGs of one size differ in (-1 for another size), decoded by the browser.
_DIFFERENT_PIXELS = """async ([a, b]) => {
  const load = async (data) => {
    const image = new Image();
    image.src = "data:image/png;base64," + data;
    await image.decode();
    return image;
  };
  const [x, y] = [await load(a), await load(b)];
  if (x.width !== y.width || x.height !== y.height) { return -1; }
  const canvas = new OffscreenCanvas(x.width, x.height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const pixels = (image) => {
    context.clearRect(0, 0, x.width, x.height);
    context.drawImage(image, 0, 0);
    return new Uint32Array(context.getImageData(0, 0, x.width, x.height).data.buffer);
  };
  const [p, q] = [pixels(x), pixels(y)];
  let changed = 0;
  for (let i = 0; i < p.length; i++) { if (p[i] !== q[i]) { changed++; } }
  return changed;
}"""
# Chromium's anti-aliasing varies by a few pixels between runs on one machine; a change below
# this many pixels keeps the committed file, so a test run leaves the working tree clean.
NOISE_PIXELS = 64


async def _save(page: Page, path: Path, shot: bytes) -> None:
    if path.exists() and path.read_bytes() != shot:
        blank = await page.context.new_page()  # about:blank, no policy against data: images
        try:
            old, new = (base64.b64encode(png).decode() for png in (path.read_bytes(), shot))
            changed = await blank.evaluate(_DIFFERENT_PIXELS, [old, new])
        finally:
            await blank.close()
        if 0 <= changed < NOISE_PIXELS:
            return
    if not path.exists() or path.read_bytes() != shot:
        path.write_bytes(shot)


def _size_of(viewport: Any) -> str:
    for size, box in SIZES.items():
        if box == dict(viewport):
            return size
    raise AssertionError(f"not a phone or desktop viewport: {viewport}")
