"""RPC named pipes and Zerologon: on the generated organisation, and on built events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import pytest

from bluebench.events.workspace import Workspace
from detector_runs import run_detector
from generated_org import GeneratedRun

if TYPE_CHECKING:
    from conftest import EventRows

MakeWorkspace = Callable[["EventRows"], Workspace]


def _pipe(rows: EventRows, ts: str | datetime, user: str, src: str, pipe: str, host: str = "dc1") -> str:
    sid = "S-1-5-7" if user == "ANONYMOUS LOGON" else "S-1-5-21-1-1104"
    return rows.add(
        ts,
        code="5145",
        host=host,
        user=user,
        src=src,
        data={"ShareName": "\\\\*\\IPC$", "RelativeTargetName": pipe, "SubjectUserSid": sid},
    )


def test_coercion_and_remote_dumps_are_found_with_their_technique(generated_run: GeneratedRun) -> None:
    for attack, techniques in (("coercion", {"T1187"}), ("rpc_secrets", {"T1003.002", "T1555"})):
        for attack_id in generated_run.ids(attack):
            found = generated_run.found_by(attack_id, "rpc_named_pipes")
            assert found and techniques & {t for a in found for t in a.techniques}, attack_id


def test_print_clients_and_monitoring_raise_nothing(generated_run: GeneratedRun) -> None:
    # the day's other print clients and the monitoring server's push make both pipes ordinary
    assert generated_run.false("rpc_named_pipes") == []


def test_zerologon_names_the_anonymous_reset_the_logon_as_the_dc_and_the_restore(
    generated_run: GeneratedRun,
) -> None:
    for attack_id in generated_run.ids("zerologon"):
        found = generated_run.found_by(attack_id, "zerologon")
        assert len(found) == 1, attack_id
        a = found[0]
        assert a.techniques == ["T1210", "T1003.006"] and a.severity == "critical"
        assert any("is DC01.corp.example.com's own account" in r for r in a.reasons)
        assert any(r.startswith("then 'DC01$' logged on over the network with NTLM") for r in a.reasons)
        assert any(r.startswith("its password was set again by adm-") for r in a.reasons)
    assert generated_run.false("zerologon") == []


def test_petitpotam_as_anonymous_weighs_more_than_a_users_lookup(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    _pipe(rows, "2024-03-04T10:00:00", "alice", "10.0.0.5", "lsarpc")  # a user's SID lookup: ordinary
    coerce = [
        _pipe(rows, "2024-03-04T11:00:00", "ANONYMOUS LOGON", "10.0.0.66", "lsarpc"),
        _pipe(rows, "2024-03-04T11:00:01", "ANONYMOUS LOGON", "10.0.0.66", "efsrpc"),
    ]
    alerts = run_detector(make_workspace(rows), "rpc_named_pipes")
    assert len(alerts) == 1 and alerts[0].event_ids == coerce
    a = alerts[0]
    assert a.techniques == ["T1187"] and a.score == pytest.approx(1 - 0.3 * 0.25)
    assert any("ANONYMOUS LOGON: no credentials at all" in r for r in a.reasons)


def test_secretsdump_pipes_together_and_a_host_that_serves_a_pipe(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    for k, pipe in enumerate(("svcctl", "winreg", "samr")):
        _pipe(rows, f"2024-03-04T10:00:0{k}", "adm-bob", "10.0.0.66", pipe, host="srv1")
    for k in range(4):  # four print clients on the print server
        _pipe(rows, f"2024-03-04T09:{k:02d}:00", f"user{k}", f"10.0.1.{k}", "spoolss", host="print1")
    alerts = run_detector(make_workspace(rows), "rpc_named_pipes")
    assert [a.entities["host"] for a in alerts] == ["srv1"]
    assert {"T1012", "T1003.002", "T1003.004"} <= set(alerts[0].techniques)
    assert any("how secretsdump reads the SAM and LSA secrets" in r for r in alerts[0].reasons)
    # each client alone, with no other clients around, would be news
    assert len(run_detector(make_workspace(rows), "rpc_named_pipes", served_accounts=10)) == 5


def test_an_account_opening_a_pipe_it_opened_before_is_routine(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    for d in range(3):  # a monitoring account reading one server's registry every morning
        _pipe(rows, datetime(2024, 3, 4 + d, 9), "svc_mon", "10.20.0.96", "winreg", host="srv1")
    alerts = run_detector(make_workspace(rows), "rpc_named_pipes")
    assert [a.first_seen.day for a in alerts] == [4]
    # with no memory every morning is news again
    assert len(run_detector(make_workspace(rows), "rpc_named_pipes", lookback_days=0)) == 3


def test_burst_context_counts_what_its_definition_says(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    """The joins that replaced a subquery per burst agree with the definition, opens by opens."""
    import random
    from datetime import timedelta

    from bluebench.detectors.rpc import PIPE_BURSTS_SQL

    rng = random.Random(7)
    opens = []
    for _ in range(300):
        ts = datetime(2024, 3, 1) + timedelta(minutes=rng.randrange(0, 10 * 24 * 60, 7))
        user, src = rng.choice(["ann", "bob", "cy", "dee", "ed"]), rng.choice(["10.0.0.1", "10.0.0.2"])
        host, pipe = rng.choice(["dc1", "srv1", "srv2"]), rng.choice(["samr", "lsarpc", "winreg", "spoolss"])
        _pipe(event_rows, ts, user, src, pipe, host=host)
        opens.append((ts, user, src, pipe, host))
    ws = make_workspace(event_rows)
    for lookback, hours in ((28, 12), (2, 30), (0, 1)):
        cur = ws.con.execute(PIPE_BURSTS_SQL, [10, lookback, hours, lookback, hours, hours])
        cols = [d[0] for d in cur.description]
        bursts = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
        assert len(bursts) > 50
        for b in bursts:
            since = datetime.combine(b["first"].date() - timedelta(days=lookback), datetime.min.time())
            until = b["first"] + timedelta(hours=hours)
            served = {
                p: len({u for ts, u, _, q, h in opens if (h, q) == (b["hkey"], p) and u != b["account"]
                        and since <= ts < until})
                for p in b["pipes"]
            }  # fmt: skip
            assert dict(b["served"] or {}) == {p: n for p, n in served.items() if n}
            known = {q for ts, u, s, q, h in opens if (h, u, s) == (b["hkey"], b["account"], b["src"])
                     and since <= ts < b["first"]}  # fmt: skip
            assert set(b["known"] or []) == known
            window = (b["first"] - timedelta(hours=hours), until)
            fleet: dict[str, set[str]] = {}
            for ts, u, s, q, h in opens:
                if (u, s) == (b["account"], b["src"]) and window[0] <= ts <= window[1]:
                    fleet.setdefault(q, set()).add(h)
            assert dict(b["fleet"] or {}) == {q: len(hs) for q, hs in fleet.items()}
