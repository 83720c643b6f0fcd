"""Remote execution and remote tasks: on the generated organisation, and on built events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from bluebench.detectors.remote_exec import channel_of
from bluebench.events.workspace import Workspace
from detector_runs import run_detector
from generated_org import GeneratedRun

if TYPE_CHECKING:
    from conftest import EventRows

MakeWorkspace = Callable[["EventRows"], Workspace]
WMIPRVSE = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"
NEW_DETECTORS = ("remote_execution", "remote_scheduled_task")


def test_every_remote_execution_instance_is_found_with_its_channel(generated_run: GeneratedRun) -> None:
    for attack, technique in (("wmi_exec", "T1047"), ("dcom_exec", "T1021.003"), ("winrm_exec", "T1021.006")):
        ids = generated_run.ids(attack)
        assert ids, attack
        for attack_id in ids:
            found = generated_run.found_by(attack_id, "remote_execution")
            assert found and all(technique in a.techniques for a in found), attack_id
            assert any("in that logon's session" in r for a in found for r in a.reasons)


def test_wmiexec_names_the_shell_and_the_output_read_back(generated_run: GeneratedRun) -> None:
    wmi = [a for i in generated_run.ids("wmi_exec") for a in generated_run.found_by(i, "remote_execution")]
    assert any("Impacket's wmiexec" in r for a in wmi for r in a.reasons)
    assert all(any(r.startswith("it ran cmd.exe") or "powershell.exe" in r for r in a.reasons) for a in wmi)
    # from a user's workstation with an administrator's account: not that administrator's own desk
    assert all(any("not the administrator's own workstation" in r for r in a.reasons) for a in wmi)


def test_remote_tasks_are_found_and_atexec_is_short_lived(generated_run: GeneratedRun) -> None:
    found = [
        a
        for i in generated_run.ids("remote_task")
        for a in generated_run.found_by(i, "remote_scheduled_task")
    ]
    assert len(found) == len(generated_run.ids("remote_task")) > 0
    assert all("T1053.005" in a.techniques and a.entities["source"] for a in found)
    assert any(any(r.startswith("deleted again") for r in a.reasons) for a in found)  # atexec's round


def test_management_tools_raise_nothing_after_their_first_run(generated_run: GeneratedRun) -> None:
    start = min(a.first_seen for a in generated_run.alerts).replace(hour=0, minute=0, second=0, microsecond=0)
    for detector in NEW_DETECTORS:
        late = [a for a in generated_run.false(detector) if a.first_seen >= start + timedelta(days=7)]
        assert late == [], detector


def test_channels_from_the_launcher() -> None:
    assert channel_of("C:\\Windows\\System32\\cmd.exe", WMIPRVSE, "cmd.exe /c x") == "wmi"
    assert (
        channel_of("C:\\Windows\\System32\\wsmprovhost.exe", "C:\\Windows\\System32\\svchost.exe", "")
        == "winrm"
    )
    assert (
        channel_of(
            "C:\\Windows\\System32\\mmc.exe", "C:\\Windows\\System32\\svchost.exe", "mmc.exe -Embedding"
        )
        == "dcom"
    )
    assert (
        channel_of(
            "C:\\x\\excel.exe", "C:\\Windows\\System32\\svchost.exe", "EXCEL.EXE /automation -Embedding"
        )
        == "dcom"
    )
    redirect = "cmd.exe /Q /c dir 1> \\\\127.0.0.1\\ADMIN$\\__1700000000.1 2>&1"
    assert channel_of("C:\\Windows\\System32\\cmd.exe", None, redirect) == "impacket"
    assert channel_of("C:\\Windows\\System32\\notepad.exe", "C:\\Windows\\explorer.exe", "") == "other"


def _remote_process(rows: EventRows, ts: str, host: str, user: str, src: str, lid: str, **proc: Any) -> str:
    """A network logon and a process 4688 puts in its session; returns the process's event id."""
    rows.logon(ts, user, host=host, src=src, logon_type=3, data={"TargetLogonId": lid})
    return rows.add(
        ts,
        action="process-created",
        code="4688",
        host=host,
        user=f"{host.upper()}$",
        data={
            "SubjectUserName": f"{host.upper()}$",
            "SubjectLogonId": "0x3e7",
            "TargetUserName": user,
            "TargetLogonId": lid,
            "NewProcessName": proc.get("image", "C:\\Windows\\System32\\cmd.exe"),
            "ParentProcessName": proc.get("parent", WMIPRVSE),
            "CommandLine": proc.get("cmd", "cmd.exe /c hostname"),
        },
        **{"process.command_line": proc.get("cmd", "cmd.exe /c hostname")},
    )


def test_an_admin_at_the_own_desk_is_routine_an_attacker_elsewhere_is_not(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    rows.add(
        "2024-03-04T08:00:00",
        action="kerberos-tgt-request",
        outcome="success",
        user="alice",
        host="dc1",
        src="10.0.0.5",
    )
    wsm = {
        "image": "C:\\Windows\\System32\\wsmprovhost.exe",
        "parent": "C:\\Windows\\System32\\svchost.exe",
        "cmd": "wsmprovhost.exe -Embedding",
    }
    # adm-alice from alice's own workstation: PowerShell remoting as everyday work
    _remote_process(rows, "2024-03-04T09:00:00", "srv1", "adm-alice", "10.0.0.5", "0x1001", **wsm)
    # adm-alice from bob's workstation: the same, but not alice's desk
    attack = _remote_process(rows, "2024-03-04T10:00:00", "srv2", "adm-alice", "10.0.0.66", "0x1002", **wsm)
    alerts = run_detector(make_workspace(rows), "remote_execution")
    assert [a.event_ids[-1] for a in alerts] == [attack]
    assert alerts[0].techniques == ["T1021.006"] and alerts[0].score == 0.4
    assert "neither 'adm-alice' nor its person got a Kerberos ticket at 10.0.0.66" in alerts[0].reasons[-1]


def test_dcom_and_impacket_output_are_never_an_admins_routine(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    rows.add(
        "2024-03-04T08:00:00",
        action="kerberos-tgt-request",
        outcome="success",
        user="alice",
        host="dc1",
        src="10.0.0.5",
    )
    mmc = {
        "image": "C:\\Windows\\System32\\mmc.exe",
        "parent": "C:\\Windows\\System32\\svchost.exe",
        "cmd": "mmc.exe -Embedding",
    }
    _remote_process(rows, "2024-03-04T09:00:00", "srv1", "adm-alice", "10.0.0.5", "0x2001", **mmc)
    redirect = {"cmd": "cmd.exe /Q /c whoami 1> \\\\127.0.0.1\\ADMIN$\\__1709550000.2 2>&1"}
    _remote_process(rows, "2024-03-04T09:30:00", "srv1", "adm-alice", "10.0.0.5", "0x2002", **redirect)
    alerts = run_detector(make_workspace(rows), "remote_execution", gap_minutes=10)
    assert [a.techniques for a in alerts] == [["T1021.003"], ["T1047"]]
    assert alerts[1].score == pytest.approx(1 - (1 - 0.5) * (1 - 0.35) * (1 - 0.3), abs=1e-4)
    assert any("Impacket's wmiexec and dcomexec" in r for r in alerts[1].reasons)


def test_a_management_push_to_many_hosts_is_one_habit(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    for k in range(6):
        _remote_process(
            rows,
            f"2024-03-04T14:0{k}:00",
            f"wks{k}",
            "svc_cm",
            "10.20.0.94",
            f"0x30{k}",
            cmd="cmd.exe /c ccmeval.exe",
        )
    assert run_detector(make_workspace(rows), "remote_execution") == []
    assert len(run_detector(make_workspace(rows), "remote_execution", fleet_hosts=7)) == 6


def test_sysmon_only_wmi_needs_a_shell(event_rows: EventRows, make_workspace: MakeWorkspace) -> None:
    rows = event_rows
    for k, image in enumerate(("powershell.exe", "notepad.exe")):
        rows.add(
            f"2024-03-04T10:0{k}:00",
            action="process-created",
            code="1",
            host="fs03",
            user="admmig",
            data={
                "Image": f"C:\\Windows\\System32\\{image}",
                "ParentImage": WMIPRVSE,
                "LogonId": f"0x9{k}",
                "User": "OFFSEC\\admmig",
            },
        )
    alerts = run_detector(make_workspace(rows), "remote_execution")
    assert len(alerts) == 1 and alerts[0].score == pytest.approx(1 - (1 - 0.35) * (1 - 0.35))  # 0.5 less 0.15
    assert "(its network logon is not in the data)" in alerts[0].reasons[0]


def test_a_task_made_in_a_network_session_and_deleted_at_once(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    rows.logon(
        "2024-03-04T10:00:00",
        "admmig",
        host="fs01",
        src="10.23.123.11",
        logon_type=3,
        data={"TargetLogonId": "0x5a4"},
    )
    task = {"TaskName": "\\bouWFQYO", "SubjectLogonId": "0x5a4", "SubjectUserName": "admmig"}
    content = "<Task><Actions><Exec><Command>cmd.exe</Command><Arguments>/C whoami &gt; C:\\Windows\\Temp\\x.tmp</Arguments></Exec></Actions></Task>"
    made = rows.add(
        "2024-03-04T10:00:01", code="4698", host="fs01", user="admmig", data={**task, "TaskContent": content}
    )
    gone = rows.add("2024-03-04T10:00:04", code="4699", host="fs01", user="admmig", data=task)
    alerts = run_detector(make_workspace(rows), "remote_scheduled_task")
    assert len(alerts) == 1 and {made, gone} <= set(alerts[0].event_ids)
    a = alerts[0]
    assert a.entities == {"user": "admmig", "host": "fs01", "source": "10.23.123.11"}
    assert a.reasons[2] == "deleted again 3 s later: a task borrowed to run one command (atexec, smbexec)"
    assert a.techniques == ["T1053.005", "T1021"] and a.score == pytest.approx(1 - 0.5 * 0.6 * 0.7, abs=1e-4)


def test_a_weekly_deployment_task_is_routine_from_its_first_night(
    event_rows: EventRows, make_workspace: MakeWorkspace
) -> None:
    rows = event_rows
    content = (
        "<Task><Actions><Exec><Command>C:\\Program Files\\Agent\\agent.exe</Command></Exec></Actions></Task>"
    )
    for day, lid in (("2024-03-04", "0x71"), ("2024-03-11", "0x72")):
        rows.logon(
            f"{day}T22:00:00",
            "svc_deploy",
            host="app01",
            src="10.20.0.94",
            logon_type=3,
            data={"TargetLogonId": lid},
        )
        rows.add(
            f"{day}T22:00:02",
            code="4698",
            host="app01",
            user="svc_deploy",
            data={
                "TaskName": "\\Agent\\Install",
                "SubjectLogonId": lid,
                "SubjectUserName": "svc_deploy",
                "TaskContent": content,
            },
        )
    assert run_detector(make_workspace(rows), "remote_scheduled_task") == []
    # the same task made once, with no other night in the data, is reported
    once = type(event_rows)()
    once.logon(
        "2024-03-04T22:00:00",
        "svc_deploy",
        host="app01",
        src="10.20.0.94",
        logon_type=3,
        data={"TargetLogonId": "0x71"},
    )
    once.add(
        "2024-03-04T22:00:02",
        code="4698",
        host="app01",
        user="svc_deploy",
        data={
            "TaskName": "\\Agent\\Install",
            "SubjectLogonId": "0x71",
            "SubjectUserName": "svc_deploy",
            "TaskContent": content,
        },
    )
    assert len(run_detector(make_workspace(once), "remote_scheduled_task")) == 1
