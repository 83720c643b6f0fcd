"""Account creation, group and account-change detectors on recorded attacks.

The EVTX files are from EVTX-to-MITRE-Attack (CC0); see tests/data/evtx/README.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bluebench.events.workspace import Workspace
from bluebench.schema import Alert
from bluebench.sources import discover
from detector_runs import evidence_codes, run_detector, unpack

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "evtx"
SAMPLES = ROOT / "data" / "samples" / "evtx"
FILES = (
    "ID4688-User creation via commandline.evtx",
    "ID4720-4726 Fast created-deleted user.evtx",
    "ID4722-Guest account activated.evtx",
    "ID33205-SQL Server local user created.evtx",
    "ID4742-4743-Fast created & deleted computer account.evtx",
    "ID4728-4756-Member added to sensitive domain groups.evtx",
    "ID4728-Member adding to a group by the same account.evtx",
    "ID33205-SQL Server member added to server role.evtx",
    "ID4738-Do not require Kerberos preauthentication.evtx",
    "ID4742-SPN set on computer account (DCshadow).evtx",
    "ID5136-Computer account set for RBCD delegation.evtx",
    "ID4724-5145-password reset with setNTLM (Mimikatz).evtx",
    "ID4781-Computer account renamed without a trailing $ (CVE-2021-42278).evtx",
)
SAMPLE_FILES = (
    SAMPLES
    / "TA0003-Persistence"
    / "T1098.xxx-Account manipulation"
    / "ID4732-User added to local admin groups.evtx",
    SAMPLES / "TA0003-Persistence" / "T1136-Create account" / "ID4720-Local user created.evtx",
)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The recorded account attacks in one workspace (gzipped test files unpacked first)."""
    folder = tmp_path_factory.mktemp("accounts")
    paths = [str(p) for p in SAMPLE_FILES]
    paths += unpack(folder, FILES, DATA)
    w = Workspace(folder / "ws")
    w.ingest(discover(paths))
    yield w
    w.close()


def _alerts(ws: Workspace, detector: str, **params: Any) -> list[Alert]:
    return run_detector(ws, detector, **params)


def _by_target(ws: Workspace, detector: str) -> dict[str, Alert]:
    alerts = _alerts(ws, detector)
    by = {a.entities["target"]: a for a in alerts}
    assert len(by) == len(alerts)
    return by


def test_account_created_on_the_command_line(ws: Workspace) -> None:
    a = _by_target(ws, "account_created")["toto3"]
    assert a.entities == {"host": "FS03.offsec.lan", "target": "toto3", "user": "admmig"}
    assert a.techniques == ["T1136.001"]
    assert "new account 'toto3' on FS03.offsec.lan by admmig" in a.reasons[0]
    assert "created on the command line (net user /add or useradd)" in a.reasons[0]
    # net.exe and net1.exe, the 4720 and the 4722 that enabled it; the password is never repeated.
    assert evidence_codes(ws, a) == {"4688": 2, "4720": 1, "4722": 1}
    assert not any("kjh" in r for r in a.reasons)


def test_quickly_deleted_and_hidden_accounts(ws: Workspace) -> None:
    alerts = _by_target(ws, "account_created")
    kriss = alerts["admin-kriss"]
    assert kriss.techniques == ["T1136.002"] and evidence_codes(ws, kriss) == {"4720": 1, "4726": 1}
    assert "the name 'admin-kriss' passes for an administrator or service account" in kriss.reasons
    assert "'admin-kriss' was deleted 78 s after it was created" in kriss.reasons[2]
    hidden = alerts["HIDDEN-PC$"]
    assert evidence_codes(ws, hidden) == {"4742": 1, "4743": 1}
    assert "'HIDDEN-PC$' was deleted 2 s after it was given a password" in hidden.reasons[1]
    assert kriss.score > alerts["hacking-local-acct"].score == 0.35


def test_builtin_account_enabled_and_sql_login_created(ws: Workspace) -> None:
    alerts = _by_target(ws, "account_created")
    guest = alerts["Guest"]
    assert (
        guest.techniques == ["T1078.001"] and guest.score == 0.7 and evidence_codes(ws, guest) == {"4722": 1}
    )
    assert "the built-in account 'Guest' was switched on on jump01.offsec.lan by admmig" in guest.reasons[0]
    sql = alerts["test-sql"]
    assert sql.entities == {"host": "mssql01.offsec.lan", "target": "test-sql", "user": "admmig"}
    assert sql.reasons == [
        "new SQL Server login 'test-sql' on mssql01.offsec.lan by admmig (logged as created)",
        "the login was created with CHECK_POLICY=OFF: no password policy applies",
        # admmig manages accounts in the samples' other recordings: said, and the weak policy still counts
        "admmig manages accounts routinely (on earlier days too)",
    ]
    assert evidence_codes(ws, sql) == {"33205": 1}


def test_privileged_group_membership(ws: Workspace) -> None:
    alerts = _by_target(ws, "group_membership_change")
    honey = alerts["honey-pot1"]
    assert honey.techniques == ["T1098.007"] and honey.severity == "high"
    assert (
        "'lambda-user' added 'honey-pot1' to 4 groups on rootdc1.offsec.lan: Domain Admins, Enterprise Admins"
        in (honey.reasons[0])
    )
    assert evidence_codes(ws, honey) == {"4728": 1, "4756": 3}
    # A new local account put into Administrators and Backup Operators, named from its 4720.
    local = next(a for t, a in alerts.items() if t.startswith("hacking-local-acct"))
    assert "to 2 groups on jump01.offsec.lan: Administrators, Backup Operators in 106 s" in local.reasons[0]
    assert evidence_codes(ws, local) == {"4732": 4}  # two files log the same additions
    sysadmin = alerts["test-sql"]
    assert sysadmin.entities["group"] == "sysadmin" and sysadmin.score == 0.8


def test_self_addition_and_default_groups(ws: Workspace) -> None:
    alerts = _by_target(ws, "group_membership_change")
    me = alerts["lambda-user"]
    assert "'lambda-user' added itself: an account granting its own rights" in me.reasons
    assert me.score > 0.25
    # toto3's automatic membership of 'None' and 'Users' is not reported.
    assert not any("toto3" in t or t.endswith("-1004") for t in alerts)


def test_account_settings_that_weaken_authentication(ws: Workspace) -> None:
    alerts = _by_target(ws, "account_manipulation")
    preauth = alerts["hack1"]
    assert preauth.reasons == [
        "'do not require Kerberos pre-authentication' (AS-REP roastable) was switched on for 'hack1' by admmig"
    ]
    assert preauth.score == 0.75 and evidence_codes(ws, preauth) == {"4738": 1}
    dcshadow = alerts["JUMP01$"]
    assert dcshadow.techniques == ["T1098", "T1207"] and dcshadow.severity == "high"
    assert "E3514235-4B06-11D1-AB04-00C04FC2DCD2" in dcshadow.reasons[0]
    rbcd = alerts["TARGET01"]
    assert "msDS-AllowedToActOnBehalfOfOtherIdentity of computer 'TARGET01'" in rbcd.reasons[0]
    assert evidence_codes(ws, rbcd) == {"5136": 1}


def test_password_reset_over_samr_and_computer_rename(ws: Workspace) -> None:
    alerts = _by_target(ws, "account_manipulation")
    reset = alerts["hacker2"]
    assert reset.reasons[0] == "the password of 'hacker2' was reset by admmig"
    assert "opened the SAMR pipe from 10.23.23.9" in reset.reasons[1]
    assert evidence_codes(ws, reset) == {"4724": 1, "5145": 1}
    rename = alerts["rootdc1"]
    assert (
        "computer account 'compnay-88$' was renamed to 'rootdc1' by hack1, without its trailing $"
        in (rename.reasons[0])
    )
    assert rename.score == 0.9 and evidence_codes(ws, rename) == {"4781": 1}
    # a computer password set by ANONYMOUS LOGON is the zerologon detector's, with its context
    assert "HIDDEN-PC$" not in alerts
    (zerologon,) = run_detector(ws, "zerologon")
    assert zerologon.entities["target"] == "HIDDEN-PC$" and zerologon.techniques == ["T1210"]
    assert "was changed by ANONYMOUS LOGON" in zerologon.reasons[0]


def test_helpdesk_routine_is_not_reported(event_rows: Any, make_workspace: Any) -> None:
    # A helpdesk puts a new hire into one ordinary group and resets a password: routine work.
    event_rows.add(
        "2024-03-04T09:00:00",
        code="4728",
        action="group-member-added",
        host="dc1.corp.local",
        user="adm-helpdesk",
        data={"MemberSid": "S-1-5-21-1-2-3-1201"},
        **{"group.name": "VPN Users", "user.target.name": "CN=Lisa Davis,OU=Staff,DC=corp,DC=local"},
    )
    event_rows.add(
        "2024-03-04T09:05:00",
        code="4724",
        action="password-reset",
        host="dc1.corp.local",
        user="adm-helpdesk",
        **{"user.target.name": "bob"},
    )
    # ... while three groups at once for one account are reported.
    for i, group in enumerate(("Finance", "Payroll", "HR Share")):
        event_rows.add(
            f"2024-03-04T10:00:0{i}",
            code="4728",
            action="group-member-added",
            host="dc1.corp.local",
            user="eve",
            data={"MemberSid": "S-1-5-21-1-2-3-1300"},
            **{"group.name": group, "user.target.name": "CN=mallory,OU=Staff,DC=corp,DC=local"},
        )
    ws = make_workspace(event_rows)
    assert _alerts(ws, "account_manipulation") == []
    (a,) = _alerts(ws, "group_membership_change")
    assert a.entities["target"] == "mallory" and a.event_count == 3
    assert (
        "'eve' added 'mallory' to 3 groups on dc1.corp.local: Finance, HR Share, Payroll in 2 s"
        in a.reasons[0]
    )
    assert len(_alerts(ws, "group_membership_change", min_other_groups=1)) == 2


def _admin_event(rows: Any, ts: str, code: str, actor: str, target: str, **extra: Any) -> str:
    action = {"4720": "user-created", "4724": "password-reset", "4732": "group-member-added"}[code]
    return str(
        rows.add(
            ts,
            code=code,
            action=action,
            outcome="success",
            user=actor,
            host="dc1.corp.local",
            **{"user.target.name": target},
            **extra,
        )
    )


def test_a_helpdesk_creating_and_granting_is_routine_an_admin_doing_it_is_not(
    event_rows: Any, make_workspace: Any
) -> None:
    rows = event_rows
    _admin_event(rows, "2024-03-04T10:00:00", "4724", "hd-carol", "bob")  # the helpdesk's everyday work
    _admin_event(rows, "2024-03-05T10:00:00", "4720", "hd-carol", "newhire1")
    _admin_event(
        rows, "2024-03-05T10:05:00", "4732", "hd-carol", "newhire1", **{"group.name": "Remote Desktop Users"}
    )
    attack = _admin_event(rows, "2024-03-05T11:00:00", "4720", "adm-dave", "svc_backup2")
    ws = make_workspace(rows)
    created = run_detector(ws, "account_created")
    assert [a.event_ids for a in created] == [[attack]]
    assert run_detector(ws, "group_membership_change") == []
    # without a memory of yesterday's reset the helpdesk is a stranger too
    assert len(run_detector(ws, "account_created", routine_days=0)) == 2
