"""Typed webhook events. Frozen models that keep unknown fields: Facebook adds fields and event
kinds without notice, and a new one must never make us drop (or crash on) a delivery."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class InvalidPayload(ValueError):
    """The webhook body is not a Messenger page delivery we can read."""


class _Model(BaseModel):
    # Ids arrive as strings from Facebook but as numbers from some tools; accept both.
    model_config = ConfigDict(frozen=True, extra="allow", coerce_numbers_to_str=True)


class User(_Model):
    id: str | None = None
    user_ref: str | None = None


class QuickReplyPayload(_Model):
    payload: str


class Attachment(_Model):
    type: str | None = None
    payload: dict[str, Any] | None = None


class Message(_Model):
    mid: str | None = None
    text: str | None = None
    quick_reply: QuickReplyPayload | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    is_echo: bool = False
    app_id: int | None = None
    metadata: str | None = None
    reply_to: dict[str, Any] | None = None

    @property
    def sticker_id(self) -> str | None:
        """The sticker's id, from either the old (image + sticker) or the new (sticker) shape."""
        for attachment in self.attachments:
            payload = attachment.payload or {}
            if payload.get("sticker_id") is not None:
                return str(payload["sticker_id"])
        return None


class Referral(_Model):
    ref: str | None = None
    source: str | None = None
    type: str | None = None


class Postback(_Model):
    mid: str | None = None
    title: str | None = None
    payload: str | None = None
    referral: Referral | None = None


class AccountLinking(_Model):
    status: Literal["linked", "unlinked"] | str
    authorization_code: str | None = None


class Delivery(_Model):
    # Both may be absent (contract §1.4); the watermark means everything before it arrived.
    mids: list[str] = Field(default_factory=list)
    watermark: int | None = None


class Read(_Model):
    watermark: int | None = None


class Optin(_Model):
    ref: str | None = None
    user_ref: str | None = None
    type: str | None = None
    notification_messages_token: str | None = None


class Reaction(_Model):
    mid: str | None = None
    action: str | None = None
    reaction: str | None = None
    emoji: str | None = None


class PolicyEnforcement(_Model):
    action: str | None = None
    reason: str | None = None


class PassThreadControl(_Model):
    previous_owner_app_id: str | None = None
    new_owner_app_id: str | None = None
    metadata: str | None = None


class TakeThreadControl(_Model):
    previous_owner_app_id: str | None = None
    new_owner_app_id: str | None = None
    metadata: str | None = None


class RequestThreadControl(_Model):
    requested_owner_app_id: str | None = None
    metadata: str | None = None


# Checked in this order; a message that also carries an ad `referral` is still a message. The
# same order is used by `botperms.messenger.intake`, which reads kinds from raw dicts.
EVENT_KINDS = (
    "message",
    "postback",
    "account_linking",
    "referral",
    "delivery",
    "read",
    "optin",
    "reaction",
    "message_edit",
    "policy_enforcement",
    "pass_thread_control",
    "take_thread_control",
    "request_thread_control",
    "app_roles",
)


class MessagingEvent(_Model):
    # Some events have no sender (policy_enforcement, app_roles) and plugin opt-ins name the
    # person only by user_ref: nothing here may be required that Facebook leaves out.
    sender: User = Field(default_factory=User)
    recipient: User = Field(default_factory=User)
    timestamp: int = 0
    message: Message | None = None
    postback: Postback | None = None
    account_linking: AccountLinking | None = None
    referral: Referral | None = None
    delivery: Delivery | None = None
    read: Read | None = None
    optin: Optin | None = None
    reaction: Reaction | None = None
    message_edit: dict[str, Any] | None = None
    policy_enforcement: PolicyEnforcement | None = None
    pass_thread_control: PassThreadControl | None = None
    take_thread_control: TakeThreadControl | None = None
    request_thread_control: RequestThreadControl | None = None
    app_roles: dict[str, list[str]] | None = None

    @property
    def kind(self) -> str:
        if self.message is not None:
            return "echo" if self.message.is_echo else "message"
        for name in EVENT_KINDS[1:]:
            if getattr(self, name) is not None:
                return name
        return "unknown"

    @property
    def psid(self) -> str | None:
        """The person in the conversation. On an echo the Page is the sender."""
        return self.recipient.id if self.kind == "echo" else self.sender.id

    @property
    def page_id(self) -> str | None:
        return self.sender.id if self.kind == "echo" else self.recipient.id

    def as_dict(self) -> dict[str, Any]:
        """The event as JSON-ready data, close to what arrived (defaults left out)."""
        return self.model_dump(mode="json", exclude_unset=True)

    def key(self) -> str:
        """Dedupe key: redeliveries of the same event give the same key."""
        mid: str | None = None
        if self.message is not None:
            mid = self.message.mid
        elif self.postback is not None:
            mid = self.postback.mid
        if mid:
            return f"mid:{mid}"
        # No message id (deliveries, reads, referrals, …): the event's own content identifies
        # it, and Facebook resends identical bodies.
        canonical = json.dumps(
            self.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


class Entry(_Model):
    id: str | None = None
    time: int | None = None
    messaging: list[MessagingEvent] = Field(default_factory=list)
    # Events of threads another app owns (handover protocol): read them, never answer them.
    standby: list[MessagingEvent] = Field(default_factory=list)


class WebhookPayload(_Model):
    object: str
    entry: list[Entry]

    def events(self) -> list[tuple[Entry, MessagingEvent]]:
        """Every event of every entry, oldest first: arrival order is not to be trusted."""
        pairs = [(entry, event) for entry in self.entry for event in entry.messaging]
        return sorted(pairs, key=lambda pair: pair[1].timestamp)


def check_page_envelope(data: Any) -> list[Any]:
    """The ``entry`` list of an ``{"object": "page", "entry": [...]}`` body, or
    :class:`InvalidPayload` saying what else it is. The only check that refuses a delivery."""
    if not isinstance(data, dict):
        raise InvalidPayload(f"webhook payload must be a JSON object, not {type(data).__name__}")
    if "object" not in data and "field" in data and "value" in data:
        # Only real deliveries are accepted: the test shape has string timestamps and no
        # sender/recipient envelope, so handling it would mean a second, untested code path.
        raise InvalidPayload(
            f"this is an App Dashboard test payload (field {data['field']!r}); botperms accepts "
            'only real deliveries shaped {"object": "page", "entry": [...]}'
        )
    if data.get("object") != "page":
        raise InvalidPayload(f"webhook object is {data.get('object')!r}; expected 'page'")
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise InvalidPayload("webhook payload 'entry' must be a list")
    return entries


def _check_envelope(data: Any) -> None:
    entries = check_page_envelope(data)
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InvalidPayload(f"entry[{i}] must be an object")
        for field_name in ("messaging", "standby"):
            events = entry.get(field_name, [])
            if not isinstance(events, list):
                raise InvalidPayload(f"entry[{i}].{field_name} must be a list")
            for j, event in enumerate(events):
                if not isinstance(event, dict):
                    raise InvalidPayload(f"entry[{i}].{field_name}[{j}] must be an object")


def parse_payload(data: Any) -> WebhookPayload:
    """Validate and type a decoded webhook body; raises :class:`InvalidPayload` with the reason."""
    _check_envelope(data)
    try:
        return WebhookPayload.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()[:3]
        )
        raise InvalidPayload(
            f"webhook payload does not match the Messenger format: {problems}"
        ) from None
