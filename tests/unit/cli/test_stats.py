"""``botperms stats``' arithmetic: the period, the per-step totals and the shares."""

from __future__ import annotations

from datetime import date

import pytest
import typer

from botperms.cli.stats import as_document, parse_since, share, tally
from botperms.store.funnel import FunnelCount

TODAY = date(2026, 12, 1)


def test_periods() -> None:
    assert parse_since("7d", TODAY) == date(2026, 11, 25)  # seven days, today included
    assert parse_since("1d", TODAY) == TODAY
    assert parse_since("2w", TODAY) == date(2026, 11, 18)
    assert parse_since("2026-11-01", TODAY) == date(2026, 11, 1)
    with pytest.raises(typer.BadParameter, match="not a period"):
        parse_since("last week", TODAY)


ROWS = [
    FunnelCount("web", "unknown", "prompt_sent", "", 10),
    FunnelCount("web", "phone", "link_opened", "", 6),
    FunnelCount("web", "desktop", "link_opened", "", 2),
    FunnelCount("web", "phone", "dialog_reached", "", 5),
    FunnelCount("web", "desktop", "dialog_reached", "", 2),
    FunnelCount("web", "phone", "granted", "", 3),
    FunnelCount("web", "phone", "declined", "user_likes", 1),
    FunnelCount("web", "desktop", "failed", "state_expired", 1),
    FunnelCount("web", "desktop", "failed", "browser_mismatch", 1),
    FunnelCount("web", "phone", "back_in_messenger", "", 4),
]


def test_totals_sum_the_reasons_and_shares_follow_the_funnel() -> None:
    counts, reasons = tally(ROWS)
    web = counts["web"]
    assert web["desktop"]["failed"] == 2
    assert [r.reason for r in reasons] == ["user_likes", "browser_mismatch", "state_expired"]
    assert share(web, "link_opened", None) == 0.8  # 8 of 10 prompts
    assert share(web, "link_opened", "phone") is None  # a prompt has no client kind yet
    assert share(web, "dialog_reached", "phone") == pytest.approx(5 / 6)
    assert share(web, "granted", None) == pytest.approx(3 / 7)
    assert share(web, "back_in_messenger", "phone") == 1.0  # of granted + declined
    assert share(web, "prompt_sent", None) is None
    assert share(counts["account_link"], "granted", None) is None  # nothing to divide by


def test_the_json_document() -> None:
    counts, reasons = tally(ROWS)
    document = as_document(counts, reasons, date(2026, 11, 25))
    web = document["flows"]["web"]
    assert web["all"]["dialog_reached"] == 7
    assert web["clients"]["phone"]["granted"] == 3
    assert web["conversion"]["dialog_reached"] == 0.875
    assert document["flows"]["account_link"]["all"]["prompt_sent"] == 0
    assert document["since"] == "2026-11-25"
    assert {"step": "failed", "reason": "state_expired"}.items() <= document["reasons"][2].items()
