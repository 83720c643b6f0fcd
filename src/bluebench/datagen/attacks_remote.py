"""Attacks through remote execution and RPC: WMI, DCOM, WinRM, remote tasks, pipe coercion, Zerologon, and more.

Each function is a scenario (``(atk, round) -> None``) registered in ``registry.ATTACKS``. They
use a stolen administrator's credentials from a victim's workstation, the way the recordings
of other labs show them; the round picks among a scenario's variants so that several rounds
cover them all.
"""

from __future__ import annotations

import numpy as np

from bluebench.datagen.attacks import Attacks
from bluebench.datagen.catalog import (
    LP_CHROME,
    LP_ODD,
    PI_ATSVC,
    PI_EFSRPC,
    PI_LSARPC,
    PI_NETLOGON,
    PI_PROTECTED,
    PI_SAMR,
    PI_SPOOLSS,
    PI_SVCCTL,
    PI_WINREG,
    TK_ATEXEC,
    TK_MASQUERADE,
    TR_LSASS_CHILD,
    TR_MMC,
    TR_MMC_CHILD,
    TR_PTH_CHILD,
    TR_PTH_TOOL,
    TR_WMI_PS,
    TR_WMIEXEC,
    TR_WSM_NET,
    TR_WSM_WHOAMI,
    TR_WSMPROV,
    WS_BADPW,
)
from bluebench.datagen.columns import ev, ip_text, lids, ports
from bluebench.datagen.templates import TPL


def _foothold(atk: Attacks) -> tuple[int, int, int, int]:
    """A victim's workstation and address, and an administrator's account the attacker holds."""
    org, rng = atk.org, atk.rng
    p = atk.victim()
    wks = int(org.person_wks[p])
    admin = int(org.admin_acct[org.admins[int(rng.integers(0, len(org.admins)))]])
    return p, wks, int(org.host_ip_arr[wks]), admin


def _servers(atk: Attacks, lo: int, hi: int) -> np.ndarray:
    """``lo`` to ``hi`` member servers, distinct."""
    org, rng = atk.org, atk.rng
    return rng.choice(
        org.member_servers, min(len(org.member_servers), int(rng.integers(lo, hi + 1))), replace=False
    )


def wmi_exec(atk: Attacks, round_no: int) -> None:
    """Commands through WMI (wmiexec, or PowerShell) on servers with a stolen admin account."""
    org, rng = atk.org, atk.rng
    _, _, ip, admin = _foothold(atk)
    t = atk.when("work", first=0.3)
    i = atk.new("wmi_exec", user=org.acc_name[admin], source=ip_text(ip))
    for srv in _servers(atk, 1, 2):
        lid = lids(rng, 1)
        tree = TR_WMIEXEC if round_no % 2 == 0 else TR_WMI_PS
        atk.add(i, "T1047", ev(t, TPL["logon_net_krb"], srv, user=admin, ip=ip, port=ports(rng, 1), lid=lid))
        for k in range(int(rng.integers(1, 4))):
            atk.add(
                i,
                "T1047",
                ev(
                    t + 500 + 4000 * k,
                    TPL["process_session"],
                    srv,
                    user=admin,
                    subj=org.host_macc_arr[srv],
                    obj=tree,
                    lid=lid,
                ),
            )
        t += int(rng.uniform(30, 300) * 1000)


def dcom_exec(atk: Attacks, round_no: int) -> None:
    """MMC20.Application over DCOM on a server: mmc.exe -Embedding in a network session, then a shell."""
    org, rng = atk.org, atk.rng
    _, _, ip, admin = _foothold(atk)
    t = atk.when("work", first=0.3)
    i = atk.new("dcom_exec", user=org.acc_name[admin], source=ip_text(ip))
    srv = int(_servers(atk, 1, 1)[0])
    lid = lids(rng, 1)
    atk.add(
        i,
        "T1021.003",
        ev(t, TPL["logon_net_ntlm"], srv, user=admin, src=-1, ip=ip, port=ports(rng, 1), aux=128, lid=lid),
    )
    atk.add(
        i,
        "T1021.003",
        ev(
            t + 300, TPL["process_session"], srv, user=admin, subj=org.host_macc_arr[srv], obj=TR_MMC, lid=lid
        ),
    )
    atk.add(
        i, "T1021.003", ev(t + 2500, TPL["process_in_session"], srv, user=admin, obj=TR_MMC_CHILD, lid=lid)
    )


def winrm_exec(atk: Attacks, round_no: int) -> None:
    """PowerShell remoting with a stolen admin account from a user's workstation, running discovery."""
    org, rng = atk.org, atk.rng
    _, _, ip, admin = _foothold(atk)
    t = atk.when("work", first=0.3)
    i = atk.new("winrm_exec", user=org.acc_name[admin], source=ip_text(ip))
    srv = int(_servers(atk, 1, 1)[0])
    lid = lids(rng, 1)
    atk.add(i, "T1021.006", ev(t, TPL["logon_net_krb"], srv, user=admin, ip=ip, port=ports(rng, 1), lid=lid))
    atk.add(
        i,
        "T1021.006",
        ev(
            t + 200,
            TPL["process_session"],
            srv,
            user=admin,
            subj=org.host_macc_arr[srv],
            obj=TR_WSMPROV,
            lid=lid,
        ),
    )
    for k, tree in enumerate((TR_WSM_WHOAMI, TR_WSM_NET)):
        atk.add(
            i,
            "T1021.006",
            ev(t + 20_000 + 15_000 * k, TPL["process_in_session"], srv, user=admin, obj=tree, lid=lid),
        )


def remote_task(atk: Attacks, round_no: int) -> None:
    """A task made remotely to run one command: atexec (deleted at once) or a masquerading persistent task."""
    org, rng = atk.org, atk.rng
    _, _, ip, admin = _foothold(atk)
    t = atk.when("work", first=0.3)
    i = atk.new("remote_task", user=org.acc_name[admin], source=ip_text(ip))
    srv = int(_servers(atk, 1, 1)[0])
    lid = lids(rng, 1)
    port = ports(rng, 1)
    task = TK_ATEXEC if round_no % 2 == 0 else TK_MASQUERADE
    atk.add(i, "T1053.005", ev(t, TPL["logon_net_krb"], srv, user=admin, ip=ip, port=port, lid=lid))
    atk.add(
        i, "T1053.005", ev(t + 150, TPL["pipe"], srv, user=admin, ip=ip, port=port, obj=PI_ATSVC, lid=lid)
    )
    atk.add(i, "T1053.005", ev(t + 400, TPL["task_created"], srv, user=admin, obj=task, lid=lid))
    if task == TK_ATEXEC:
        atk.add(i, "T1053.005", ev(t + 3400, TPL["task_deleted"], srv, user=admin, obj=task, lid=lid))


def coercion(atk: Attacks, round_no: int) -> None:
    """PetitPotam (anonymous EFS RPC) or PrinterBug (the spooler) against a domain controller."""
    org, rng = atk.org, atk.rng
    p, _, ip, _ = _foothold(atk)
    dc = org.dcs[0]
    t = atk.when("work", first=0.3)
    i = atk.new("coercion", host=org.host_short[dc], source=ip_text(ip))
    lid = lids(rng, 1)
    port = ports(rng, 1)
    if round_no % 2 == 0:  # PetitPotam without credentials
        who = org.anonymous
        atk.add(
            i, "T1187", ev(t, TPL["logon_net_ntlm"], dc, user=who, src=-1, ip=ip, port=port, aux=0, lid=lid)
        )
        pipes: tuple[int, ...] = (PI_LSARPC, PI_EFSRPC)
    else:  # PrinterBug with the victim's own account
        who = int(org.person_acct[p])
        atk.add(i, "T1187", ev(t, TPL["logon_net_krb"], dc, user=who, ip=ip, port=port, lid=lid))
        pipes = (PI_SPOOLSS,)
    for k, pipe in enumerate(pipes):
        atk.add(
            i, "T1187", ev(t + 100 + 300 * k, TPL["pipe"], dc, user=who, ip=ip, port=port, obj=pipe, lid=lid)
        )


def rpc_secrets(atk: Attacks, round_no: int) -> None:
    """secretsdump's remote SAM and LSA dump on a server, or DPAPI backup keys from a domain controller."""
    org, rng = atk.org, atk.rng
    _, _, ip, admin = _foothold(atk)
    t = atk.when("work", first=0.3)
    dpapi = round_no % 2 == 1
    host = org.dcs[0] if dpapi else int(_servers(atk, 1, 1)[0])
    technique = "T1555" if dpapi else "T1003.002"
    i = atk.new("rpc_secrets", user=org.acc_name[admin], host=org.host_short[host], source=ip_text(ip))
    lid = lids(rng, 1)
    port = ports(rng, 1)
    atk.add(i, technique, ev(t, TPL["logon_net_krb"], host, user=admin, ip=ip, port=port, lid=lid))
    pipes: tuple[int, ...] = (PI_LSARPC, PI_PROTECTED) if dpapi else (PI_SVCCTL, PI_WINREG, PI_SAMR)
    for k, pipe in enumerate(pipes):
        atk.add(
            i,
            technique,
            ev(t + 200 + 700 * k, TPL["pipe"], host, user=admin, ip=ip, port=port, obj=pipe, lid=lid),
        )


def zerologon(atk: Attacks, round_no: int) -> None:
    """Zerologon: anonymous netlogon calls empty the DC's password, the DC's account is used, then restored."""
    org, rng = atk.org, atk.rng
    _, _, ip, admin = _foothold(atk)
    dc = org.dcs[0]
    dc_acct = int(org.host_macc_arr[dc])
    t = atk.when("work", first=0.3)
    i = atk.new("zerologon", host=org.host_short[dc], source=ip_text(ip))
    lid = lids(rng, 1)
    port = ports(rng, 1)
    anon = org.anonymous
    atk.add(i, "T1210", ev(t, TPL["logon_net_ntlm"], dc, user=anon, src=-1, ip=ip, port=port, aux=0, lid=lid))
    atk.add(i, "T1210", ev(t + 50, TPL["pipe"], dc, user=anon, ip=ip, port=port, obj=PI_NETLOGON, lid=lid))
    atk.add(i, "T1210", ev(t + 4000, TPL["computer_changed_anonymous"], dc, user=dc_acct, lid=lid))
    later = t + int(rng.uniform(60, 300) * 1000)
    atk.add(
        i,
        "T1210",
        ev(
            later,
            TPL["logon_net_ntlm"],
            dc,
            user=dc_acct,
            src=-1,
            ip=ip,
            port=ports(rng, 1),
            aux=0,
            lid=lids(rng, 1),
        ),
    )
    atk.add(
        i,
        "T1210",
        ev(
            later + int(rng.uniform(5, 40) * 60_000),
            TPL["computer_changed"],
            dc,
            user=dc_acct,
            subj=admin,
            lid=lids(rng, 1),
        ),
    )


def explicit_spray(atk: Attacks, round_no: int) -> None:
    """A tool on a user's workstation trying one password on many accounts through LogonUser (4648)."""
    org, rng = atk.org, atk.rng
    p, wks, _, _ = _foothold(atk)
    accounts = rng.choice(org.person_acct, min(len(org.person_acct), int(rng.integers(8, 40))), replace=False)
    t = atk.gaps(atk.when("work", first=0.3), len(accounts), 300, 4000)
    i = atk.new("explicit_spray", user=org.acc_name[int(org.person_acct[p])], host=org.host_short[wks])
    atk.add(
        i,
        "T1110.003",
        ev(
            t,
            TPL["explicit_tool"],
            wks,
            user=accounts,
            subj=int(org.person_acct[p]),
            obj=TR_PTH_TOOL,
            lid=lids(rng, len(t)),
        ),
    )


def pth_source(atk: Attacks, round_no: int) -> None:
    """Pass-the-hash on the victim's workstation (type 9 made by a tool); in even rounds also MalSecLogon."""
    org, rng = atk.org, atk.rng
    p, wks, _, admin = _foothold(atk)
    acct = int(org.person_acct[p])
    t = atk.when("work", first=0.3)
    outbound = acct if round_no % 2 == 0 else admin  # the user's own hash, or an admin's
    i = atk.new("pth_source", user=org.acc_name[acct], host=org.host_short[wks])
    lid = lids(rng, 1)
    atk.add(i, "T1550.002", ev(t, TPL["process_in_session"], wks, user=acct, obj=TR_PTH_TOOL, lid=lid + 7))
    atk.add(i, "T1550.002", ev(t + 9000, TPL["logon_newcreds"], wks, user=acct, obj=outbound, lid=lid))
    atk.add(
        i,
        "T1550.002",
        ev(t + 9100, TPL["process_session"], wks, user=acct, subj=acct, obj=TR_PTH_CHILD, lid=lid),
    )
    if round_no % 2 == 0:
        j = atk.new("seclogon_abuse", user=org.acc_name[acct], host=org.host_short[wks])
        atk.add(
            j,
            "T1003.001",
            ev(t + 60_000, TPL["process_in_session"], wks, user=acct, obj=TR_LSASS_CHILD, lid=lid + 7),
        )


def logon_theft(atk: Attacks, round_no: int) -> None:
    """A tool checking harvested passwords through its own logon process: failures, then an interactive success."""
    org, rng = atk.org, atk.rng
    _, wks, _, _ = _foothold(atk)
    target = int(org.person_acct[atk.victim()])
    n = int(rng.integers(3, 8))
    t = atk.gaps(atk.when("any", first=0.3), n, 500, 3000)
    lp = LP_CHROME if round_no % 2 == 0 else LP_ODD
    i = atk.new("logon_theft", user=org.acc_name[target], host=org.host_short[wks])
    atk.add(i, "T1110", ev(t, TPL["failed_custom"], wks, user=target, obj=lp, aux=2, st=WS_BADPW))
    atk.add(
        i,
        "T1110",
        ev(int(t[-1]) + 2000, TPL["logon_custom"], wks, user=target, obj=lp, aux=2, lid=lids(rng, 1)),
    )
