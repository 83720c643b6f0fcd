"""Benign activity of machines and service accounts: policy refresh, polling, backups, scans, deploys.

Sessions come per host (``h``) at rates between UTC hours; the backup, scanner, printers,
patch-night deploys, a service with a stale password and a Unix client without
pre-authentication are hard negatives.
"""

from __future__ import annotations

import numpy as np

from bluebench.datagen.catalog import E_AES, NS_BADPW, SERVICES, SH_ADMIN, SH_C, WS_BADPW
from bluebench.datagen.columns import MS_HOUR, Cols, Rng, ev, lids, offset, pick, ports
from bluebench.datagen.names import PRINTER_NET
from bluebench.datagen.org import Org, pick_dc
from bluebench.datagen.schedule import Day, session_cols
from bluebench.datagen.templates import TPL


def _machine_sessions(org: Org, rng: Rng, s: Cols, acct: np.ndarray, ip: np.ndarray) -> list[Cols]:
    """A computer account's policy refresh at a DC: TGT, ticket, logon, logoff."""
    n = len(s["t"])
    dc = pick_dc(org, rng, n)
    lid = lids(rng, n)
    upn_svc = org.host_macc_arr[dc]
    return [
        ev(s["t"], TPL["tgt"], dc, user=acct, ip=ip, port=ports(rng, n), enc=E_AES, aux=2, lid=lid + 1),
        ev(
            s["t"] + offset(rng, n, 10, 200),
            TPL["tgs"],
            dc,
            user=acct,
            svc=upn_svc,
            ip=ip,
            port=ports(rng, n),
            enc=E_AES,
            lid=lid + 2,
        ),
        ev(
            s["t"] + offset(rng, n, 200, 600),
            TPL["logon_net_krb"],
            dc,
            user=acct,
            ip=ip,
            port=ports(rng, n),
            lid=lid,
        ),
        ev(s["t"] + offset(rng, n, 800, 3000), TPL["logoff"], dc, user=acct, aux=3, lid=lid),
    ]


def wks_gpo(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Workstations refreshing group policy."""
    wks = org.person_wks[s["p"]]
    return _machine_sessions(org, rng, s, org.host_macc_arr[wks], s["ip"])


def srv_gpo(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Servers and DCs refreshing group policy."""
    return _machine_sessions(org, rng, s, org.host_macc_arr[s["h"]], org.host_ip_arr[s["h"]])


def svc_poll(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Application servers' service accounts polling SQL (frequent network logons)."""
    n = len(s["t"])
    app = s["h"]
    sql = np.asarray(org.sqls, np.int32)[app % len(org.sqls)]
    svc = np.where(app % 2 == 0, org.svc_app, org.svc_web)
    lid = lids(rng, n)
    return [
        ev(s["t"], TPL["logon_net_krb"], sql, user=svc, ip=org.host_ip_arr[app], port=ports(rng, n), lid=lid),
        ev(s["t"] + offset(rng, n, 500, 6000), TPL["logoff"], sql, user=svc, aux=3, lid=lid),
    ]


def svc_ticket(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Application servers' service accounts renewing their tickets for SQL."""
    n = len(s["t"])
    app = s["h"]
    svc = np.where(app % 2 == 0, org.svc_app, org.svc_web)
    ip = org.host_ip_arr[app]
    dc = pick_dc(org, rng, n)
    return [
        ev(s["t"], TPL["tgt"], dc, user=svc, ip=ip, port=ports(rng, n), enc=E_AES, aux=2, lid=lids(rng, n)),
        ev(
            s["t"] + offset(rng, n, 10, 300),
            TPL["tgs"],
            dc,
            user=svc,
            svc=org.svc_sql,
            ip=ip,
            port=ports(rng, n),
            enc=E_AES,
            lid=lids(rng, n),
        ),
    ]


def svc_start(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Services starting under service accounts on patch day (logon type 5)."""
    n = len(s["t"])
    lid = lids(rng, n)
    svc = pick(rng, org.svc[:8], n)
    return [
        ev(s["t"], TPL["logon_service"], s["h"], user=svc, lid=lid),
        ev(s["t"] + 3, TPL["special"], s["h"], user=svc, lid=lid),
    ]


def backup(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """The nightly backup opening C$ on every member server with NTLM."""
    n = len(s["t"])
    lid = lids(rng, n)
    port = ports(rng, n)
    ip = org.host_ip_arr[org.bkp]
    h = s["h"]
    return [
        ev(
            s["t"],
            TPL["logon_net_ntlm"],
            h,
            user=org.svc_backup,
            src=org.bkp,
            ip=ip,
            port=port,
            aux=128,
            lid=lid,
        ),
        ev(s["t"] + 3, TPL["special"], h, user=org.svc_backup, lid=lid),
        ev(
            s["t"] + offset(rng, n, 100, 600),
            TPL["share"],
            h,
            user=org.svc_backup,
            ip=ip,
            port=port,
            obj=SH_C,
            lid=lid,
        ),
        ev(
            s["t"] + offset(rng, n, 600_000, 3_600_000),
            TPL["logoff"],
            h,
            user=org.svc_backup,
            aux=3,
            lid=lid,
        ),
    ]


def scanner(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """The weekly vulnerability scan logging on to every server."""
    n = len(s["t"])
    lid = lids(rng, n)
    ip = org.host_ip_arr[org.scan]
    return [
        ev(
            s["t"],
            TPL["logon_net_ntlm"],
            s["h"],
            user=org.svc_scan,
            src=org.scan,
            ip=ip,
            port=ports(rng, n),
            aux=128,
            lid=lid,
        ),
        ev(s["t"] + offset(rng, n, 2000, 40_000), TPL["logoff"], s["h"], user=org.svc_scan, aux=3, lid=lid),
    ]


def anonymous(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Printers' anonymous NTLM logons to the file servers (key length 0)."""
    n = len(s["t"])
    ip = (PRINTER_NET + rng.integers(10, 40, n)).astype(np.uint32)
    return [
        ev(
            s["t"],
            TPL["logon_net_ntlm"],
            s["h"],
            user=org.anonymous,
            ip=ip,
            port=ports(rng, n),
            aux=0,
            lid=lids(rng, n),
        )
    ]


def deploy(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Patch-night agent installs through ADMIN$ (7045 by SYSTEM)."""
    n = len(s["t"])
    lid = lids(rng, n)
    ip = org.host_ip_arr[org.sccm]
    port = ports(rng, n)
    svc = rng.integers(1, len(SERVICES), n)
    return [
        ev(s["t"], TPL["logon_net_krb"], s["h"], user=org.svc_sccm, ip=ip, port=port, lid=lid),
        ev(
            s["t"] + offset(rng, n, 100, 800),
            TPL["share"],
            s["h"],
            user=org.svc_sccm,
            ip=ip,
            port=port,
            obj=SH_ADMIN,
            lid=lid,
        ),
        ev(
            s["t"] + offset(rng, n, 2000, 20_000),
            TPL["service_installed"],
            s["h"],
            user=org.system,
            obj=svc,
            lid=lid,
        ),
    ]


def stale_service(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """A service on an app server still using an old password: a failure every ~5 minutes."""
    n = len(s["t"])
    app = org.apps[0]
    sql = org.sqls[0]
    return [
        ev(
            s["t"],
            TPL["failed_net"],
            sql,
            user=org.svc_reporting,
            src=app,
            ip=org.host_ip_arr[app],
            port=ports(rng, n),
            st=WS_BADPW,
        ),
        ev(
            s["t"] + offset(rng, n, 1, 30),
            TPL["ntlm"],
            pick_dc(org, rng, n),
            user=org.svc_reporting,
            src=app,
            st=NS_BADPW,
        ),
    ]


def stale_sample(org: Org, rng: Rng, day: Day, scale: float, weekday: int) -> Cols:
    """Some days, a run of failures every ~5 minutes starting at a random hour."""
    if rng.random() > 0.12:
        return session_cols(t=np.empty(0, np.int64))
    start = day.utc0 + int(rng.uniform(0, 20) * MS_HOUR)
    count = int(rng.integers(12, 48))
    t = start + np.cumsum(rng.normal(300_000, 20_000, count)).astype(np.int64)
    return session_cols(t=t)


def asrep_legit(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """A Unix client getting TGTs for an account without pre-authentication."""
    n = len(s["t"])
    ip = np.full(n, org.host_ip_arr[org.linux[min(2, len(org.linux) - 1)]], np.uint32)
    return [
        ev(
            s["t"],
            TPL["tgt"],
            pick_dc(org, rng, n),
            user=org.svc_unix,
            ip=ip,
            port=ports(rng, n),
            enc=E_AES,
            aux=0,
            lid=lids(rng, n),
        )
    ]
