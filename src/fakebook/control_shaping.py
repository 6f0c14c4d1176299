"""Control API routes for latency and usage headers (see shaping.py):

GET|POST|DELETE /_fakebook/latency
    POST {"path_contains": "/me/messages", "method": "POST", "seconds": 0.5, "times": 3}
    or   {"path_contains": "/me/messages", "min_seconds": 0.1, "max_seconds": 2.0}
GET|POST|DELETE /_fakebook/usage
    POST {"path_contains": "/me/messages",
          "business_use_case_usage": {"call_count": 95, "total_time": 20, "total_cputime": 20,
                                      "estimated_time_to_regain_access": 0},
          "app_usage": {"call_count": 28, "total_time": 25, "total_cputime": 25},
          "page_usage": {...}, "times": null}

`path_contains` defaults to "" (every Graph call), `method` to any, `times` to null (every
matching call until DELETE or POST /_fakebook/reset). Every answer lists the rules in force.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakebook.shaping import Latency, Shaping, Usage, usage_headers
from fakebook.state import State

MAX_LATENCY = 120.0


def _shaping(request: Request) -> Shaping:
    state: State = request.app.state.fakebook
    return state.shaping


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number of seconds")
    if not 0 <= value <= MAX_LATENCY:
        raise ValueError(f"{name} must be between 0 and {MAX_LATENCY:g}")
    return float(value)


def _common(body: dict[str, Any]) -> tuple[str, str | None, int | None]:
    path = body.get("path_contains", "")
    method = body.get("method")
    times = body.get("times")
    if not isinstance(path, str) or not (method is None or isinstance(method, str)):
        raise ValueError("path_contains and method must be strings")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ValueError("times must be a positive integer or null")
    return path, method, times


def _latency(body: dict[str, Any]) -> Latency:
    path, method, times = _common(body)
    if "seconds" in body:
        low = high = _seconds(body["seconds"], "seconds")
    elif "min_seconds" in body and "max_seconds" in body:
        low = _seconds(body["min_seconds"], "min_seconds")
        high = _seconds(body["max_seconds"], "max_seconds")
        if high < low:
            raise ValueError("max_seconds must not be below min_seconds")
    else:
        raise ValueError('give "seconds", or "min_seconds" and "max_seconds"')
    return Latency(path, method, times, low, high)


def _usage(body: dict[str, Any], page_id: str) -> Usage:
    path, method, times = _common(body)
    return Usage(path, method, times, usage_headers(body, page_id))


async def _rules(request: Request, kind: str) -> Response:
    shaping = _shaping(request)
    rules: list[Any] = shaping.latencies if kind == "latency" else shaping.usages
    if request.method == "DELETE":
        rules.clear()
    elif request.method == "POST":
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object body")
            state: State = request.app.state.fakebook
            rule = _latency(body) if kind == "latency" else _usage(body, state.config.page_id)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        rules.append(rule)
    return JSONResponse(shaping.describe()[kind])


async def latency(request: Request) -> Response:
    return await _rules(request, "latency")


async def usage(request: Request) -> Response:
    return await _rules(request, "usage")


ROUTES = [
    Route("/_fakebook/latency", latency, methods=["GET", "POST", "DELETE"]),
    Route("/_fakebook/usage", usage, methods=["GET", "POST", "DELETE"]),
]
