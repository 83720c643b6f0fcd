"""The registries generate iterates: every benign kind and every attack scenario, in the order they run.

Adding one is adding a row here (see the package docstring for the steps). Order matters for
the output: kinds and scenarios draw from shared seeded streams in this order, so a new row
changes what every seed generates; put it at the end of its table. A name registered twice is
refused at import.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

import numpy as np

from bluebench.datagen import attacks_linux, attacks_remote, attacks_windows
from bluebench.datagen import benign_admin as admin
from bluebench.datagen import benign_linux as linux
from bluebench.datagen import benign_remote as remote
from bluebench.datagen import benign_services as services
from bluebench.datagen import benign_users as users
from bluebench.datagen.attacks import Scenario
from bluebench.datagen.org import Org
from bluebench.datagen.schedule import Kind, hosts_rate, org_rate, person_once, person_rate
from bluebench.registry import Registry


class _Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=_Named)


def _table(what: str, *entries: N) -> Registry[N]:
    """A registry filled in the order given, which is the order the entries run in."""
    registry: Registry[N] = Registry(what)
    for entry in entries:
        registry.register(entry.name, entry)
    return registry


def _is_admin(org: Org) -> np.ndarray:
    """People with an admin account."""
    return org.admin_acct >= 0


# Kind(name, stream, events per session, sampler and its rate, expander[, what makes it a hard negative])
KINDS: Registry[Kind] = _table(
    "benign kind",
    # people at work (benign_users.py)
    Kind("logon", "win", 6, person_once("start"), users.logon),
    Kind("logoff", "win", 2, person_once("end", 0.85), users.logoff),
    Kind("unlock", "win", 2, person_rate(0.45), users.unlock),
    Kind("files", "win", 4, person_rate(0.6), users.files),
    Kind("web", "win", 3, person_rate(0.35), users.web),
    Kind("sql", "win", 3, person_rate(0.3, lambda o: o.person_analyst), users.sql),
    Kind("ntlm", "win", 3, person_rate(0.2), users.ntlm),
    Kind("process", "win", 1, person_rate(1.6), users.process),
    Kind("typo1", "win", 4, person_once("any", 0.08), users.typo(1), "a mistyped password, then success"),
    Kind("typo2", "win", 6, person_once("any", 0.02), users.typo(2), "two mistyped passwords, then success"),
    Kind(
        "typo4",
        "win",
        10,
        person_once("any", 0.003),
        users.typo(4),
        "four failures after a holiday, then success",
    ),
    Kind("owa", "win", 1, person_rate(0.12), users.owa),
    Kind(
        "owa_typo",
        "win",
        2,
        person_once("any", 0.03),
        users.owa_typo,
        "webmail typos, all from the reverse proxy's address",
    ),
    Kind("rdp_home", "win", 2, person_rate(0.02, lambda o: o.person_remote > 0.3), users.rdp_home),
    Kind(
        "legacy_rc4",
        "win",
        1,
        person_rate(0.5, lambda o: o.person_legacy),
        users.legacy_rc4,
        "an old client asking for RC4 service tickets",
    ),
    # administrators and the helpdesk (benign_admin.py)
    Kind(
        "admin_rdp", "win", 6, person_rate(0.35, _is_admin), admin.admin_rdp, "administrators' RDP to servers"
    ),
    Kind(
        "admin_runas",
        "win",
        3,
        person_rate(0.08, _is_admin),
        admin.admin_runas,
        "runas to one server with an admin account",
    ),
    Kind(
        "admin_share",
        "win",
        4,
        person_rate(0.02, _is_admin),
        admin.admin_share,
        "an administrator opening C$ on one server",
    ),
    Kind(
        "admin_netonly",
        "win",
        1,
        person_rate(0.01, _is_admin),
        admin.admin_netonly,
        "runas /netonly (logon type 9) by an administrator",
    ),
    Kind(
        "new_hire",
        "win",
        4,
        org_rate(lambda o: len(o.person_acct) / 900, (13, 21)),
        admin.new_hire,
        "helpdesk creating accounts for new hires",
    ),
    Kind(
        "password_reset",
        "win",
        2,
        org_rate(lambda o: len(o.person_acct) / 300, (12, 22)),
        admin.password_reset,
    ),
    Kind(
        "rdp_group",
        "win",
        1,
        org_rate(lambda o: len(o.person_acct) / 1500, (13, 21)),
        admin.rdp_group,
        "users added to Remote Desktop Users",
    ),
    # machines and service accounts (benign_services.py)
    Kind("wks_gpo", "win", 4, person_rate(0.67), services.wks_gpo),
    Kind(
        "srv_gpo",
        "win",
        4,
        hosts_rate(lambda o: np.concatenate([o.servers, o.dcs]).astype(np.int32), 0.67),
        services.srv_gpo,
    ),
    Kind("svc_poll", "win", 2, hosts_rate(lambda o: np.asarray(o.apps, np.int32), 6.0), services.svc_poll),
    Kind(
        "svc_ticket", "win", 2, hosts_rate(lambda o: np.asarray(o.apps, np.int32), 0.1), services.svc_ticket
    ),
    Kind(
        "svc_start", "win", 2, hosts_rate(lambda o: o.member_servers, 0.5, (3, 5), (2,)), services.svc_start
    ),
    Kind(
        "backup",
        "win",
        4,
        hosts_rate(lambda o: o.member_servers, 0.5, (1, 3)),
        services.backup,
        "nightly backup opening C$ on every server",
    ),
    Kind(
        "scanner",
        "win",
        2,
        hosts_rate(lambda o: o.servers, 1.0, (2, 4), (2,)),
        services.scanner,
        "a weekly vulnerability scan logging on to every server",
    ),
    Kind(
        "anonymous",
        "win",
        1,
        hosts_rate(lambda o: np.asarray(o.files, np.int32), 0.6),
        services.anonymous,
        "printers' anonymous NTLM logons (key length 0)",
    ),
    Kind(
        "deploy",
        "win",
        3,
        hosts_rate(lambda o: o.member_servers, 0.5, (22, 24), (1,)),
        services.deploy,
        "patch-night agent installs through ADMIN$",
    ),
    Kind(
        "stale_service",
        "win",
        2,
        services.stale_sample,
        services.stale_service,
        "a service with a stale password failing every 5 minutes",
    ),
    Kind(
        "asrep_legit",
        "win",
        1,
        hosts_rate(lambda o: np.asarray([o.dcs[0]], np.int32), 0.5),
        services.asrep_legit,
        "a Unix client of an account without pre-authentication",
    ),
    # Linux hosts (benign_linux.py)
    Kind("cron", "linux", 2, hosts_rate(lambda o: o.linux, 6.0), linux.cron),
    Kind("ssh_dev", "linux", 6, person_rate(0.25, lambda o: o.person_dev), linux.ssh_dev),
    Kind(
        "ssh_typo",
        "linux",
        3,
        person_once("any", 0.05, lambda o: o.person_dev),
        linux.ssh_typo,
        "an ssh password typo, then success",
    ),
    Kind(
        "ansible",
        "linux",
        3,
        hosts_rate(lambda o: o.linux, 1.0, (2, 3)),
        linux.ansible,
        "nightly configuration runs from one address to every Linux host",
    ),
    # remote management (benign_remote.py), appended after the first set: a new row changes
    # every seed's output, an inserted one would also reorder the draws of the rows after it
    Kind(
        "sccm_wmi",
        "win",
        3,
        hosts_rate(remote.workstations, 0.0025, (14, 21), (0, 1, 2, 3, 4)),
        remote.sccm_wmi,
        "configuration management running its health check through WMI",
    ),
    Kind(
        "admin_winrm",
        "win",
        3,
        person_rate(0.04, _is_admin),
        remote.admin_winrm,
        "administrators' PowerShell remoting to servers",
    ),
    Kind(
        "deploy_task",
        "win",
        3,
        hosts_rate(lambda o: o.member_servers, 0.5, (22, 24), (1,)),
        remote.deploy_task,
        "the patch tool creating its install task on every server remotely",
    ),
    Kind(
        "print_spool",
        "win",
        2,
        person_rate(0.05),
        remote.print_spool,
        "print clients opening the spooler pipe on the print server",
    ),
    Kind(
        "monitor_registry",
        "win",
        3,
        hosts_rate(lambda o: o.servers, 1.0, (6, 7)),
        remote.monitor_registry,
        "the monitoring server reading every server's registry over RPC",
    ),
    Kind(
        "kiosk_logon",
        "win",
        2,
        person_rate(0.03, lambda o: o.person_analyst),
        remote.kiosk_logon,
        "a kiosk application logging people on with its own logon process",
    ),
)


# Scenario(name, stream, function, the (attack, technique) pairs its events are labelled with)
ATTACKS: Registry[Scenario] = _table(
    "attack scenario",
    Scenario(
        "campaign",
        "win",
        attacks_windows.campaign,
        (
            ("kerberoasting", "T1558.003"),
            ("pass_the_hash", "T1550.002"),
            ("admin_share", "T1021.002"),
            ("remote_service", "T1569.002"),
            ("new_account", "T1136.002"),
            ("privileged_group_add", "T1098"),
            ("log_cleared", "T1070.001"),
        ),
    ),
    Scenario("brute_force", "win", attacks_windows.brute_force, (("brute_force", "T1110.001"),)),
    Scenario("password_spray", "win", attacks_windows.password_spray, (("password_spray", "T1110.003"),)),
    Scenario(
        "credential_stuffing",
        "win",
        attacks_windows.credential_stuffing,
        (("credential_stuffing", "T1110.004"),),
    ),
    Scenario(
        "success_after_failures",
        "win",
        attacks_windows.success_after_failures,
        (("success_after_failures", "T1110.001"), ("success_after_failures", "T1078")),
    ),
    Scenario(
        "user_enumeration", "win", attacks_windows.user_enumeration, (("user_enumeration", "T1087.002"),)
    ),
    Scenario("asrep_roasting", "win", attacks_windows.asrep_roasting, (("asrep_roasting", "T1558.004"),)),
    Scenario(
        "explicit_credentials",
        "win",
        attacks_windows.explicit_credentials,
        (("explicit_credentials", "T1078.002"),),
    ),
    Scenario("unusual_logon", "win", attacks_windows.unusual_logon, (("unusual_logon", "T1078"),)),
    Scenario("ssh_brute_force", "linux", attacks_linux.ssh_brute_force, (("ssh_brute_force", "T1110.001"),)),
    Scenario("ssh_enumeration", "linux", attacks_linux.ssh_enumeration, (("ssh_enumeration", "T1087.001"),)),
    Scenario(
        "ssh_success_and_persistence",
        "linux",
        attacks_linux.ssh_success_and_persistence,
        (
            ("ssh_success_after_failures", "T1110.001"),
            ("ssh_success_after_failures", "T1078"),
            ("linux_new_account", "T1136.001"),
            ("linux_group_add", "T1098"),
        ),
    ),
    # through remote execution and RPC (attacks_remote.py), appended after the first set
    Scenario("wmi_exec", "win", attacks_remote.wmi_exec, (("wmi_exec", "T1047"),)),
    Scenario("dcom_exec", "win", attacks_remote.dcom_exec, (("dcom_exec", "T1021.003"),)),
    Scenario("winrm_exec", "win", attacks_remote.winrm_exec, (("winrm_exec", "T1021.006"),)),
    Scenario("remote_task", "win", attacks_remote.remote_task, (("remote_task", "T1053.005"),)),
    Scenario("coercion", "win", attacks_remote.coercion, (("coercion", "T1187"),)),
    Scenario(
        "rpc_secrets",
        "win",
        attacks_remote.rpc_secrets,
        (("rpc_secrets", "T1003.002"), ("rpc_secrets", "T1555")),
    ),
    Scenario("zerologon", "win", attacks_remote.zerologon, (("zerologon", "T1210"),)),
    Scenario("explicit_spray", "win", attacks_remote.explicit_spray, (("explicit_spray", "T1110.003"),)),
    Scenario(
        "pth_source",
        "win",
        attacks_remote.pth_source,
        (("pth_source", "T1550.002"), ("seclogon_abuse", "T1003.001")),
    ),
    Scenario("logon_theft", "win", attacks_remote.logon_theft, (("logon_theft", "T1110"),)),
)
