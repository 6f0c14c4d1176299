"""Login-link references: nothing that logs in is queued; the sender renders a working URL."""

from __future__ import annotations

import json
import re

import pytest

from botperms.flows import FlowError, TicketSigner
from botperms.flows.ticket_refs import LoginLinkReferences
from botperms.flows.tickets import Ticket

START = "https://bot.test/auth/start"


def refs() -> tuple[LoginLinkReferences, TicketSigner]:
    signer = TicketSigner("app-secret", ttl_seconds=60)
    return LoginLinkReferences(signer, START, ("user_likes",)), signer


def ticket_in(signer: TicketSigner, text: object) -> Ticket:
    found = re.search(r"ticket=([^\s&]+)", str(text))
    assert found is not None, text
    return signer.verify(found.group(1))


def button_payload(url: str) -> dict[str, object]:
    return {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "button",
                "text": "Log in?",
                "buttons": [{"type": "web_url", "url": url, "title": "Log in"}],
            },
        }
    }


def test_a_reference_carries_no_ticket_and_renders_to_a_signed_url() -> None:
    links, signer = refs()
    reference = links.reference("1", "42", ("email",), auth_type="rerequest", display_name="Ann")
    queued = button_payload(reference)
    stored = json.dumps(queued)
    assert "ticket=" not in stored
    assert reference.startswith(START + "?ticket_ref=")
    # The reference is no credential: no part of it verifies as a ticket.
    for part in re.findall(r"[A-Za-z0-9_.:-]{20,}", stored):
        with pytest.raises(FlowError):
            signer.verify(part)

    rendered = links.render(queued)
    url = rendered["attachment"]["payload"]["buttons"][0]["url"]  # type: ignore[index]
    assert url.startswith(START + "?ticket=")
    ticket = ticket_in(signer, url)
    assert (ticket.page_id, ticket.psid, ticket.scopes) == ("1", "42", ("email",))
    assert (ticket.auth_type, ticket.display_name) == ("rerequest", "Ann")
    assert queued["attachment"]["payload"]["buttons"][0]["url"] == reference  # type: ignore[index]


def test_rendering_again_keeps_the_ticket_id_so_the_link_stays_single_use() -> None:
    links, signer = refs()
    payload = {"text": f"Open {links.reference('1', '42')} to log in"}
    first, second = links.render(payload), links.render(payload)
    assert ticket_in(signer, first["text"]).ticket_id == ticket_in(signer, second["text"]).ticket_id
    # The default scopes stand in when a prompt names none.
    assert ticket_in(signer, first["text"]).scopes == ("user_likes",)


def test_a_payload_without_references_is_left_alone() -> None:
    links, _ = refs()
    payload = {"text": "hello"}
    assert links.render(payload) is payload


def test_a_damaged_reference_cannot_be_sent() -> None:
    links, _ = refs()
    with pytest.raises(ValueError, match="damaged"):
        links.render({"text": START + "?ticket_ref=bm90IGpzb24"})
