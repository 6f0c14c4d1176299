"""mkdocs hooks: the repository's README becomes the site's home page.

The README links into ``docs/`` and the tutorial links back to ``../README.md``; both are
rewritten to what they are inside the site, so link validation stays strict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]


def on_files(files: Files, config: Any) -> Files:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    files.append(File.generated(config, "index.md", content=readme.replace("](docs/", "](")))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    return markdown.replace("](../README.md", "](index.md")
