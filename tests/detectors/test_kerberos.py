"""Kerberos ticket detectors on recorded attacks (EVTX-to-MITRE-Attack, CC0)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bluebench.events.workspace import Workspace
from bluebench.schema import Alert
from bluebench.sources import discover
from detector_runs import run_detector, unpack

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "evtx"
SAMPLES = (
    ROOT / "data" / "samples" / "evtx" / "TA0006-Credential Access" / "T1558-Steal or Forge Kerberos Tickets"
)
FILES = (
    "ID4769-Golden ticket issued.evtx",
    "ID4768-4769-Kerberos host ticket without a trailing $.evtx",
    "ID4624-Success login with Golden ticket.evtx",
)
KERBEROAST = "ID4769-Kerberoast ticket with low encryption.evtx"
ASREP = "ID4768-Kerberos AS-REP Roasting.evtx"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The recorded Kerberos attacks in one workspace (gzipped test files unpacked first)."""
    folder = tmp_path_factory.mktemp("kerberos")
    paths = []
    paths += unpack(folder, FILES, DATA)
    w = Workspace(folder / "ws")
    w.ingest(discover([*paths, str(SAMPLES / KERBEROAST), str(SAMPLES / ASREP)]))
    yield w
    w.close()


def _alerts(ws: Workspace, detector: str, **params: Any) -> list[Alert]:
    return run_detector(ws, detector, **params)


def _files(ws: Workspace, alert: Alert) -> set[str]:
    """The files of an alert's evidence; every evidence id must be a stored event."""
    found = ws.con.execute(
        'SELECT count(DISTINCT "event.id") FROM events WHERE list_contains(?, "event.id")', [alert.event_ids]
    ).fetchall()[0][0]
    assert found == len(set(alert.event_ids)) > 0
    rows = ws.con.execute(
        'SELECT DISTINCT "log.file.path" FROM events WHERE list_contains(?, "event.id")', [alert.event_ids]
    ).fetchall()
    return {Path(p).name for (p,) in rows}


def test_kerberoasting_names_the_rc4_ticket_and_service(ws: Workspace) -> None:
    alerts = _alerts(ws, "kerberoasting")
    assert len(alerts) == 1
    a = alerts[0]
    assert a.techniques == ["T1558.003"] and a.detector == "kerberoasting"
    assert a.entities == {"user": "admmig", "source": "10.23.23.9", "host": "rootdc1.offsec.lan"}
    # One RC4 ticket among the file's ten 4769: the AES tickets of computer accounts are not evidence.
    assert a.event_count == 1 and _files(ws, a) == {KERBEROAST}
    assert "1 service ticket encrypted with RC4-HMAC (0x17)" in a.reasons[0]
    assert "Svc-SQL-DB01" in a.reasons[0]
    assert a.score == 0.5


def test_more_services_from_one_account_raise_the_score(event_rows: Any, make_workspace: Any) -> None:
    for i, svc in enumerate(("svc-sql", "svc-web", "svc-backup", "svc-app")):
        event_rows.add(
            f"2024-03-03T08:00:{i:02d}",
            code="4769",
            outcome="success",
            user="eve@CORP.LOCAL",
            src="10.0.0.66",
            host="dc1.corp.local",
            data={"TicketEncryptionType": "0x17"},
            **{"service.name": svc},
        )
    # AES tickets and tickets for computer accounts or krbtgt are not Kerberoasting.
    event_rows.add(
        "2024-03-03T08:01:00",
        code="4769",
        outcome="success",
        user="bob@CORP.LOCAL",
        host="dc1.corp.local",
        data={"TicketEncryptionType": "0x12"},
        **{"service.name": "svc-sql"},
    )
    event_rows.add(
        "2024-03-03T08:01:01",
        code="4769",
        outcome="success",
        user="bob@CORP.LOCAL",
        host="dc1.corp.local",
        data={"TicketEncryptionType": "0x17"},
        **{"service.name": "WS1$"},
    )
    event_rows.add(
        "2024-03-03T08:01:02",
        code="4769",
        outcome="success",
        user="bob@CORP.LOCAL",
        host="dc1.corp.local",
        data={"TicketEncryptionType": "0x17"},
        **{"service.name": "krbtgt"},
    )
    alerts = _alerts(make_workspace(event_rows), "kerberoasting")
    assert len(alerts) == 1
    a = alerts[0]
    assert a.entities["user"] == "eve" and a.event_count == 4
    assert "4 user service accounts: svc-app, svc-backup, svc-sql, svc-web in 3 s" in a.reasons[0]
    assert a.score == 0.75 and "4 different services from one account raise the score" in a.reasons[2]


def test_asrep_roasting_names_account_source_and_encryption(ws: Workspace) -> None:
    alerts = _alerts(ws, "asrep_roasting")
    assert len(alerts) == 1
    a = alerts[0]
    assert a.techniques == ["T1558.004"]
    assert a.entities == {"user": "admin-test", "source": "10.23.23.9", "host": "rootdc1.offsec.lan"}
    assert "1 TGT issued without pre-authentication (PreAuthType 0) to 10.23.23.9" in a.reasons[0]
    assert "RC4-HMAC (0x17)" in a.reasons[2]
    assert _files(ws, a) == {ASREP} and a.score == 0.725


def test_forged_and_spoofed_tickets(ws: Workspace) -> None:
    alerts = {a.entities["user"]: a for a in _alerts(ws, "kerberos_ticket_anomaly")}
    assert set(alerts) == {"gold-non-existing-user", "rootdc1", "not_existing_user"}

    golden = alerts["gold-non-existing-user"]
    assert golden.techniques == ["T1558.001"] and golden.event_count == 8
    assert "realm 'offsec.lan' in lower case" in golden.reasons[0]
    assert _files(ws, golden) == {"ID4769-Golden ticket issued.evtx"}

    nopac = alerts["rootdc1"]
    assert nopac.techniques == ["T1558"] and nopac.event_count == 2
    assert "without its trailing $ (4768 rootdc1, 4769 rootdc1@OFFSEC.LAN)" in nopac.reasons[0]
    assert nopac.score == 0.85 and nopac.severity == "high"

    rid500 = alerts["not_existing_user"]
    assert rid500.entities["host"] == "fs02.offsec.lan" and rid500.event_count == 1
    assert "S-1-5-21-4230534742-2542757381-3142984815-500" in rid500.reasons[0]
    assert "renamed Administrator" in rid500.reasons[0]
    assert _files(ws, rid500) == {"ID4624-Success login with Golden ticket.evtx"}


def _ticket(rows: Any, ts: str, user: str, service: str, enc: str = "0x17", src: str = "10.0.0.79") -> None:
    rows.add(
        ts,
        code="4769",
        outcome="success",
        user=user,
        src=src,
        host="dc1.corp.local",
        data={"TicketEncryptionType": enc},
        **{"service.name": service},
    )


def test_a_legacy_client_on_many_days_is_routine(event_rows: Any, make_workspace: Any) -> None:
    for day in (3, 4, 5):
        # An old client gets RC4 tickets for its one service every day, from a new VPN address ...
        _ticket(
            event_rows, f"2024-03-0{day}T08:00:00", "helen@CORP.LOCAL", "svc-legacy", src=f"10.200.0.{day}"
        )
        # ... and a Unix host gets AES TGTs without pre-authentication for its service account.
        event_rows.add(
            f"2024-03-0{day}T09:00:00",
            code="4768",
            outcome="success",
            user="svc_unix",
            src="10.30.0.12",
            host="dc1.corp.local",
            data={"PreAuthType": "0", "TicketEncryptionType": "0x12"},
        )
    ws = make_workspace(event_rows)
    # Only the first day is news: after it the service is one helen's client always asks RC4 for.
    first = _alerts(ws, "kerberoasting")
    assert [a.first_seen.day for a in first] == [3] and _alerts(ws, "asrep_roasting") == []
    assert len(_alerts(ws, "asrep_roasting", routine_days=4)) == 3


def test_a_legacy_client_asking_rc4_for_computers_needs_many_new_services(
    event_rows: Any, make_workspace: Any
) -> None:
    # RC4 even for a file server's computer account: how a legacy client works, not a downgrade.
    _ticket(event_rows, "2024-03-03T08:00:00", "helen@CORP.LOCAL", "FILE01$")
    _ticket(event_rows, "2024-03-03T08:00:05", "helen@CORP.LOCAL", "svc-legacy")
    _ticket(event_rows, "2024-03-03T08:00:09", "helen@CORP.LOCAL", "svc-web")
    # Roasting from the same client: many services at once still counts.
    for i, svc in enumerate(("svc-a", "svc-b", "svc-c", "svc-d")):
        _ticket(event_rows, f"2024-03-04T15:00:0{i}", "helen@CORP.LOCAL", svc)
    alerts = _alerts(make_workspace(event_rows), "kerberoasting")
    assert [a.first_seen.day for a in alerts] == [4]
    assert any(
        "as a legacy client does, so only many new services at once count: 4" in x for x in alerts[0].reasons
    )
    assert len(_alerts(make_workspace(event_rows), "kerberoasting", legacy_min_services=2)) == 2
