"""A fake person driving the chat (through fakebook's control API) and a browser (over HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from tests.e2e.conftest import Stack, eventually
from tests.e2e.forms import parse_forms

IPHONE_MESSENGER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 [FBAN/MessengerForiOS;FBAV/466.0.0.41.109;FBBV/612345;FBSN/iOS]"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
DESKTOP_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 "
    "Safari/537.36"
)


@dataclass
class Person:
    stack: Stack
    http: httpx.AsyncClient
    psid: str
    asid: str
    first_name: str
    likes_count: int

    @classmethod
    async def pick(cls, stack: Stack, http: httpx.AsyncClient, index: int = 0) -> Person:
        people = (await http.get(f"{stack.fb}/_fakebook/people")).json()
        person = people[index]
        return cls(
            stack,
            http,
            str(person["psid"]),
            str(person["asid"]),
            person["first_name"],
            int(person["likes_count"]),
        )

    # -- the chat -------------------------------------------------------------------------
    async def say(self, text: str) -> dict[str, Any]:
        response = await self.http.post(
            f"{self.stack.fb}/_fakebook/chat/{self.psid}/message",
            params={"wait": "true"},
            json={"text": text},
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def tap(self, title: str, payload: str) -> dict[str, Any]:
        """Taps a quick reply (its title is what the chat shows as the person's message)."""
        response = await self.http.post(
            f"{self.stack.fb}/_fakebook/chat/{self.psid}/message",
            params={"wait": "true"},
            json={"quick_reply": {"title": title, "payload": payload}},
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def tap_and_wait(self, title: str, payload: str) -> dict[str, Any]:
        before = len(await self.received())
        await self.tap(title, payload)
        return await self.wait_for_reply(before, f"the bot's answer to tapping {title!r}")

    async def press(self, title: str, payload: str) -> dict[str, Any]:
        """Taps a postback button: Get Started, a persistent-menu item or a template button."""
        response = await self.http.post(
            f"{self.stack.fb}/_fakebook/chat/{self.psid}/postback",
            params={"wait": "true"},
            json={"title": title, "payload": payload},
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def press_and_wait(self, title: str, payload: str) -> dict[str, Any]:
        before = len(await self.received())
        await self.press(title, payload)
        return await self.wait_for_reply(before, f"the bot's answer to pressing {title!r}")

    async def received(self) -> list[dict[str, Any]]:
        """Every message the page sent this person, oldest first."""
        url = f"{self.stack.fb}/_fakebook/conversations/{self.psid}"
        entries = (await self.http.get(url)).json()
        return [e["message"] for e in entries if e["direction"] == "out" and e.get("message")]

    async def wait_for_reply(self, count_before: int, what: str = "a reply") -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            messages = await self.received()
            return messages[count_before] if len(messages) > count_before else None

        reply: dict[str, Any] = await eventually(probe, what=what)
        return reply

    async def say_and_wait(self, text: str) -> dict[str, Any]:
        before = len(await self.received())
        await self.say(text)
        return await self.wait_for_reply(before, f"the bot's answer to {text!r}")

    # -- the browser ----------------------------------------------------------------------
    async def start(self, url: str, *, user_agent: str) -> str:
        """Confirm page → Continue with Facebook; returns the Login dialog URL."""
        headers = {"User-Agent": user_agent}
        confirm = await self.http.get(url, headers=headers)
        assert confirm.status_code == 200, confirm.text
        form = parse_forms(confirm.text)[0]
        started = await self.http.post(
            urljoin(url, form.action), data=dict(form.fields), headers=headers
        )
        assert started.status_code == 303, started.text
        location: str = started.headers["location"]
        return location

    async def open_login(
        self,
        url: str,
        *,
        user_agent: str,
        grant: tuple[str, ...] | None = None,
        cancel: bool = False,
    ) -> httpx.Response:
        """Confirm page → Continue → Facebook dialog → Continue/Cancel → our callback."""
        headers = {"User-Agent": user_agent}
        dialog_url = await self.start(url, user_agent=user_agent)
        callback_url = await self.use_dialog(dialog_url, headers, grant=grant, cancel=cancel)
        return await self.http.get(callback_url, headers=headers)

    async def use_dialog(
        self,
        dialog_url: str,
        headers: dict[str, str],
        *,
        grant: tuple[str, ...] | None = None,
        cancel: bool = False,
    ) -> str:
        """Fills fakebook's Login dialog like a person; returns where it redirects to."""
        page = await self.http.get(dialog_url, headers=headers)
        assert page.status_code == 200, page.text
        form = parse_forms(page.text)[0]
        data: list[tuple[str, str]] = list(form.fields)
        for name, value, _ in form.radios:
            if value in (self.psid, self.asid):
                data.append((name, value))
        for name, value, checked in form.checkboxes:
            if (grant is None and checked) or (grant is not None and value in grant):
                data.append((name, value))
        action = "cancel" if cancel else "continue"
        data += [(name, value) for name, value in form.buttons if value == action]
        fields: dict[str, list[str]] = {}
        for name, value in data:
            fields.setdefault(name, []).append(value)
        submitted = await self.http.post(
            urljoin(dialog_url, form.action or dialog_url), data=fields, headers=headers
        )
        assert submitted.status_code in (302, 303), submitted.text
        location: str = submitted.headers["location"]
        return location


def button_urls(message: dict[str, Any]) -> list[str]:
    payload = message.get("attachment", {}).get("payload", {})
    return [b["url"] for b in payload.get("buttons", []) if b.get("type") == "web_url"]


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)
