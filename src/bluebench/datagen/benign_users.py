"""Benign activity of people at work: logons, files, web, SQL, NTLM apps, processes, webmail, RDP.

Each function expands sessions (``t``, ``p`` person, ``ip`` address that day) into one column
table per step; ``registry.KINDS`` pairs it with its sampler and rate. Typos, webmail through
the reverse proxy and the legacy RC4 client are hard negatives.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bluebench.datagen.catalog import (
    E_AES,
    E_RC4,
    KS_BADPW,
    NS_OK,
    P_EXPLORER,
    SH_DEPT,
    SH_IPC,
    SH_SHARED,
    SH_USERS,
    WS_BADPW,
    WS_EXPIRED,
)
from bluebench.datagen.columns import Cols, Rng, ev, lids, offset, pick, ports
from bluebench.datagen.names import OWA_PROXY_IP
from bluebench.datagen.org import Org, pick_dc
from bluebench.datagen.templates import TPL


def logon(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """The morning logon: TGT and workstation ticket, interactive logon, explorer, a DC network logon."""
    n = len(s["t"])
    p, t, ip = s["p"], s["t"], s["ip"]
    acct, wks = org.person_acct[p], org.person_wks[p]
    dc = pick_dc(org, rng, n)
    lid = lids(rng, n)
    enc = np.where(org.person_legacy[p], E_RC4, E_AES)
    return [
        ev(t, TPL["tgt"], dc, user=acct, ip=ip, port=ports(rng, n), enc=enc, aux=2, lid=lid),
        ev(
            t + offset(rng, n, 50, 300),
            TPL["tgs"],
            dc,
            user=acct,
            svc=org.host_macc_arr[wks],
            ip=ip,
            port=ports(rng, n),
            enc=enc,
            lid=lid + 1,
        ),
        ev(t + offset(rng, n, 400, 1500), TPL["logon_interactive"], wks, user=acct, aux=2, lid=lid),
        ev(t + offset(rng, n, 2000, 5000), TPL["process"], wks, user=acct, obj=P_EXPLORER, lid=lid),
        ev(
            t + offset(rng, n, 1500, 4000),
            TPL["logon_net_krb"],
            dc,
            user=acct,
            ip=ip,
            port=ports(rng, n),
            lid=lid + 2,
        ),
        ev(t + offset(rng, n, 4000, 9000), TPL["logoff"], dc, user=acct, aux=3, lid=lid + 2),
    ]


def logoff(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """The evening sign-out (4647) and its logoff."""
    n = len(s["t"])
    acct, wks = org.person_acct[s["p"]], org.person_wks[s["p"]]
    lid = lids(rng, n)
    return [
        ev(s["t"], TPL["user_logoff"], wks, user=acct, lid=lid),
        ev(s["t"] + offset(rng, n, 100, 2000), TPL["logoff"], wks, user=acct, aux=2, lid=lid),
    ]


def unlock(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Unlocking the workstation (logon type 7) and the logoff that closes it."""
    n = len(s["t"])
    acct, wks = org.person_acct[s["p"]], org.person_wks[s["p"]]
    lid = lids(rng, n)
    return [
        ev(s["t"], TPL["logon_interactive"], wks, user=acct, aux=7, lid=lid),
        ev(s["t"] + offset(rng, n, 300, 4000), TPL["logoff"], wks, user=acct, aux=7, lid=lid),
    ]


def _net_session(
    org: Org,
    rng: Rng,
    s: Cols,
    server: np.ndarray,
    svc: np.ndarray,
    duration: tuple[float, float],
    share: np.ndarray | None = None,
) -> list[Cols]:
    """A Kerberos network session to a server: ticket, logon, maybe a share, logoff."""
    n = len(s["t"])
    acct = org.person_acct[s["p"]] if "p" in s else s["acct"]
    ip = s["ip"]
    dc = pick_dc(org, rng, n)
    lid = lids(rng, n)
    port = ports(rng, n)
    enc = np.where(org.person_legacy[s["p"]], E_RC4, E_AES) if "p" in s else E_AES
    out = [
        ev(s["t"], TPL["tgs"], dc, user=acct, svc=svc, ip=ip, port=ports(rng, n), enc=enc, lid=lid + 7),
        ev(
            s["t"] + offset(rng, n, 20, 400),
            TPL["logon_net_krb"],
            server,
            user=acct,
            ip=ip,
            port=port,
            lid=lid,
        ),
    ]
    if share is not None:
        out.append(
            ev(
                s["t"] + offset(rng, n, 450, 900),
                TPL["share"],
                server,
                user=acct,
                ip=ip,
                port=port,
                obj=share,
                lid=lid,
            )
        )
    out.append(ev(s["t"] + offset(rng, n, *duration), TPL["logoff"], server, user=acct, aux=3, lid=lid))
    return out


def files(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """File-server sessions, mostly to the user and department shares."""
    n = len(s["t"])
    fs = pick(rng, org.files, n)
    share = rng.choice([SH_SHARED, SH_USERS, SH_DEPT, SH_IPC], n, p=[0.4, 0.3, 0.2, 0.1])
    return _net_session(org, rng, s, fs, org.host_macc_arr[fs], (60_000, 2_400_000), share)


def web(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Short sessions to an intranet web server (its service account's SPN)."""
    n = len(s["t"])
    return _net_session(org, rng, s, pick(rng, org.webs, n), np.full(n, org.svc_web), (200, 2000))


def sql(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Analysts' long sessions to a SQL server."""
    n = len(s["t"])
    return _net_session(org, rng, s, pick(rng, org.sqls, n), np.full(n, org.svc_sql), (60_000, 3_600_000))


def ntlm(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """NTLM logons to an application server that cannot do Kerberos."""
    n = len(s["t"])
    acct, wks = org.person_acct[s["p"]], org.person_wks[s["p"]]
    app = pick(rng, org.apps, n)
    lid = lids(rng, n)
    return [
        ev(s["t"], TPL["ntlm"], pick_dc(org, rng, n), user=acct, src=wks, st=NS_OK),
        ev(
            s["t"] + offset(rng, n, 5, 200),
            TPL["logon_net_ntlm"],
            app,
            user=acct,
            src=wks,
            ip=s["ip"],
            port=ports(rng, n),
            aux=128,
            lid=lid,
        ),
        ev(s["t"] + offset(rng, n, 500, 5000), TPL["logoff"], app, user=acct, aux=3, lid=lid),
    ]


def process(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Applications started on the user's workstation."""
    n = len(s["t"])
    proc = rng.choice([0, 1, 2, 3, 4, 6, 7, 11], n, p=[0.3, 0.2, 0.14, 0.12, 0.12, 0.05, 0.04, 0.03])
    return [
        ev(
            s["t"],
            TPL["process"],
            org.person_wks[s["p"]],
            user=org.person_acct[s["p"]],
            obj=proc,
            lid=lids(rng, n),
        )
    ]


def typo(fails: int) -> Callable[[Org, Rng, Cols], list[Cols]]:
    """Mistyped passwords, ``fails`` of them, then the logon that works."""

    def expand(org: Org, rng: Rng, s: Cols) -> list[Cols]:
        n = len(s["t"])
        acct, wks = org.person_acct[s["p"]], org.person_wks[s["p"]]
        dc = pick_dc(org, rng, n)
        out = []
        t = s["t"].copy()
        status = np.where(rng.random(n) < 0.93, WS_BADPW, WS_EXPIRED)
        for _ in range(fails):
            out.append(ev(t, TPL["failed_interactive"], wks, user=acct, st=status, lid=lids(rng, n)))
            out.append(
                ev(
                    t + offset(rng, n, 5, 80),
                    TPL["preauth_failed"],
                    dc,
                    user=acct,
                    ip=s["ip"],
                    port=ports(rng, n),
                    st=KS_BADPW,
                )
            )
            t = t + offset(rng, n, 3000, 25_000)
        lid = lids(rng, n)
        out.append(
            ev(t, TPL["tgt"], dc, user=acct, ip=s["ip"], port=ports(rng, n), enc=E_AES, aux=2, lid=lid)
        )
        out.append(ev(t + offset(rng, n, 200, 900), TPL["logon_interactive"], wks, user=acct, aux=7, lid=lid))
        return out

    return expand


def owa(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Webmail logons, all from the reverse proxy's address (logon type 8)."""
    n = len(s["t"])
    acct = org.person_acct[s["p"]]
    return [
        ev(
            s["t"],
            TPL["logon_cleartext"],
            org.exch,
            user=acct,
            ip=OWA_PROXY_IP,
            port=ports(rng, n),
            lid=lids(rng, n),
        )
    ]


def owa_typo(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """A webmail typo, then success, from the reverse proxy's address."""
    n = len(s["t"])
    acct = org.person_acct[s["p"]]
    return [
        ev(
            s["t"],
            TPL["failed_cleartext"],
            org.exch,
            user=acct,
            ip=OWA_PROXY_IP,
            port=ports(rng, n),
            st=WS_BADPW,
        ),
        ev(
            s["t"] + offset(rng, n, 4000, 30_000),
            TPL["logon_cleartext"],
            org.exch,
            user=acct,
            ip=OWA_PROXY_IP,
            port=ports(rng, n),
            lid=lids(rng, n),
        ),
    ]


def rdp_home(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Remote workers' RDP to their own workstation over the VPN."""
    n = len(s["t"])
    acct, wks = org.person_acct[s["p"]], org.person_wks[s["p"]]
    lid = lids(rng, n)
    return [
        ev(s["t"], TPL["logon_rdp"], wks, user=acct, ip=s["ip"], port=ports(rng, n), lid=lid),
        ev(s["t"] + offset(rng, n, 600_000, 7_200_000), TPL["logoff"], wks, user=acct, aux=10, lid=lid),
    ]


def legacy_rc4(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """An old client asking for RC4 service tickets (not Kerberoasting)."""
    n = len(s["t"])
    targets = np.concatenate([org.host_macc_arr[[org.files[0], org.webs[0]]], [org.svc_web, org.svc_sql]])
    return [
        ev(
            s["t"],
            TPL["tgs"],
            pick_dc(org, rng, n),
            user=org.person_acct[s["p"]],
            svc=pick(rng, targets, n),
            ip=s["ip"],
            port=ports(rng, n),
            enc=E_RC4,
            lid=lids(rng, n),
        )
    ]
