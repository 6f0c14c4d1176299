import json

import httpx
import pytest

from botperms.graph.client import GraphClient
from botperms.graph.errors import TransientError, UserUnavailableError
from botperms.graph.send import SendResult, is_sender_action, send_action, send_message

from .conftest import Recorder

PAGE_TOKEN = "EAAPageTokenValue0123456789abcdef"


async def test_send_message_body_and_result(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.Response(200, json={"recipient_id": "555", "message_id": "m_1"}))
    result = await send_message(graph, PAGE_TOKEN, "555", {"text": "hi"})
    assert result == SendResult(recipient_id="555", message_id="m_1")
    request = recorder.requests[0]
    assert request.method == "POST"
    assert request.url.path.endswith("/me/messages")
    assert request.url.params["access_token"] == PAGE_TOKEN
    assert json.loads(request.content) == {
        "recipient": {"id": "555"},
        "messaging_type": "RESPONSE",
        "message": {"text": "hi"},
    }


async def test_send_with_tag_and_notification(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.Response(200, json={"message_id": "m_2"}))
    result = await send_message(
        graph,
        PAGE_TOKEN,
        "555",
        {"text": "your account changed"},
        messaging_type="MESSAGE_TAG",
        tag="ACCOUNT_UPDATE",
        notification_type="SILENT_PUSH",
    )
    assert result.recipient_id is None
    body = json.loads(recorder.requests[0].content)
    assert body["tag"] == "ACCOUNT_UPDATE"
    assert body["notification_type"] == "SILENT_PUSH"
    assert body["messaging_type"] == "MESSAGE_TAG"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"messaging_type": "PROMO"}, "messaging_type"),
        ({"messaging_type": "MESSAGE_TAG"}, "needs a tag"),
        ({"messaging_type": "MESSAGE_TAG", "tag": "SALE"}, "tag 'SALE'"),
        ({"tag": "ACCOUNT_UPDATE"}, "only sent with"),
        ({"notification_type": "LOUD"}, "notification_type"),
    ],
)
async def test_send_options_validated(
    recorder: Recorder, graph: GraphClient, options: dict[str, str], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        await send_message(graph, PAGE_TOKEN, "555", {"text": "x"}, **options)
    assert recorder.requests == []


async def test_send_error_is_typed(recorder: Recorder, graph: GraphClient) -> None:
    error = {"error": {"message": "This person isn't available", "code": 551}}
    recorder.queue(httpx.Response(400, json=error))
    with pytest.raises(UserUnavailableError):
        await send_message(graph, PAGE_TOKEN, "555", {"text": "x"})


async def test_send_timeout_is_ambiguous_and_not_repeated(
    recorder: Recorder, graph: GraphClient
) -> None:
    recorder.queue(httpx.ReadTimeout("slow"))
    with pytest.raises(TransientError) as caught:
        await send_message(graph, PAGE_TOKEN, "555", {"text": "x"})
    assert caught.value.ambiguous
    assert PAGE_TOKEN not in str(caught.value)
    assert len(recorder.requests) == 1


async def test_send_action(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.Response(200, json={"recipient_id": "555"}))
    await send_action(graph, PAGE_TOKEN, "555", "typing_on")
    assert json.loads(recorder.requests[0].content) == {
        "recipient": {"id": "555"},
        "sender_action": "typing_on",
    }


async def test_send_action_retried_after_timeout(recorder: Recorder, graph: GraphClient) -> None:
    recorder.queue(httpx.ReadTimeout("slow"), httpx.Response(200, json={"recipient_id": "5"}))
    await send_action(graph, PAGE_TOKEN, "5", "mark_seen")
    assert len(recorder.requests) == 2


async def test_send_action_rejects_unknown(graph: GraphClient) -> None:
    with pytest.raises(ValueError, match="sender action"):
        await send_action(graph, PAGE_TOKEN, "5", "wave")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "known"),
    [("typing_on", True), ("typing_off", True), ("mark_seen", True), ("wave", False), (1, False)],
)
def test_is_sender_action(value: object, known: bool) -> None:
    assert is_sender_action(value) is known
