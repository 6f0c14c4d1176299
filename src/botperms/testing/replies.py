"""What the bot sent, typed: texts, button and generic templates, quick replies.

Read from the Send API bodies the bot's outbox really posted, so a test sees exactly what a
person would have seen in Messenger.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    """A template button: ``type`` is ``"postback"``, ``"web_url"``, ``"account_link"``, …"""

    type: str
    title: str | None = None
    payload: str | None = None
    url: str | None = None

    @classmethod
    def read(cls, raw: dict[str, Any]) -> Button:
        return cls(
            type=str(raw.get("type", "")),
            title=raw.get("title"),
            payload=raw.get("payload"),
            url=raw.get("url"),
        )


@dataclass(frozen=True)
class QuickReply:
    """A quick reply chip; ``content_type`` is ``"text"`` (with title and payload),
    ``"user_email"`` or ``"user_phone_number"``."""

    title: str | None
    payload: str | None
    content_type: str = "text"


@dataclass(frozen=True)
class Element:
    """One card of a generic template."""

    title: str
    subtitle: str | None = None
    image_url: str | None = None
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Reply:
    """One message the bot sent to ``psid``.

    ``text`` is the message's text or a button template's text; ``template`` names the
    template (``"button"``, ``"generic"``, …) or is None; ``buttons`` are a button template's
    buttons, ``elements`` a generic template's cards; ``attachment`` is the attachment type
    (``"template"``, ``"image"``, …). ``message`` is the Send API message as sent.
    """

    psid: str
    message: dict[str, Any]
    text: str | None = None
    template: str | None = None
    buttons: tuple[Button, ...] = ()
    quick_replies: tuple[QuickReply, ...] = ()
    elements: tuple[Element, ...] = ()
    attachment: str | None = None

    @classmethod
    def read(cls, psid: str, message: dict[str, Any]) -> Reply:
        attachment = message.get("attachment") or {}
        payload = attachment.get("payload") or {}
        template = payload.get("template_type") if attachment.get("type") == "template" else None
        elements = tuple(
            Element(
                title=str(raw.get("title", "")),
                subtitle=raw.get("subtitle"),
                image_url=raw.get("image_url"),
                buttons=tuple(Button.read(b) for b in raw.get("buttons", [])),
            )
            for raw in payload.get("elements", [])
        )
        quick = tuple(
            QuickReply(raw.get("title"), raw.get("payload"), str(raw.get("content_type", "text")))
            for raw in message.get("quick_replies", [])
        )
        return cls(
            psid=psid,
            message=message,
            text=message.get("text") or payload.get("text"),
            template=template,
            buttons=tuple(Button.read(b) for b in payload.get("buttons", [])),
            quick_replies=quick,
            elements=elements,
            attachment=attachment.get("type"),
        )

    def button(self, title: str) -> Button:
        """The button titled ``title`` (of the template or of any card); KeyError if none."""
        every = [*self.buttons, *(b for element in self.elements for b in element.buttons)]
        for candidate in every:
            if candidate.title == title:
                return candidate
        raise KeyError(f"no button titled {title!r}; the buttons are {[b.title for b in every]}")

    def quick_reply(self, title: str) -> QuickReply:
        """The quick reply titled ``title``; KeyError if none."""
        for candidate in self.quick_replies:
            if candidate.title == title:
                return candidate
        titles = [q.title for q in self.quick_replies]
        raise KeyError(f"no quick reply titled {title!r}; the quick replies are {titles}")


@dataclass
class Replies:
    """What the bot sent in answer to one thing a person did, in order.

    Iterate it or index it for the messages (:class:`Reply`); ``texts`` lists their texts;
    ``actions`` holds the sender actions (``"typing_on"``, …) sent in between.
    """

    messages: list[Reply] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, bodies: list[dict[str, Any]]) -> Replies:
        replies = cls()
        for body in bodies:
            psid = str((body.get("recipient") or {}).get("id", ""))
            if "sender_action" in body:
                replies.actions.append(str(body["sender_action"]))
            elif isinstance(body.get("message"), dict):
                replies.messages.append(Reply.read(psid, body["message"]))
        return replies

    @property
    def texts(self) -> list[str | None]:
        return [reply.text for reply in self.messages]

    @property
    def text(self) -> str:
        """The one message's text: for answers that are a single text message."""
        if len(self.messages) != 1:
            raise AssertionError(f"expected one message, the bot sent {self.texts}")
        text = self.messages[0].text
        if text is None:
            raise AssertionError(f"the bot's message has no text: {self.messages[0].message}")
        return text

    def __iter__(self) -> Iterator[Reply]:
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    def __getitem__(self, index: int) -> Reply:
        return self.messages[index]

    def __bool__(self) -> bool:
        return bool(self.messages)
