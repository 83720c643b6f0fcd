"""Pass-the-hash detector on recorded attacks (EVTX-to-MITRE-Attack, CC0)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.events.workspace import Workspace
from bluebench.schema import Alert
from bluebench.sources import discover
from generated_org import GeneratedRun

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "evtx"
PTH = (
    ROOT
    / "data"
    / "samples"
    / "evtx"
    / "TA0008-Lateral Movement"
    / "T1550-Use Alternate Authentication Material"
    / "ID4624-Mimikatz Pass the hash.evtx"
)
DONPAPI = "ID4624-Anonymous login with domain specified (DonPapi).evtx"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """Mimikatz sekurlsa::pth on FS03 and DonPAPI's NTLM network logons to fs03vuln."""
    folder = tmp_path_factory.mktemp("alt_auth")
    (folder / DONPAPI).write_bytes(gzip.decompress((DATA / (DONPAPI + ".gz")).read_bytes()))
    w = Workspace(folder / "ws")
    w.ingest(discover([str(PTH), str(folder / DONPAPI)]))
    yield w
    w.close()


def _alerts(ws: Workspace, **params: Any) -> list[Alert]:
    config = load_config()
    config["pass_the_hash"].update(params)
    return run_detectors(ws.con, build_detectors(config, ["pass_the_hash"]))


def _rows(ws: Workspace, ids: list[str]) -> list[tuple[str, str, str]]:
    """(code, process, file) of the evidence events; every id must be a stored event."""
    rows = ws.con.execute(
        """SELECT DISTINCT "event.id", "event.code", coalesce("process.name", ''), "log.file.path"
           FROM events WHERE list_contains(?, "event.id") ORDER BY 2, 3, 1""",
        [ids],
    ).fetchall()
    assert len(rows) == len(set(ids)) > 0
    return [(c, p, Path(f).name) for _, c, p, f in rows]


def test_new_credentials_logon_with_its_process(ws: Workspace) -> None:
    alerts = _alerts(ws)
    assert len(alerts) == 1  # one host's key-less NTLM logons stay below ntlm_min_hosts
    a = alerts[0]
    assert a.detector == "pass_the_hash" and a.techniques == ["T1550.002"]
    assert a.entities == {"user": "admmig", "host": "FS03.offsec.lan"}
    assert "logon type 9 (new credentials) through the seclogo logon process" in a.reasons[0]
    assert "logon id 0x266e045" in a.reasons[0]
    assert "the network identity it uses is not logged" in a.reasons[1]  # an older Windows
    # cmd.exe runs in the new session, and so does the console host it started (its subject's session)
    assert a.reasons[2] == "2 processes started in that logon session: cmd.exe, conhost.exe"
    assert _rows(ws, a.event_ids) == [
        ("4624", "svchost.exe", PTH.name),
        ("4688", "cmd.exe", PTH.name),
        ("4688", "conhost.exe", PTH.name),
    ]
    assert a.score == 0.79 and a.severity == "medium"


def test_keyless_ntlm_network_logons(ws: Workspace) -> None:
    alerts = [a for a in _alerts(ws, ntlm_min_hosts=1) if a.entities.get("source")]
    assert len(alerts) == 1
    a = alerts[0]
    assert a.entities == {"user": "admmig", "source": "10.23.123.11", "host": "fs03vuln.offsec.lan"}
    # ANONYMOUS LOGON's NTLM logon in the same file is not a hash.
    assert a.event_count == 14
    assert (
        "14 NTLM network logons as 'admmig' from 10.23.123.11 to 1 host (fs03vuln.offsec.lan)" in a.reasons[0]
    )
    assert "KeyLength 0 (NTLM V2)" in a.reasons[0]
    assert {c for c, _, _ in _rows(ws, a.event_ids)} == {"4624"}
    assert a.score == 0.35 and a.severity == "low"


def test_runas_netonly_with_ones_own_admin_account_is_not_reported(
    event_rows: Any, make_workspace: Any
) -> None:
    def netonly(ts: str, user: str, outbound: str) -> None:
        event_rows.add(
            ts,
            code="4624",
            action="logon",
            outcome="success",
            logon_type=9,
            host="wks1.corp.local",
            user=user,
            data={
                "SubjectUserName": user,
                "LogonProcessName": "seclogo",
                "AuthenticationPackageName": "Negotiate",
                "TargetOutboundUserName": outbound,
                "TargetOutboundDomainName": "CORP",
            },
        )

    netonly("2024-03-03T08:00:00", "alice", "adm-alice")
    netonly("2024-03-03T09:00:00", "bob", "adm-alice")
    event_rows.logon("2024-03-03T07:00:00", "adm-alice", host="srv1.corp.local")
    ws = make_workspace(event_rows)
    alerts = _alerts(ws)
    assert [a.entities["user"] for a in alerts] == ["bob"]
    assert "its network identity is CORP\\adm-alice, another person's account" in alerts[0].reasons[1]
    assert alerts[0].score == 0.79
    assert [a.entities["user"] for a in _alerts(ws, report_own_account=True)] == ["alice", "bob"]


def test_pass_the_hash_from_the_source_names_the_program_even_for_the_users_own_hash(
    generated_run: GeneratedRun,
) -> None:
    ids = generated_run.ids("pth_source")
    assert ids  # the first round uses the user's own hash: what an admin's runas /netonly looks like
    for attack_id in ids:
        found = generated_run.found_by(attack_id, "pass_the_hash")
        assert len(found) == 1, attack_id
        assert any("is the user's own account ('runas /netonly')" in r for r in found[0].reasons)
        assert any(r.startswith("made by sync.exe, not by runas.exe") for r in found[0].reasons)
    # administrators' own runas /netonly (no program in the session) stays quiet
    assert generated_run.false("pass_the_hash") == []


def test_malseclogon_is_a_process_whose_parent_is_lsass(generated_run: GeneratedRun) -> None:
    (attack_id,) = generated_run.ids("seclogon_abuse")
    found = generated_run.found_by(attack_id, "seclogon_abuse")
    assert len(found) == 1 and found[0].techniques == ["T1003.001", "T1134.004"]
    assert "with lsass.exe as its parent" in found[0].reasons[0]
    assert generated_run.of("seclogon_abuse") == found
