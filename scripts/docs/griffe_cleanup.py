"""A griffe extension for the API reference (mkdocstrings loads it; see mkdocs.yml).

- Sphinx roles in docstrings (:class:`~a.B`) read as code in Markdown.
- A dataclass's private fields (``_handlers: ... = field(default_factory=...)``) are left out
  of its signature: they are ``__init__`` parameters, but no author passes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|meth|func|attr|mod|exc|data|obj):`(~?)([^`]+)`")


def _plain(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    # `~a.b.C` shows as `C`, as Sphinx would; `a.b.C` stays whole.
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


def _classes(obj: griffe.Object) -> Iterator[griffe.Class]:
    for member in obj.members.values():
        if isinstance(member, griffe.Alias):
            continue
        if isinstance(member, griffe.Class):
            yield member
        if isinstance(member, griffe.Module | griffe.Class):
            yield from _classes(member)


class ReferenceCleanup(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_plain, obj.docstring.value)

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        # Runs after griffe's dataclasses extension has written the synthetic __init__.
        for cls in _classes(pkg):
            init = cls.members.get("__init__")
            if isinstance(init, griffe.Function) and init.parameters:
                for name in [p.name for p in init.parameters if p.name.startswith("_")]:
                    del init.parameters[name]
