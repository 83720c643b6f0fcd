"""Remote management that looks like lateral movement: the hard negatives of the remote-execution detectors.

Configuration management runs commands through WMI on workstations, administrators use
PowerShell remoting on servers, the patch tool creates scheduled tasks remotely, print
clients open the spooler's pipe, monitoring reads the remote registry, and a kiosk
application logs people on with its own logon process. Each expander is
``(org, rng, sessions) -> list[Cols]``, one ``ev(...)`` table per step.
"""

from __future__ import annotations

import numpy as np

from bluebench.datagen.catalog import (
    LP_KIOSK,
    PI_SPOOLSS,
    PI_SRVSVC,
    PI_WINREG,
    TK_DEPLOY,
    TR_SCCM_EVAL,
    TR_WSMPROV,
)
from bluebench.datagen.columns import MS_HOUR, Cols, Rng, ev, lids, offset, pick, ports
from bluebench.datagen.org import Org
from bluebench.datagen.templates import TPL


def workstations(org: Org) -> np.ndarray:
    """Every person's workstation or laptop, once."""
    out: np.ndarray = np.unique(org.person_wks).astype(np.int32)
    return out


def sccm_wmi(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Configuration management running its health check on a workstation through WMI."""
    n, h = len(s["t"]), s["h"]
    lid = lids(rng, n)
    ip = org.host_ip_arr[org.sccm]
    return [
        ev(s["t"], TPL["logon_net_krb"], h, user=org.svc_sccm, ip=ip, port=ports(rng, n), lid=lid),
        ev(
            s["t"] + offset(rng, n, 200, 900),
            TPL["process_session"],
            h,
            user=org.svc_sccm,
            subj=org.host_macc_arr[h],
            obj=TR_SCCM_EVAL,
            lid=lid,
        ),
        ev(s["t"] + offset(rng, n, 5000, 30_000), TPL["logoff"], h, user=org.svc_sccm, aux=3, lid=lid),
    ]


def admin_winrm(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """An administrator's PowerShell remoting session to a server from the own workstation."""
    n = len(s["t"])
    adm = org.admin_acct[s["p"]]
    srv = pick(rng, org.member_servers, n)
    lid = lids(rng, n)
    ip = org.host_ip_arr[org.person_wks[s["p"]]]
    return [
        ev(s["t"], TPL["logon_net_krb"], srv, user=adm, ip=ip, port=ports(rng, n), lid=lid),
        ev(
            s["t"] + offset(rng, n, 100, 600),
            TPL["process_session"],
            srv,
            user=adm,
            subj=org.host_macc_arr[srv],
            obj=TR_WSMPROV,
            lid=lid,
        ),
        ev(s["t"] + offset(rng, n, 60_000, 900_000), TPL["logoff"], srv, user=adm, aux=3, lid=lid),
    ]


def deploy_task(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """The patch tool creating its install task on a server remotely, and removing it hours later."""
    n, h = len(s["t"]), s["h"]
    lid = lids(rng, n)
    ip = org.host_ip_arr[org.sccm]
    return [
        ev(s["t"], TPL["logon_net_krb"], h, user=org.svc_sccm, ip=ip, port=ports(rng, n), lid=lid),
        ev(
            s["t"] + offset(rng, n, 300, 2000),
            TPL["task_created"],
            h,
            user=org.svc_sccm,
            obj=TK_DEPLOY,
            lid=lid,
        ),
        ev(
            s["t"] + offset(rng, n, MS_HOUR, 3 * MS_HOUR),
            TPL["task_deleted"],
            h,
            user=org.svc_sccm,
            obj=TK_DEPLOY,
            lid=lid,
        ),
    ]


def print_spool(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """A print client opening the spooler's pipe on the print server."""
    n = len(s["t"])
    acct = org.person_acct[s["p"]]
    lid = lids(rng, n)
    srv = org.files[0]
    port = ports(rng, n)
    return [
        ev(s["t"], TPL["logon_net_krb"], srv, user=acct, ip=s["ip"], port=port, lid=lid),
        ev(
            s["t"] + offset(rng, n, 20, 300),
            TPL["pipe"],
            srv,
            user=acct,
            ip=s["ip"],
            port=port,
            obj=PI_SPOOLSS,
            lid=lid,
        ),
    ]


def monitor_registry(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """The monitoring server reading a server's registry and shares over RPC."""
    n, h = len(s["t"]), s["h"]
    lid = lids(rng, n)
    ip = org.host_ip_arr[org.mgmt]
    port = ports(rng, n)
    return [
        ev(s["t"], TPL["logon_net_krb"], h, user=org.svc_scan, ip=ip, port=port, lid=lid),
        ev(
            s["t"] + offset(rng, n, 20, 200),
            TPL["pipe"],
            h,
            user=org.svc_scan,
            ip=ip,
            port=port,
            obj=PI_WINREG,
            lid=lid,
        ),
        ev(
            s["t"] + offset(rng, n, 300, 900),
            TPL["pipe"],
            h,
            user=org.svc_scan,
            ip=ip,
            port=port,
            obj=PI_SRVSVC,
            lid=lid,
        ),
    ]


def kiosk_logon(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """The kiosk application on the terminal server logging a person on with its own logon process."""
    n = len(s["t"])
    acct = org.person_acct[s["p"]]
    lid = lids(rng, n)
    return [
        ev(s["t"], TPL["logon_custom"], org.ts, user=acct, obj=LP_KIOSK, aux=2, lid=lid),
        ev(s["t"] + offset(rng, n, 60_000, 1_800_000), TPL["logoff"], org.ts, user=acct, aux=2, lid=lid),
    ]
