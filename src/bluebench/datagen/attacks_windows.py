"""Windows attacks: each function injects one scenario's labelled events through the ``Attacks`` builder.

A scenario function takes the builder and the round (0, 1, ...; a run has one round per million
events) and adds its attack instances with ``atk.new`` and their events with ``atk.add``; it is
registered in ``registry.ATTACKS`` with the (attack, technique) pairs it labels.
"""

from __future__ import annotations

import numpy as np

from bluebench.datagen.attacks import Attacks
from bluebench.datagen.catalog import (
    E_RC4,
    G_ADMINS,
    G_DOMAIN_ADMINS,
    KS_BADPW,
    KS_UNKNOWN,
    NS_BADPW,
    NS_NOUSER,
    NS_OK,
    P_CMD,
    P_PSEXESVC,
    P_WHOAMI,
    SH_ADMIN,
    SV_PSEXEC,
    WS_BADPW,
    WS_NOUSER,
)
from bluebench.datagen.columns import ev, ip_text, lids, pick, ports
from bluebench.datagen.org import pick_dc
from bluebench.datagen.templates import TPL


def campaign(atk: Attacks, round_no: int) -> None:
    """Kerberoasting, then pass-the-hash to servers, PsExec, a new admin, a log cleared."""
    org, rng = atk.org, atk.rng
    p = atk.victim()
    acct, wks = int(org.person_acct[p]), int(org.person_wks[p])
    admin = int(org.admin_acct[org.admins[int(rng.integers(0, len(org.admins)))]])
    t = atk.when("work", first=0.4)
    _kerberoast(atk, acct, wks, t)
    t += int(rng.uniform(20, 90) * 60_000)
    t, targets = _pass_the_hash(atk, acct, wks, admin, t)
    t += int(rng.uniform(5, 30) * 60_000)
    _new_admin(atk, admin, t)
    t += int(rng.uniform(5, 40) * 60_000)
    _clear_log(atk, admin, int(targets[0]), t)


def _kerberoast(atk: Attacks, acct: int, wks: int, t: int) -> None:
    """Kerberoasting: RC4 service tickets for many SPNs in a minute or two."""
    org, rng = atk.org, atk.rng
    ip = int(org.host_ip_arr[wks])
    i = atk.new("kerberoasting", user=org.acc_name[acct], source=ip_text(ip))
    spns = rng.choice(org.svc, min(len(org.svc), int(rng.integers(10, 26))), replace=False)
    ts = atk.gaps(t, len(spns), 200, 6000)
    atk.add(
        i,
        "T1558.003",
        ev(
            ts,
            TPL["tgs"],
            org.dcs[0],
            user=acct,
            svc=spns,
            ip=ip,
            port=ports(rng, len(spns)),
            enc=E_RC4,
            lid=lids(rng, len(spns)),
        ),
    )


def _pass_the_hash(atk: Attacks, acct: int, wks: int, admin: int, t: int) -> tuple[int, np.ndarray]:
    """Pass-the-hash from the victim's workstation with an admin's hash, then ADMIN$ and PsExec."""
    org, rng = atk.org, atk.rng
    ip = int(org.host_ip_arr[wks])
    dc = org.dcs[0]
    targets = rng.choice(
        org.member_servers, min(len(org.member_servers), int(rng.integers(2, 5))), replace=False
    )
    i = atk.new("pass_the_hash", user=org.acc_name[admin], host=org.host_short[wks], source=ip_text(ip))
    atk.add(i, "T1550.002", ev(t, TPL["logon_newcreds"], wks, user=acct, obj=admin, lid=lids(rng, 1)))
    share_id = atk.new("admin_share", user=org.acc_name[admin], source=ip_text(ip))
    psexec_id = atk.new("remote_service", user=org.acc_name[admin], source=ip_text(ip))
    for srv in targets:
        t += int(rng.uniform(20, 120) * 1000)
        lid = lids(rng, 1)
        port = ports(rng, 1)
        atk.add(i, "T1550.002", ev(t, TPL["ntlm"], dc, user=admin, src=wks, st=NS_OK))
        atk.add(
            i,
            "T1550.002",
            ev(t + 40, TPL["logon_net_ntlm"], srv, user=admin, src=wks, ip=ip, port=port, aux=0, lid=lid),
        )
        atk.add(
            share_id,
            "T1021.002",
            ev(t + 300, TPL["share"], srv, user=admin, ip=ip, port=port, obj=SH_ADMIN, lid=lid),
        )
        atk.add(
            psexec_id,
            "T1569.002",
            ev(t + 1500, TPL["service_installed"], srv, user=org.system, obj=SV_PSEXEC, lid=lid),
        )
        atk.add(
            psexec_id,
            "T1569.002",
            ev(t + 2600, TPL["process"], srv, user=org.system, obj=P_PSEXESVC, lid=lid),
        )
    return t, targets


def _new_admin(atk: Attacks, admin: int, t: int) -> None:
    """A new account, made a Domain Admin or local Administrator."""
    org, rng = atk.org, atk.rng
    dc = org.dcs[0]
    new = int(org.attacker_accounts[int(rng.integers(0, len(org.attacker_accounts)))])
    i = atk.new("new_account", user=org.acc_name[new], by=org.acc_name[admin])
    atk.add(i, "T1136.002", ev(t, TPL["user_created"], dc, user=new, subj=admin, lid=lids(rng, 1)))
    atk.add(i, "T1136.002", ev(t + 800, TPL["user_enabled"], dc, user=new, subj=admin, lid=lids(rng, 1)))
    i = atk.new("privileged_group_add", user=org.acc_name[new], by=org.acc_name[admin])
    tpl, group = (
        ("group_add_global", G_DOMAIN_ADMINS) if rng.random() < 0.5 else ("group_add_local", G_ADMINS)
    )
    atk.add(i, "T1098", ev(t + 5000, TPL[tpl], dc, user=new, subj=admin, obj=group, lid=lids(rng, 1)))


def _clear_log(atk: Attacks, admin: int, srv: int, t: int) -> None:
    """The Security log of one server cleared."""
    org = atk.org
    i = atk.new("log_cleared", host=org.host_short[srv], user=org.acc_name[admin])
    atk.add(i, "T1070.001", ev(t, TPL["log_cleared"], srv, user=admin, lid=lids(atk.rng, 1)))


def brute_force(atk: Attacks, round_no: int) -> None:
    """Many bad passwords for one account at the RD gateway or webmail, from one external address."""
    org, rng = atk.org, atk.rng
    target = int(org.administrator) if rng.random() < 0.3 else int(org.person_acct[atk.victim()])
    host = org.rdgw if rng.random() < 0.6 else org.exch
    attacker = int(org.attacker_hosts[int(rng.integers(0, len(org.attacker_hosts)))])
    ip = int(atk.external(1)[0])
    n = int(rng.integers(25, 200))
    t = atk.gaps(atk.when("any"), n, 800, 6000)
    i = atk.new("brute_force", user=org.acc_name[target], source=ip_text(ip), host=org.host_short[host])
    atk.add(
        i,
        "T1110.001",
        ev(t, TPL["failed_net"], host, user=target, src=attacker, ip=ip, port=ports(rng, n), st=WS_BADPW),
    )
    atk.add(
        i, "T1110.001", ev(t + 30, TPL["ntlm"], pick_dc(org, rng, n), user=target, src=attacker, st=NS_BADPW)
    )


def password_spray(atk: Attacks, round_no: int) -> None:
    """One or two passwords tried on many accounts: at the KDC from inside, or at the RD gateway."""
    kerberos = round_no % 2 == 0  # Kerberos and gateway variants take turns
    org, rng = atk.org, atk.rng
    m = int(rng.integers(15, 61))
    accounts = rng.choice(org.person_acct, min(m, len(org.person_acct)), replace=False)
    tries = np.repeat(accounts, rng.choice([1, 2], len(accounts), p=[0.7, 0.3]))
    tries = tries[rng.permutation(len(tries))]
    n = len(tries)
    t = atk.gaps(atk.when("work" if kerberos else "any"), n, 2000, 20_000)
    if kerberos:  # from a compromised workstation, against the KDC
        wks = int(org.person_wks[atk.victim()])
        ip = int(org.host_ip_arr[wks])
        i = atk.new("password_spray", source=ip_text(ip))
        atk.add(
            i,
            "T1110.003",
            ev(
                t,
                TPL["preauth_failed"],
                pick_dc(org, rng, n),
                user=tries,
                ip=ip,
                port=ports(rng, n),
                st=KS_BADPW,
            ),
        )
    else:
        attacker = int(org.attacker_hosts[int(rng.integers(0, len(org.attacker_hosts)))])
        ip = int(atk.external(1)[0])
        i = atk.new("password_spray", source=ip_text(ip), host=org.host_short[org.rdgw])
        atk.gateway_failures(i, "T1110.003", t, tries, attacker, ip, (WS_BADPW, NS_BADPW), 25)


def credential_stuffing(atk: Attacks, round_no: int) -> None:
    """Leaked name/password pairs from many addresses; sometimes one still works."""
    org, rng = atk.org, atk.rng
    sources = atk.external(int(rng.integers(8, 41)))
    real = rng.choice(org.person_acct, min(len(org.person_acct), int(rng.integers(20, 60))), replace=False)
    fake = rng.choice(org.outsiders, int(rng.integers(10, 40)), replace=False)
    accounts = np.concatenate([real, fake])
    n = len(accounts) + int(rng.integers(0, 20))
    who = np.concatenate([accounts, rng.choice(accounts, n - len(accounts))])[rng.permutation(n)]
    t = atk.gaps(atk.when("any"), n, 500, 40_000)
    ip = sources[rng.integers(0, len(sources), n)]
    status = np.where(np.isin(who, org.outsiders), WS_NOUSER, WS_BADPW)
    attackers = pick(rng, org.attacker_hosts, n)
    i = atk.new("credential_stuffing", host=org.host_short[org.rdgw])
    atk.add(
        i,
        "T1110.004",
        ev(t, TPL["failed_net"], org.rdgw, user=who, src=attackers, ip=ip, port=ports(rng, n), st=status),
    )
    if rng.random() < 0.5:  # one leaked password still works
        k = int(rng.integers(0, n))
        atk.add(
            i,
            "T1110.004",
            ev(
                t[k] + 2000,
                TPL["logon_net_ntlm"],
                org.rdgw,
                user=int(real[0]),
                src=int(attackers[k]),
                ip=int(ip[k]),
                port=ports(rng, 1),
                aux=128,
                lid=lids(rng, 1),
            ),
        )


def success_after_failures(atk: Attacks, round_no: int) -> None:
    """Failures for one account from outside, then a logon that works."""
    org, rng = atk.org, atk.rng
    target = int(org.person_acct[atk.victim()])
    ip = int(atk.external(1)[0])
    attacker = int(org.attacker_hosts[int(rng.integers(0, len(org.attacker_hosts)))])
    n = int(rng.integers(6, 25))
    t = atk.gaps(atk.when("any"), n, 1000, 15_000)
    dc = org.dcs[0]
    i = atk.new(
        "success_after_failures",
        user=org.acc_name[target],
        source=ip_text(ip),
        host=org.host_short[org.rdgw],
    )
    atk.add(
        i,
        "T1110.001",
        ev(
            t,
            TPL["failed_net"],
            org.rdgw,
            user=target,
            src=attacker,
            ip=ip,
            port=ports(rng, n),
            st=WS_BADPW,
        ),
    )
    atk.add(i, "T1110.001", ev(t + 20, TPL["ntlm"], dc, user=target, src=attacker, st=NS_BADPW))
    ok = int(t[-1]) + int(rng.uniform(3, 20) * 1000)
    atk.add(i, "T1078", ev(ok, TPL["ntlm"], dc, user=target, src=attacker, st=NS_OK))
    atk.add(
        i,
        "T1078",
        ev(
            ok + 30,
            TPL["logon_net_ntlm"],
            org.rdgw,
            user=target,
            src=attacker,
            ip=ip,
            port=ports(rng, 1),
            aux=128,
            lid=lids(rng, 1),
        ),
    )


def user_enumeration(atk: Attacks, round_no: int) -> None:
    """Guessed names: kerbrute at the KDC from inside, or failures at the RD gateway."""
    kerberos = round_no % 2 == 0  # Kerberos and gateway variants take turns
    org, rng = atk.org, atk.rng
    pool = np.concatenate([org.ghosts, org.outsiders])
    names = rng.choice(pool, min(len(pool), int(rng.integers(20, 90))), replace=False)
    n = len(names)
    t = atk.gaps(atk.when("any"), n, 50, 3000)
    if kerberos:  # kerbrute: AS-REQ without pre-authentication; unknown names fail with 0x6
        wks = int(org.person_wks[atk.victim()])
        ip = int(org.host_ip_arr[wks])
        i = atk.new("user_enumeration", source=ip_text(ip))
        atk.add(
            i,
            "T1087.002",
            ev(t, TPL["tgt_failed"], org.dcs[0], user=names, ip=ip, port=ports(rng, n), st=KS_UNKNOWN),
        )
    else:
        ip = int(atk.external(1)[0])
        attacker = int(org.attacker_hosts[int(rng.integers(0, len(org.attacker_hosts)))])
        i = atk.new("user_enumeration", source=ip_text(ip), host=org.host_short[org.rdgw])
        atk.gateway_failures(i, "T1087.002", t, names, attacker, ip, (WS_NOUSER, NS_NOUSER), 15)


def asrep_roasting(atk: Attacks, round_no: int) -> None:
    """TGTs without pre-authentication for the roastable accounts, RC4, from a workstation."""
    org, rng = atk.org, atk.rng
    wks = int(org.person_wks[atk.victim()])
    ip = int(org.host_ip_arr[wks])
    accounts = rng.choice(org.roastable, min(len(org.roastable), int(rng.integers(2, 6))), replace=False)
    n = len(accounts)
    t = atk.gaps(atk.when("work"), n, 100, 4000)
    i = atk.new("asrep_roasting", source=ip_text(ip))
    atk.add(
        i,
        "T1558.004",
        ev(
            t,
            TPL["tgt"],
            org.dcs[0],
            user=accounts,
            ip=ip,
            port=ports(rng, n),
            enc=E_RC4,
            aux=0,
            lid=lids(rng, n),
        ),
    )


def explicit_credentials(atk: Attacks, round_no: int) -> None:
    """An admin's credentials used from a user's workstation against many servers."""
    org, rng = atk.org, atk.rng
    p = atk.victim()
    acct, wks = int(org.person_acct[p]), int(org.person_wks[p])
    ip = int(org.host_ip_arr[wks])
    used = int(org.admin_acct[org.admins[int(rng.integers(0, len(org.admins)))]])
    servers = rng.choice(
        org.member_servers, min(len(org.member_servers), int(rng.integers(5, 16))), replace=False
    )
    n = len(servers)
    t = atk.gaps(atk.when("work", first=0.4), n, 10_000, 120_000)
    i = atk.new("explicit_credentials", user=org.acc_name[used], host=org.host_short[wks])
    lid = lids(rng, n)
    atk.add(i, "T1078.002", ev(t, TPL["explicit"], wks, subj=acct, user=used, obj=servers, lid=lid))
    atk.add(
        i,
        "T1078.002",
        ev(t + 300, TPL["logon_net_krb"], servers, user=used, ip=ip, port=ports(rng, n), lid=lid),
    )


def unusual_logon(atk: Attacks, round_no: int) -> None:
    """Stolen credentials used at night from an address the account never used."""
    org, rng = atk.org, atk.rng
    p = atk.victim()
    acct, wks = int(org.person_acct[p]), int(org.person_wks[p])
    ip = int(atk.external(1)[0])
    t = atk.when("night", person=p, first=0.75)  # after the account has a baseline
    lid = lids(rng, 1)
    i = atk.new("unusual_logon", user=org.acc_name[acct], source=ip_text(ip), host=org.host_short[org.rdgw])
    atk.add(i, "T1078", ev(t, TPL["ntlm"], org.dcs[0], user=acct, src=org.rdgw, st=NS_OK))
    atk.add(
        i,
        "T1078",
        ev(
            t + 60,
            TPL["logon_net_ntlm"],
            org.rdgw,
            user=acct,
            src=org.rdgw,
            ip=ip,
            port=ports(rng, 1),
            aux=128,
            lid=lid,
        ),
    )
    atk.add(
        i,
        "T1078",
        ev(
            t + 4000,
            TPL["logon_rdp"],
            wks,
            user=acct,
            ip=int(org.host_ip_arr[org.rdgw]),
            port=ports(rng, 1),
            lid=lid + 1,
        ),
    )
    atk.add(i, "T1078", ev(t + 40_000, TPL["process"], wks, user=acct, obj=P_CMD, lid=lid + 1))
    atk.add(i, "T1078", ev(t + 55_000, TPL["process"], wks, user=acct, obj=P_WHOAMI, lid=lid + 1))
