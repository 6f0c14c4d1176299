"""The Graph `fields` syntax: `name,picture.type(large){url,width},likes.limit(5)`.

A field may carry modifiers (`.type(large)`, `.width(200)`) and a brace list of subfields,
nested to any depth. Facebook clients send all of these (facebook-sdk users write
`picture.type(large)`, the JS SDK `picture{url}`), so a plain comma split would cut
`picture{url,width}` in two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fakebook.errors import invalid_param

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MODIFIER = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)\(([^()]*)\)")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    modifiers: dict[str, str] = field(default_factory=dict)
    subfields: tuple[FieldSpec, ...] | None = None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text.replace(" ", "")
        self.pos = 0

    def fail(self) -> ValueError:
        return ValueError(f"Syntax error in fields at character {self.pos}: {self.text!r}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def specs(self, closing: str) -> tuple[FieldSpec, ...]:
        found: list[FieldSpec] = []
        while True:
            found.append(self.spec())
            if self.peek() == ",":
                self.pos += 1
                continue
            if self.peek() == closing:
                return tuple(found)
            raise self.fail()

    def spec(self) -> FieldSpec:
        name = _NAME.match(self.text, self.pos)
        if name is None:
            raise self.fail()
        self.pos = name.end()
        modifiers: dict[str, str] = {}
        while (modifier := _MODIFIER.match(self.text, self.pos)) is not None:
            modifiers[modifier.group(1)] = modifier.group(2)
            self.pos = modifier.end()
        subfields = None
        if self.peek() == "{":
            self.pos += 1
            subfields = self.specs("}")
            self.pos += 1
        return FieldSpec(name.group(0), modifiers, subfields)


def parse_fields(text: str) -> tuple[FieldSpec, ...]:
    """The parsed list, or a (#100) error the way Facebook answers bad syntax."""
    parser = _Parser(text.strip().strip(","))
    if not parser.text:
        return ()
    try:
        return parser.specs("")
    except ValueError as exc:
        raise invalid_param(str(exc)) from None
