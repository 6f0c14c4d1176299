"""Injected Graph failures: the next matching call(s) fail with a chosen Facebook error.

This is how tests reach error paths a healthy fakebook never takes (rate limits, code 1200,
HTTP 500) without a special build of the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fakebook.errors import GraphError


@dataclass
class Fault:
    path_contains: str
    method: str | None
    code: int
    message: str
    subcode: int | None
    http_status: int | None
    type: str
    remaining: int | None  # None: every matching call, until cleared

    def error(self) -> GraphError:
        return GraphError(
            self.message,
            code=self.code,
            subcode=self.subcode,
            type=self.type,
            http_status=self.http_status,
        )

    def describe(self) -> dict[str, object]:
        return {
            "path_contains": self.path_contains,
            "method": self.method,
            "error": {
                "code": self.code,
                "subcode": self.subcode,
                "message": self.message,
                "http_status": self.http_status,
                "type": self.type,
            },
            "remaining": self.remaining,
        }


@dataclass
class FaultList:
    faults: list[Fault] = field(default_factory=list)

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def clear(self) -> None:
        self.faults.clear()

    def take(self, method: str, path: str) -> GraphError | None:
        """The error for this call, if a fault matches; used-up faults are dropped."""
        for fault in self.faults:
            if fault.path_contains not in path:
                continue
            if fault.method is not None and fault.method.upper() != method.upper():
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
            return fault.error()
        return None
