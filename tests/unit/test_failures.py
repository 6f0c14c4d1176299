"""``FailureReason``: one enum for the flows and the bot, equal to the values stored with the
login-failed events (so rows written before it keep reading the same)."""

from __future__ import annotations

import pytest

from botperms import FailureReason
from botperms.failures import failure_reason
from botperms.flows import FailureReason as FlowsFailureReason
from botperms.flows.errors import HTTP_STATUS


def test_the_flows_and_the_bot_share_one_enum() -> None:
    assert FlowsFailureReason is FailureReason
    assert set(HTTP_STATUS) == set(FailureReason)  # every reason has its page's status


@pytest.mark.parametrize("reason", list(FailureReason))
def test_a_stored_value_reads_back_as_its_member(reason: FailureReason) -> None:
    assert failure_reason(reason.value) is reason
    assert reason == reason.value  # a StrEnum: comparisons with the old strings still hold


def test_a_value_no_release_wrote_reads_as_a_graph_error() -> None:
    assert failure_reason("") is FailureReason.GRAPH_ERROR
    assert failure_reason("something_new") is FailureReason.GRAPH_ERROR


def test_which_reasons_a_fresh_link_fixes() -> None:
    fixed = {reason for reason in FailureReason if reason.fresh_link_helps}
    assert fixed == {
        FailureReason.TICKET_INVALID,
        FailureReason.TICKET_EXPIRED,
        FailureReason.TICKET_USED,
        FailureReason.STATE_EXPIRED,
        FailureReason.STATE_USED,
    }
