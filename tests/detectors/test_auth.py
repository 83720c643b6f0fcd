"""Credential-attack detectors on a small sshd log written for the purpose, and on built events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.events.workspace import Workspace
from bluebench.schema import Alert
from bluebench.sources import ReadOptions, discover
from detector_runs import run_detector
from generated_org import GeneratedRun

if TYPE_CHECKING:
    from conftest import EventRows

MakeWorkspace = Callable[["EventRows"], Workspace]


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


def _typos(rows: EventRows, day: int, user: str, n: int, wks: str = "wks7", ip: str = "10.10.0.7") -> None:
    """``n`` mistyped passwords at a workstation: its own 4625, and the DC's 4771 for each."""
    for i in range(n):
        rows.failure(f"2024-03-{day:02d}T09:00:{10 * i:02d}", user, host=wks, src="127.0.0.1")
        rows.add(
            f"2024-03-{day:02d}T09:00:{10 * i + 1:02d}",
            user=user,
            action="kerberos-preauth-failed",
            outcome="failure",
            host="dc1",
            src=ip,
        )


def test_an_attempt_logged_by_the_host_and_the_dc_counts_once(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    _typos(event_rows, 3, "alice", 4)
    event_rows.logon("2024-03-03T09:01:00", "alice", host="wks7", src="127.0.0.1", logon_type=2)
    ws = make_workspace(event_rows)
    # Eight failure events, four attempts: a person's typos, not a brute force or a compromise.
    assert run_detector(ws, "brute_force") == [] and run_detector(ws, "success_after_failures") == []
    found = run_detector(ws, "brute_force", min_failures=4)
    assert len(found) == 1 and found[0].reasons[0].startswith("4 failed logons for 'alice'")
    assert "(8 events: the host and the domain controller each log an attempt)" in found[0].reasons[0]


def test_local_failures_on_different_hosts_are_not_one_source(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    # Six people mistype at six workstations: each failure is 'from 127.0.0.1', none is a spray.
    for i in range(6):
        event_rows.failure(f"2024-03-03T09:0{i}:00", f"user{i}", host=f"wks{i}", src="127.0.0.1")
    ws = make_workspace(event_rows)
    assert run_detector(ws, "password_spray", min_accounts=2) == []


def test_a_proxy_carrying_everyones_typos_is_compared_with_its_own_days(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    proxy = "10.20.1.5"
    for day in range(3, 8):  # five days of webmail typos through the reverse proxy
        for i in range(8):
            event_rows.failure(
                f"2024-03-{day:02d}T10:{5 * i:02d}:00", f"user{day}{i}", host="exch1", src=proxy
            )
    for i in range(25):  # then a spray through the same proxy
        event_rows.failure(f"2024-03-08T02:{i:02d}:00", f"victim{i}", host="exch1", src=proxy)
    alerts = run_detector(make_workspace(event_rows), "password_spray")
    # The first three days have no settled habit yet; from then on eight a day is the proxy's normal.
    assert [a.first_seen.day for a in alerts] == [3, 4, 5, 8]
    spray = alerts[-1]
    assert "25 failed logons for 25 accounts from 10.20.1.5" in spray.reasons[0]
    assert (
        "on its 5 earlier days with failures (of the 28 before) it had at most 8 accounts failing a day"
        in (spray.reasons[1])
    )
    assert spray.score == pytest.approx(1 - 0.5 ** (17 / 10), abs=1e-3)


def test_a_service_failing_all_day_every_day_is_its_own_normal(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    for day in (3, 4, 5, 6):  # a stale password: a failure every five minutes for four hours
        for i in range(48):
            event_rows.failure(
                f"2024-03-{day:02d}T{8 + i // 12:02d}:{5 * (i % 12):02d}:00",
                "svc_report",
                host="sql1",
                src="10.0.0.9",
            )
    for i in range(200):  # and one day a burst far above it
        event_rows.failure(
            f"2024-03-07T20:{i // 4:02d}:{15 * (i % 4):02d}", "svc_report", host="sql1", src="10.0.0.9"
        )
    alerts = run_detector(make_workspace(event_rows), "brute_force")
    assert [a.first_seen.day for a in alerts] == [3, 4, 7]
    assert "it had at most 48 failed attempts a day" in alerts[-1].reasons[1]


def test_password_checks_through_an_odd_logon_process_are_found(generated_run: GeneratedRun) -> None:
    for attack_id in generated_run.ids("logon_theft"):
        found = generated_run.found_by(attack_id, "unusual_logon_process")
        assert len(found) == 1, attack_id
        a = found[0]
        assert a.techniques == ["T1110", "T1078"] and a.score == pytest.approx(
            1 - 0.6 * 0.7 * 0.8 * 0.9, abs=1e-4
        )
        assert any(r.startswith("then a success at") for r in a.reasons)
    # the kiosk application's own logon process is the terminal server's software
    assert generated_run.false("unusual_logon_process") == []


def test_a_logon_process_the_host_uses_for_others_is_its_software(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    kiosk = {"LogonProcessName": "KioskLgn", "LogonType": "2"}
    for k, user in enumerate(("ann", "ben", "cat")):
        event_rows.logon(f"2024-03-04T09:0{k}:00", user, host="ts01", logon_type=2, data=kiosk)
    assert run_detector(make_workspace(event_rows), "unusual_logon_process") == []
    alone = run_detector(make_workspace(event_rows), "unusual_logon_process", routine_accounts=5)
    assert [a.entities["user"] for a in alone] == ["ann", "ben", "cat"]


def test_names_that_do_not_exist_are_enumeration_not_spraying(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    for i in range(8):  # a scanner trying made-up names at the gateway: 4625 with 0xc0000064
        event_rows.failure(
            f"2024-03-04T02:00:{i:02d}", f"ghost{i}", host="rdgw", src="203.0.113.9", reason="0xc0000064"
        )
    ws = make_workspace(event_rows)
    assert run_detector(ws, "password_spray") == []
    assert [a.entities["source"] for a in run_detector(ws, "user_enumeration")] == ["203.0.113.9"]
