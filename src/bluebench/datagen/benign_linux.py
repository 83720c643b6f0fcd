"""Benign auth.log activity: cron, developers' ssh and sudo, ssh typos, configuration runs."""

from __future__ import annotations

from bluebench.datagen.catalog import SUDO_CMDS
from bluebench.datagen.columns import Cols, Rng, ev, offset, pick, ports
from bluebench.datagen.org import Org
from bluebench.datagen.templates import TPL


def cron(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Root's cron sessions on every Linux host."""
    n = len(s["t"])
    pid = rng.integers(2000, 60000, n)
    return [
        ev(s["t"], TPL["cron_open"], s["h"], user=org.root, pid=pid),
        ev(s["t"] + offset(rng, n, 50, 2000), TPL["cron_close"], s["h"], user=org.root, pid=pid),
    ]


def ssh_dev(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Developers' ssh with a key, a sudo command, and the session closing."""
    n = len(s["t"])
    acct = org.person_acct[s["p"]]
    host = pick(rng, org.linux, n)
    pid = rng.integers(2000, 60000, n)
    port = ports(rng, n)
    t = s["t"]
    end = t + offset(rng, n, 120_000, 3_600_000)
    return [
        ev(t, TPL["ssh_accept_key"], host, user=acct, ip=s["ip"], port=port, pid=pid),
        ev(t + offset(rng, n, 2, 30), TPL["ssh_session_open"], host, user=acct, pid=pid),
        ev(
            t + offset(rng, n, 20_000, 100_000),
            TPL["sudo_cmd"],
            host,
            user=acct,
            obj=rng.integers(0, len(SUDO_CMDS), n),
            pid=pid + 7,
        ),
        ev(t + offset(rng, n, 100_001, 110_000), TPL["sudo_session"], host, user=acct, pid=pid + 7),
        ev(end, TPL["ssh_session_close"], host, user=acct, pid=pid),
        ev(
            end + offset(rng, n, 1, 40),
            TPL["ssh_disconnect"],
            host,
            user=acct,
            ip=s["ip"],
            port=port,
            pid=pid,
        ),
    ]


def ssh_typo(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """A developer's ssh password typo, then success."""
    n = len(s["t"])
    acct = org.person_acct[s["p"]]
    host = pick(rng, org.linux[1:] if len(org.linux) > 1 else org.linux, n)
    pid = rng.integers(2000, 60000, n)
    port = ports(rng, n)
    return [
        ev(s["t"], TPL["ssh_failed_pw"], host, user=acct, ip=s["ip"], port=port, pid=pid),
        ev(
            s["t"] + offset(rng, n, 3000, 15_000),
            TPL["ssh_accept_pw"],
            host,
            user=acct,
            ip=s["ip"],
            port=port,
            pid=pid,
        ),
        ev(s["t"] + offset(rng, n, 15_001, 15_100), TPL["ssh_session_open"], host, user=acct, pid=pid),
    ]


def ansible(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    """Nightly configuration runs over ssh from the management host."""
    n = len(s["t"])
    pid = rng.integers(2000, 60000, n)
    port = ports(rng, n)
    ip = org.host_ip_arr[org.mgmt]
    return [
        ev(s["t"], TPL["ssh_accept_key"], s["h"], user=org.ansible, ip=ip, port=port, pid=pid),
        ev(s["t"] + 5, TPL["ssh_session_open"], s["h"], user=org.ansible, pid=pid),
        ev(
            s["t"] + offset(rng, n, 5000, 90_000),
            TPL["ssh_session_close"],
            s["h"],
            user=org.ansible,
            pid=pid,
        ),
    ]
