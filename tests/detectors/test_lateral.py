"""Lateral movement detectors on recorded attacks (EVTX-to-MITRE-Attack, CC0)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bluebench.events.workspace import Workspace
from bluebench.schema import Alert
from bluebench.sources import discover
from detector_runs import evidence_codes, run_detector, unpack
from generated_org import GeneratedRun

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "evtx"
PSEXEC = (
    ROOT
    / "data"
    / "samples"
    / "evtx"
    / "TA0008-Lateral Movement"
    / "T1021.002-SMB Windows Admin Shares"
    / "ID4688,4697,5140-5145 PSexec remote execution + admin share.evtx"
)
NET_USE = "ID4688-4648 Lateral movement with net use.evtx"
NEW_SHARE = "ID5142- New file share created.evtx"
SMBEXEC = "ID7045-4697-SMBexec service registration.evtx"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """PsExec to srvdefender01, net use to fs03vuln, a hidden share on fs02, smbexec on rootdc1."""
    folder = tmp_path_factory.mktemp("lateral")
    paths = [str(PSEXEC)]
    paths += unpack(folder, (NET_USE, NEW_SHARE, SMBEXEC), DATA)
    w = Workspace(folder / "ws")
    w.ingest(discover(paths))
    yield w
    w.close()


def _alerts(ws: Workspace, detector: str, **params: Any) -> list[Alert]:
    return run_detector(ws, detector, **params)


def test_psexec_over_admin_share(ws: Workspace) -> None:
    alerts = {a.entities["host"]: a for a in _alerts(ws, "admin_share_access")}
    a = alerts["srvdefender01.offsec.lan"]
    assert a.entities == {"user": "admmig", "host": "srvdefender01.offsec.lan", "source": "10.23.42.22"}
    assert a.techniques == ["T1021.002", "T1569.002"]
    assert (
        "opened the administrative share ADMIN$ on srvdefender01.offsec.lan from 10.23.42.22" in a.reasons[0]
    )
    assert a.reasons[1] == "it wrote executable files there: PSEXESVC.exe, cmd.exe"
    assert "PsExec's service binary or pipes were used" in a.reasons[2]
    assert "the service PSEXESVC was installed on srvdefender01.offsec.lan right after" in a.reasons[3]
    # ADMIN$ and IPC$ pipe accesses and the service install; the IPC$ connect and logons are not evidence.
    assert evidence_codes(ws, a) == {"4697": 1, "5140": 1, "5145": 9}
    assert a.score == 0.8614


def test_net_use_to_an_admin_share_with_other_credentials(ws: Workspace) -> None:
    alerts = {a.entities["host"]: a for a in _alerts(ws, "admin_share_access")}
    a = alerts["FS03.offsec.lan"]
    assert a.entities == {"user": "admmig", "host": "FS03.offsec.lan"}
    assert "that uses \\\\fs03vuln\\C$: an administrative share of another host" in a.reasons[0]
    assert a.reasons[1] == "the command passes other credentials (/user:)"
    assert evidence_codes(ws, a) == {"4688": 1} and a.score == 0.65

    explicit = _alerts(ws, "explicit_credentials")
    assert len(explicit) == 1
    e = explicit[0]
    assert e.techniques == ["T1021.002"] and evidence_codes(ws, e) == {"4648": 1}
    assert e.entities == {"user": "admmig", "host": "FS03.offsec.lan", "target": "fs03vuln.offsec.lan"}
    assert (
        "explicit credentials of hack1 to 1 remote host: fs03vuln.offsec.lan (cifs/fs03vuln.offsec.lan)"
        in (e.reasons[0])
    )


def test_own_credentials_count_only_against_many_hosts(event_rows: Any, make_workspace: Any) -> None:
    for i, server in enumerate(("srv1.corp.local", "srv2.corp.local", "srv3.corp.local", "localhost")):
        event_rows.add(
            f"2024-03-03T08:0{i}:00",
            code="4648",
            host="ws1.corp.local",
            user="bob",
            data={"TargetServerName": server, "TargetInfo": f"cifs/{server}"},
            **{"user.target.name": "bob"},
        )
    ws = make_workspace(event_rows)
    alerts = _alerts(ws, "explicit_credentials")
    assert len(alerts) == 1 and alerts[0].event_count == 3  # localhost is not another host
    assert "to 3 remote hosts: srv1.corp.local, srv2.corp.local, srv3.corp.local" in alerts[0].reasons[0]
    assert _alerts(ws, "explicit_credentials", min_hosts=4) == []


def test_remote_execution_services(ws: Workspace) -> None:
    alerts = {a.entities["service"]: a for a in _alerts(ws, "service_install")}
    assert set(alerts) == {"PSEXESVC", "BTOBTO"}
    psexec = alerts["PSEXESVC"]
    assert psexec.techniques == ["T1543.003", "T1569.002", "T1021.002"] and psexec.severity == "high"
    assert "admmig installed it right after a network logon from 10.23.42.22" in psexec.reasons[2]
    assert evidence_codes(ws, psexec) == {"4697": 1}
    smbexec = alerts["BTOBTO"]
    assert evidence_codes(ws, smbexec) == {"4697": 1, "7045": 1}
    assert "runs a shell command (cmd /c); uses a network (UNC) path" in smbexec.reasons[2]
    assert smbexec.score > psexec.score


def test_ordinary_service_installs_are_not_reported(event_rows: Any, make_workspace: Any) -> None:
    event_rows.add(
        "2024-03-03T08:00:00",
        code="7045",
        action="service-installed",
        host="ws1",
        data={"ImagePath": '"C:\\Program Files\\Vendor\\agent.exe" -service', "AccountName": "LocalSystem"},
        **{"service.name": "VendorAgent"},
    )
    assert _alerts(make_workspace(event_rows), "service_install") == []


def test_hidden_share_created(ws: Workspace) -> None:
    alerts = _alerts(ws, "share_created")
    assert len(alerts) == 1
    a = alerts[0]
    assert a.entities == {"user": "admmig", "host": "fs02.offsec.lan", "share": "hidden-share$"}
    assert a.techniques == ["T1021.002"] and evidence_codes(ws, a) == {"5142": 1}
    assert "created the share hidden-share$ on fs02.offsec.lan for C:\\TOOLS\\hidden-share$" in a.reasons[0]
    assert a.reasons[1] == "hidden-share$ ends with $, so it is hidden from share browsing"
    assert "temp/tools folder: C:\\TOOLS\\hidden-share$" in a.reasons[2]


def test_a_routine_admin_share_habit_is_not_reported(event_rows: Any, make_workspace: Any) -> None:
    # A backup account opens C$ on the file server every night; a new admin opens C$ once.
    for day in (3, 4, 5):
        event_rows.add(
            f"2024-03-0{day}T01:00:00",
            code="5140",
            host="fs1.corp.local",
            user="svc_backup",
            src="10.20.0.9",
            data={"ShareName": "\\\\*\\C$"},
        )
    event_rows.add(
        "2024-03-05T14:00:00",
        code="5140",
        host="fs1.corp.local",
        user="eve",
        src="10.10.0.66",
        data={"ShareName": "\\\\*\\C$"},
    )
    ws = make_workspace(event_rows)
    assert [a.entities["user"] for a in _alerts(ws, "admin_share_access")] == ["eve"]
    assert len(_alerts(ws, "admin_share_access", routine_days=4)) == 4


def test_one_process_presenting_many_accounts_credentials_is_spraying(generated_run: GeneratedRun) -> None:
    for attack_id in generated_run.ids("explicit_spray"):
        found = generated_run.found_by(attack_id, "explicit_credentials")
        assert len(found) == 1, attack_id
        a = found[0]
        assert a.techniques == ["T1110.003", "T1078"] and a.entities["process"] == "sync.exe"
        assert "DeepBlueCLI's check" in a.reasons[1]
        assert len(a.event_ids) == len(generated_run.instances[attack_id])
    # admins' runas with their own admin account, to one server at a time: not spraying
    assert generated_run.false("explicit_credentials") == []
