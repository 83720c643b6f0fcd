"""Linux attacks on the auth.log: ssh brute force and enumeration, a break-in with a new sudo user.

Registered in ``registry.ATTACKS`` with stream "linux": they run only when the run writes an
auth.log (``linux_share`` > 0).
"""

from __future__ import annotations

from bluebench.datagen.attacks import Attacks
from bluebench.datagen.columns import ev, ip_text, ports
from bluebench.datagen.templates import TPL


def ssh_brute_force(atk: Attacks, round_no: int) -> None:
    """Password guesses for root or a user on the bastion from one external address."""
    org, rng = atk.org, atk.rng
    ip = int(atk.external(1)[0])
    n = int(rng.integers(30, 200))
    t = atk.gaps(atk.when("any"), n, 1000, 8000)
    user = int(org.root) if rng.random() < 0.7 else int(org.person_acct[atk.victim()])
    pid = rng.integers(2000, 60000, n)
    i = atk.new(
        "ssh_brute_force", user=org.acc_name[user], source=ip_text(ip), host=org.host_short[org.bastion]
    )
    atk.add(i, "T1110.001", ev(t, TPL["ssh_pam_failure"], org.bastion, user=user, ip=ip, pid=pid))
    atk.add(
        i,
        "T1110.001",
        ev(t + 2000, TPL["ssh_failed_pw"], org.bastion, user=user, ip=ip, port=ports(rng, n), pid=pid),
    )


def ssh_enumeration(atk: Attacks, round_no: int) -> None:
    """Invalid user names tried on the bastion."""
    org, rng = atk.org, atk.rng
    ip = int(atk.external(1)[0])
    names = rng.choice(org.ghosts, int(rng.integers(15, 45)), replace=False)
    n = len(names)
    t = atk.gaps(atk.when("any"), n, 1000, 10_000)
    pid = rng.integers(2000, 60000, n)
    port = ports(rng, n)
    i = atk.new("ssh_enumeration", source=ip_text(ip), host=org.host_short[org.bastion])
    atk.add(
        i, "T1087.001", ev(t, TPL["ssh_invalid_user"], org.bastion, user=names, ip=ip, port=port, pid=pid)
    )
    atk.add(
        i,
        "T1087.001",
        ev(t + 1500, TPL["ssh_failed_invalid"], org.bastion, user=names, ip=ip, port=port, pid=pid),
    )


def ssh_success_and_persistence(atk: Attacks, round_no: int) -> None:
    """Failures, a password that works, then a new user added to sudo."""
    org, rng = atk.org, atk.rng
    ip = int(atk.external(1)[0])
    host = int(org.linux[min(1, len(org.linux) - 1)])
    user = int(org.person_acct[atk.victim()])
    n = int(rng.integers(6, 30))
    t = atk.gaps(atk.when("any"), n, 2000, 9000)
    pid = rng.integers(2000, 60000, n)
    i = atk.new(
        "ssh_success_after_failures",
        user=org.acc_name[user],
        source=ip_text(ip),
        host=org.host_short[host],
    )
    atk.add(i, "T1110.001", ev(t, TPL["ssh_failed_pw"], host, user=user, ip=ip, port=ports(rng, n), pid=pid))
    ok = int(t[-1]) + 5000
    okpid = int(rng.integers(2000, 60000))
    atk.add(i, "T1078", ev(ok, TPL["ssh_accept_pw"], host, user=user, ip=ip, port=ports(rng, 1), pid=okpid))
    atk.add(i, "T1078", ev(ok + 20, TPL["ssh_session_open"], host, user=user, pid=okpid))
    new = int(org.linux_attacker_accounts[int(rng.integers(0, len(org.linux_attacker_accounts)))])
    i = atk.new("linux_new_account", user=org.acc_name[new], host=org.host_short[host])
    atk.add(i, "T1136.001", ev(ok + 60_000, TPL["useradd"], host, user=new, pid=okpid + 11))
    i = atk.new("linux_group_add", user=org.acc_name[new], host=org.host_short[host])
    atk.add(i, "T1098", ev(ok + 75_000, TPL["usermod_group"], host, user=new, pid=okpid + 12))
