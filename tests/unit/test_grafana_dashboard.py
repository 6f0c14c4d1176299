"""The shipped Grafana dashboard (docs/grafana/botperms.json) reads only series botperms
exports, so a renamed metric cannot leave a panel silently empty."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from botperms.metrics import REGISTRY

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "botperms.json"


def exported() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.add(family.name + "_total" if family.type == "counter" else family.name)
    return names


def expressions(dashboard: dict[str, Any]) -> list[str]:
    found = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    found += [v["definition"] for v in dashboard["templating"]["list"]]
    return found


def test_every_series_in_the_dashboard_is_exported() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    used = {name for expr in expressions(dashboard) for name in re.findall(r"botperms_\w+", expr)}
    assert "botperms_login_funnel_total" in used
    assert {"botperms_inbox_depth", "botperms_outbox_depth", "botperms_dead_letters"} <= used
    assert used <= exported(), used - exported()


def test_it_imports_with_a_datasource_of_your_choice() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
