"""Benign work of administrators and the helpdesk: admin RDP, runas, C$, new hires, resets, groups.

Administrators use their separate adm- accounts; helpdesk work is sampled organisation-wide
during office hours. Most of it is a hard negative for lateral movement and account detectors.
"""

from __future__ import annotations

import numpy as np

from bluebench.datagen.catalog import E_AES, G_ALL, G_RDP, G_VPN, P_CMD, P_MMC, P_PWSH, P_SRVMGR, SH_C
from bluebench.datagen.columns import Cols, Rng, ev, lids, offset, pick, ports
from bluebench.datagen.org import Org, pick_dc
from bluebench.datagen.templates import TPL


def _admin_of(org: Org, p: np.ndarray) -> np.ndarray:
    """The admin account of each person (-1 for people who are not administrators)."""
    out: np.ndarray = org.admin_acct[p]
    return out


def admin_rdp(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """An administrator's RDP to a server with the admin account: tickets, logon, tools, logoff."""
    n = len(s["t"])
    adm = _admin_of(org, s["p"])
    srv = pick(rng, org.servers, n)
    ip = org.host_ip_arr[org.person_wks[s["p"]]]
    lid = lids(rng, n)
    t = s["t"]
    return [
        ev(
            t,
            TPL["tgt"],
            pick_dc(org, rng, n),
            user=adm,
            ip=ip,
            port=ports(rng, n),
            enc=E_AES,
            aux=2,
            lid=lid + 3,
        ),
        ev(
            t + offset(rng, n, 30, 300),
            TPL["tgs"],
            pick_dc(org, rng, n),
            user=adm,
            svc=org.host_macc_arr[srv],
            ip=ip,
            port=ports(rng, n),
            enc=E_AES,
            lid=lid + 4,
        ),
        ev(
            t + offset(rng, n, 800, 3000),
            TPL["logon_rdp"],
            srv,
            user=adm,
            ip=ip,
            port=ports(rng, n),
            lid=lid,
        ),
        ev(t + offset(rng, n, 3000, 3500), TPL["special"], srv, user=adm, lid=lid),
        ev(
            t + offset(rng, n, 20_000, 300_000),
            TPL["process"],
            srv,
            user=adm,
            obj=pick(rng, [P_MMC, P_PWSH, P_SRVMGR, P_CMD], n),
            lid=lid,
        ),
        ev(t + offset(rng, n, 600_000, 5_400_000), TPL["logoff"], srv, user=adm, aux=10, lid=lid),
    ]


def admin_runas(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """runas with the admin account to one member server (4648, then its logon)."""
    n = len(s["t"])
    adm, acct, wks = _admin_of(org, s["p"]), org.person_acct[s["p"]], org.person_wks[s["p"]]
    srv = pick(rng, org.member_servers, n)
    lid = lids(rng, n)
    ip = org.host_ip_arr[wks]
    return [
        ev(s["t"], TPL["explicit"], wks, subj=acct, user=adm, obj=srv, lid=lid),
        ev(
            s["t"] + offset(rng, n, 50, 600),
            TPL["logon_net_krb"],
            srv,
            user=adm,
            ip=ip,
            port=ports(rng, n),
            lid=lid + 1,
        ),
        ev(s["t"] + offset(rng, n, 1000, 60_000), TPL["logoff"], srv, user=adm, aux=3, lid=lid + 1),
    ]


def admin_share(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """An administrator opening C$ on one member server."""
    n = len(s["t"])
    adm = _admin_of(org, s["p"])
    srv = pick(rng, org.member_servers, n)
    ip = org.host_ip_arr[org.person_wks[s["p"]]]
    lid = lids(rng, n)
    port = ports(rng, n)
    return [
        ev(s["t"], TPL["logon_net_krb"], srv, user=adm, ip=ip, port=port, lid=lid),
        ev(s["t"] + 2, TPL["special"], srv, user=adm, lid=lid),
        ev(
            s["t"] + offset(rng, n, 100, 900),
            TPL["share"],
            srv,
            user=adm,
            ip=ip,
            port=port,
            obj=SH_C,
            lid=lid,
        ),
        ev(s["t"] + offset(rng, n, 60_000, 900_000), TPL["logoff"], srv, user=adm, aux=3, lid=lid),
    ]


def admin_netonly(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """runas /netonly: a type 9 logon naming the admin account."""
    n = len(s["t"])
    acct = org.person_acct[s["p"]]
    return [
        ev(
            s["t"],
            TPL["logon_newcreds"],
            org.person_wks[s["p"]],
            user=acct,
            obj=_admin_of(org, s["p"]),
            lid=lids(rng, n),
        )
    ]


def new_hire(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Helpdesk creating, enabling and grouping a new hire's account."""
    n = len(s["t"])
    who = pick(rng, org.helpdesk, n)
    new = pick(rng, org.new_hires, n)
    dc = pick_dc(org, rng, n)
    lid = lids(rng, n)
    t = s["t"]
    return [
        ev(t, TPL["user_created"], dc, user=new, subj=who, lid=lid),
        ev(t + offset(rng, n, 100, 2000), TPL["user_enabled"], dc, user=new, subj=who, lid=lid),
        ev(t + offset(rng, n, 2000, 4000), TPL["user_changed"], dc, user=new, subj=who, lid=lid),
        ev(
            t + offset(rng, n, 10_000, 120_000),
            TPL["group_add_global"],
            dc,
            user=new,
            subj=who,
            obj=pick(rng, [G_VPN, G_ALL, 6, 7], n),
            lid=lid,
        ),
    ]


def password_reset(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Helpdesk resetting a user's password."""
    n = len(s["t"])
    who = pick(rng, org.helpdesk, n)
    target = pick(rng, org.person_acct, n)
    dc = pick_dc(org, rng, n)
    lid = lids(rng, n)
    return [
        ev(s["t"], TPL["password_reset"], dc, user=target, subj=who, lid=lid),
        ev(s["t"] + offset(rng, n, 10, 500), TPL["user_changed"], dc, user=target, subj=who, lid=lid),
    ]


def rdp_group(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Helpdesk adding a user to Remote Desktop Users."""
    n = len(s["t"])
    return [
        ev(
            s["t"],
            TPL["group_add_local"],
            pick_dc(org, rng, n),
            user=pick(rng, org.person_acct, n),
            subj=pick(rng, org.helpdesk, n),
            obj=G_RDP,
            lid=lids(rng, n),
        )
    ]
