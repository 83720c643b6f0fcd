"""Credential-attack detectors on a small sshd log written for the purpose."""

from __future__ import annotations

from pathlib import Path

from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.events.workspace import Workspace
from bluebench.schema import Alert
from bluebench.sources import ReadOptions, discover


def _alerts(ws: Workspace, log: Path, only: str) -> list[Alert]:
    ws.ingest(discover([str(log)]), ReadOptions(year=2024))
    return run_detectors(ws.con, build_detectors(load_config(), [only]))


def test_brute_force_names_account_source_and_count(workspace: Workspace, authlog_file: Path) -> None:
    alerts = _alerts(workspace, authlog_file, "brute_force")
    assert len(alerts) == 1
    a = alerts[0]
    assert a.entities["user"] == "root" and a.entities["source"] == "203.0.113.7"
    assert a.event_count == 12 and a.techniques == ["T1110.001"]
    assert "12 failed logons for 'root' from 203.0.113.7 (12)" in a.reasons[0]
    assert 0 < a.score < 1


def test_spray_sees_many_accounts_from_one_source(workspace: Workspace, authlog_file: Path) -> None:
    alerts = _alerts(workspace, authlog_file, "password_spray")
    by_source = {a.entities["source"]: a for a in alerts}
    spray = by_source["198.51.100.23"]
    assert "8 failed logons for 8 accounts from 198.51.100.23" in spray.reasons[0]
    assert spray.techniques == ["T1110.003"]


def test_enumeration_counts_unknown_names_once_per_attempt(workspace: Workspace, authlog_file: Path) -> None:
    alerts = _alerts(workspace, authlog_file, "user_enumeration")
    assert [a.entities["source"] for a in alerts] == ["192.0.2.99"]
    # "Invalid user" and "Failed password for invalid user" of one connection are one attempt.
    assert "tried 6 account names that do not exist (6 attempts)" in alerts[0].reasons[0]


def test_success_after_failures_flags_the_compromise(workspace: Workspace, authlog_file: Path) -> None:
    alerts = _alerts(workspace, authlog_file, "success_after_failures")
    assert len(alerts) == 1
    a = alerts[0]
    assert a.entities == {"user": "root", "source": "203.0.113.7", "host": "web1"}
    assert "after 12 failures" in a.reasons[0] and "the success came from one of them" in a.reasons[1]
    assert a.event_count == 13 and a.severity == "high"


def test_min_score_threshold_decides_without_changing_scores(
    workspace: Workspace, authlog_file: Path
) -> None:
    workspace.ingest(discover([str(authlog_file)]), ReadOptions(year=2024))
    config = load_config()
    low = run_detectors(workspace.con, build_detectors(config, ["password_spray"]))
    cut = max(a.score for a in low)
    config["password_spray"]["min_score"] = cut
    high = run_detectors(workspace.con, build_detectors(config, ["password_spray"]))
    assert [a.score for a in high] == [a.score for a in low if a.score >= cut]
