"""Seeded, realistic, labelled authentication logs: Winlogbeat JSON lines and a Linux auth.log.

A small organisation is drawn from the seed: people with time zones, working hours, weekends,
a few night-shift workers, remote days over VPN, administrators with separate admin accounts,
service accounts working around the clock, workstations, servers and domain controllers, and
Linux servers. Their day produces the events a Windows domain really logs (Kerberos 4768/4769
with AES, NTLM 4776, logons 4624 of types 2/3/5/7/8/10 and logoffs, share access, processes,
helpdesk account work, backups, deployments, scanners) and ``sshd``/``sudo``/``cron`` lines.

Attacks are injected on top and every malicious event is listed in ``labels.csv`` (file,
1-based line, technique, attack, attack id). Hard negatives -- benign activity that looks a
bit like an attack (typos, a service with a stale password, a legacy RC4 client, nightly
backups touching ``C$``, patch-night service installs, a vulnerability scanner, OWA logons
through a reverse proxy, travel) -- are left unlabelled and listed in ``manifest.json``.

Everything is numpy arrays: sessions are sampled per day and expanded into event columns, and
lines are assembled by Arrow string kernels, so memory stays bounded by one time window and
ten million events take minutes. The same seed and arguments give byte-identical output.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluebench.errors import BluebenchError

Cols = dict[str, np.ndarray]
Rng = np.random.Generator

DEFAULT_START = date(2025, 3, 3)  # a Monday
DEFAULT_DAYS = 42  # six weeks: behaviour baselines need 20+ active days before they judge
DEFAULT_LINUX_SHARE = 0.03
WINDOW_EVENTS = 400_000  # events expanded and sorted at once (bounds memory)
FORMAT_ROWS = 100_000  # lines assembled at once
MS_HOUR = 3_600_000
MS_DAY = 86_400_000

DOMAIN = "CORP"
FQDN = "corp.example.com"
REALM = "CORP.EXAMPLE.COM"
DOMAIN_SID = "S-1-5-21-3623811015-3361044348-30300820"
DN_SUFFIX = "DC=corp,DC=example,DC=com"

# ----------------------------------------------------------------- event columns ----

COLUMNS: dict[str, Any] = {
    "t": np.int64,  # ms since the epoch, UTC
    "tpl": np.int16,  # template (line layout)
    "host": np.int32,  # host that logs it
    "user": np.int32,  # account acted as / target account
    "subj": np.int32,  # subject account (-1: none)
    "ip": np.uint32,  # remote address (0: none)
    "port": np.int32,
    "src": np.int32,  # host whose name is the workstation name (-1: none)
    "svc": np.int32,  # service account (Kerberos service, 4769)
    "obj": np.int32,  # template-specific index: share, group, service, process, host
    "aux": np.int32,  # template-specific number: logon type, key length, pre-auth type
    "st": np.int16,  # status index in the template's status table
    "enc": np.int16,  # ticket encryption index
    "lid": np.uint32,  # logon id / random per-event entropy
    "pid": np.int32,  # process id (Linux lines)
    "atk": np.int32,  # attack instance (-1: benign)
    "tech": np.int16,  # technique index (attack events)
}


def ev(t: np.ndarray | int, tpl: int, host: np.ndarray | int, **cols: np.ndarray | int) -> Cols:
    """Event columns for ``len(t)`` events; scalars broadcast, missing columns get defaults."""
    t_arr = np.atleast_1d(np.asarray(t, dtype=np.int64))
    n = len(t_arr)
    out: Cols = {"t": t_arr, "tpl": np.full(n, tpl, np.int16)}
    values = {"host": host, **cols}
    for name, dtype in COLUMNS.items():
        if name in out:
            continue
        v = values.get(name)
        if v is None:
            fill = 0 if name in ("ip", "port", "aux", "st", "enc", "lid", "pid") else -1
            out[name] = np.full(n, fill, dtype)
        else:
            a = np.asarray(v)
            out[name] = np.full(n, a, dtype) if a.ndim == 0 else a.astype(dtype, copy=False)
    return out


def concat(parts: Sequence[Cols]) -> Cols:
    """One column table from several (in order)."""
    parts = [p for p in parts if len(p["t"])]
    if not parts:
        return {k: np.empty(0, d) for k, d in COLUMNS.items()}
    return {k: np.concatenate([p[k] for p in parts]) for k in COLUMNS}


def take(c: Cols, idx: np.ndarray | slice) -> Cols:
    """Rows ``idx`` (indices or mask) of every column."""
    return {k: v[idx] for k, v in c.items()}


def nrows(c: Cols) -> int:
    return len(c["t"])


# ------------------------------------------------------------------- the organisation ----

FIRST = [
    "james",
    "mary",
    "robert",
    "patricia",
    "john",
    "jennifer",
    "michael",
    "linda",
    "david",
    "elizabeth",
    "william",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "christopher",
    "lisa",
    "daniel",
    "nancy",
    "matthew",
    "betty",
    "anthony",
    "margaret",
    "mark",
    "sandra",
    "donald",
    "ashley",
    "steven",
    "kimberly",
    "paul",
    "emily",
    "andrew",
    "donna",
    "joshua",
    "michelle",
    "kenneth",
    "carol",
    "kevin",
    "amanda",
    "brian",
    "dorothy",
    "george",
    "melissa",
    "timothy",
    "deborah",
    "ronald",
    "stephanie",
    "edward",
    "rebecca",
    "jason",
    "sharon",
    "jeffrey",
    "laura",
    "ryan",
    "cynthia",
    "jacob",
    "kathleen",
    "gary",
    "amy",
    "nicholas",
    "angela",
    "eric",
    "shirley",
    "jonathan",
    "anna",
    "stephen",
    "brenda",
    "larry",
    "pamela",
    "justin",
    "emma",
    "scott",
    "nicole",
    "brandon",
    "helen",
    "benjamin",
    "samantha",
    "samuel",
    "katherine",
    "priya",
    "wei",
    "fatima",
    "ahmed",
    "yuki",
    "chen",
    "olga",
    "ivan",
    "lucia",
    "mateo",
    "aisha",
    "kwame",
    "ingrid",
    "lars",
    "sofia",
    "hiroshi",
]
LAST = [
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "thompson",
    "white",
    "harris",
    "sanchez",
    "clark",
    "ramirez",
    "lewis",
    "robinson",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "torres",
    "nguyen",
    "hill",
    "flores",
    "green",
    "adams",
    "nelson",
    "baker",
    "hall",
    "rivera",
    "campbell",
    "mitchell",
    "carter",
    "roberts",
    "gomez",
    "phillips",
    "evans",
    "turner",
    "diaz",
    "parker",
    "cruz",
    "edwards",
    "collins",
    "reyes",
    "stewart",
    "morris",
    "morales",
    "murphy",
    "cook",
    "rogers",
    "gutierrez",
    "ortiz",
    "morgan",
    "cooper",
    "peterson",
    "bailey",
    "reed",
    "kelly",
    "howard",
    "ramos",
    "kim",
    "cox",
    "ward",
    "richardson",
    "watson",
    "brooks",
    "chavez",
    "wood",
    "james",
    "bennett",
    "gray",
    "mendoza",
    "ruiz",
    "hughes",
    "price",
    "alvarez",
    "castillo",
    "sanders",
    "patel",
    "myers",
    "long",
    "ross",
    "foster",
    "jimenez",
    "okafor",
    "schmidt",
    "novak",
]
GHOST_NAMES = [
    "admin",
    "administrator1",
    "test",
    "test1",
    "guest1",
    "user",
    "user1",
    "oracle",
    "backup",
    "sql",
    "scanner",
    "support",
    "helpdesk",
    "root",
    "ftp",
    "web",
    "training",
    "temp",
    "demo",
    "sa",
    "operator",
    "manager",
    "postgres",
    "mysql",
    "ubuntu",
    "pi",
    "deploy",
    "jenkins",
    "git",
    "info",
    "office",
    "reception",
    "sales",
    "hr",
    "finance",
    "it",
    "svc",
    "service",
    "webadmin",
    "sysadmin",
    "localadmin",
    "vagrant",
    "ansible",
    "docker",
    "nagios",
    "zabbix",
    "student",
    "intern",
]
ATTACKER_ACCOUNTS = ("svc_update", "helpdesk_adm", "sysbackup", "adm_temp", "msupdate", "support_x")
LINUX_ATTACKER_ACCOUNTS = ("sysupdate", "dbus-daemon", "backup2", "syslogd")
SERVICE_NAMES = [
    "sql",
    "web",
    "app",
    "backup",
    "sccm",
    "scan",
    "legacy",
    "sharepoint",
    "crm",
    "reporting",
    "exchange",
    "ftp",
    "print",
    "erp",
    "hr",
    "payroll",
    "wsus",
    "adfs",
    "iis",
    "jira",
    "confluence",
    "tableau",
    "splunk",
    "veeam",
    "citrix",
    "vmware",
    "ldapsync",
    "monitor",
    "intranet",
    "mailrelay",
    "bi",
    "etl",
    "cognos",
    "sap",
    "oracle",
    "devops",
    "build",
    "artifacts",
]
TIME_ZONES = ((-300, 0.52), (-360, 0.1), (-480, 0.1), (0, 0.1), (60, 0.1), (330, 0.05), (600, 0.03))
DEPARTMENTS = ("Sales", "Finance", "Engineering", "Support", "Operations", "Marketing", "Legal", "HR")
APPS = (
    "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
    "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE",
    "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
    "C:\\Users\\Public\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe",
    "C:\\Windows\\explorer.exe",
    "C:\\Windows\\System32\\notepad.exe",
    "C:\\Program Files\\Mozilla Firefox\\firefox.exe",
    "C:\\Windows\\System32\\mmc.exe",
    "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    "C:\\Windows\\System32\\ServerManager.exe",
    "C:\\Windows\\System32\\cmd.exe",
    "C:\\Windows\\PSEXESVC.exe",
    "C:\\Windows\\System32\\whoami.exe",
)
P_EXPLORER, P_MMC, P_PWSH, P_SRVMGR, P_CMD, P_PSEXESVC, P_WHOAMI = 5, 8, 9, 10, 11, 12, 13
SHARES = (
    ("\\\\*\\IPC$", ""),
    ("\\\\*\\Shared", "C:\\Shares\\Shared"),
    ("\\\\*\\Users", "C:\\Shares\\Users"),
    ("\\\\*\\Departments", "D:\\Departments"),
    ("\\\\*\\SYSVOL", "C:\\Windows\\SYSVOL\\sysvol"),
    ("\\\\*\\C$", "C:\\"),
    ("\\\\*\\ADMIN$", "C:\\Windows"),
)
SH_IPC, SH_SHARED, SH_USERS, SH_DEPT, SH_SYSVOL, SH_C, SH_ADMIN = range(7)
SERVICES = (  # 7045: name, image path, start type, account
    ("PSEXESVC", "%SystemRoot%\\PSEXESVC.exe", "demand start", "LocalSystem"),
    ("CcmExec", "C:\\Windows\\CCM\\CcmExec.exe", "auto start", "LocalSystem"),
    (
        "Sense",
        '"%ProgramFiles%\\Windows Defender Advanced Threat Protection\\MsSense.exe"',
        "auto start",
        "LocalSystem",
    ),
    (
        "gupdate",
        '"C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe" /svc',
        "auto start",
        "LocalSystem",
    ),
    (
        "HealthService",
        '"C:\\Program Files\\Microsoft Monitoring Agent\\Agent\\HealthService.exe"',
        "auto start",
        "LocalSystem",
    ),
    ("VeeamDeploySvc", "C:\\Windows\\Veeam\\Backup\\VeeamDeploymentSvc.exe", "auto start", "LocalSystem"),
)
SV_PSEXEC = 0
GROUPS = (  # name, domain, sid, event code when a member is added
    ("Administrators", "Builtin", "S-1-5-32-544", "4732"),
    ("Remote Desktop Users", "Builtin", "S-1-5-32-555", "4732"),
    ("Backup Operators", "Builtin", "S-1-5-32-551", "4732"),
    ("Domain Admins", DOMAIN, DOMAIN_SID + "-512", "4728"),
    ("VPN Users", DOMAIN, DOMAIN_SID + "-1120", "4728"),
    ("All Staff", DOMAIN, DOMAIN_SID + "-1121", "4728"),
    ("Sales", DOMAIN, DOMAIN_SID + "-1122", "4728"),
    ("Finance", DOMAIN, DOMAIN_SID + "-1123", "4728"),
)
G_ADMINS, G_RDP, G_BACKUP, G_DOMAIN_ADMINS, G_VPN, G_ALL = range(6)
WIN_STATUS = (  # 4625: Status, SubStatus, FailureReason
    ("0xc000006d", "0xc000006a", "%%2313"),
    ("0xc000006d", "0xc0000064", "%%2313"),
    ("0xc000006e", "0xc0000072", "%%2310"),
    ("0xc000006e", "0xc0000071", "%%2309"),
    ("0xc0000234", "0x0", "%%2307"),
)
WS_BADPW, WS_NOUSER, WS_DISABLED, WS_EXPIRED, WS_LOCKED = range(5)
KRB_STATUS = ("0x0", "0x6", "0x12", "0x18", "0x17")
KS_OK, KS_UNKNOWN, KS_REVOKED, KS_BADPW, KS_EXPIRED = range(5)
NTLM_STATUS = ("0x0", "0xc000006a", "0xc0000064", "0xc0000234", "0xc0000072")
NS_OK, NS_BADPW, NS_NOUSER = range(3)
ENC = ("0x12", "0x17", "0x11", "0xffffffff")
E_AES, E_RC4, E_AES128, E_NONE = range(4)
SUDO_CMDS = (
    "/usr/bin/systemctl restart nginx",
    "/usr/bin/apt-get update",
    "/usr/bin/journalctl -u app --since today",
    "/usr/bin/docker ps",
    "/usr/bin/tail -n 200 /var/log/syslog",
    "/usr/sbin/service postgresql reload",
)
PRIVILEGES = (
    "SeSecurityPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeRestorePrivilege\n\t\t\t"
    "SeTakeOwnershipPrivilege\n\t\t\tSeDebugPrivilege\n\t\t\tSeSystemEnvironmentPrivilege\n\t\t\t"
    "SeLoadDriverPrivilege\n\t\t\tSeImpersonatePrivilege\n\t\t\tSeDelegateSessionUserImpersonatePrivilege"
)


def _ip(a: int, b: int, c: int, d: int) -> int:
    return (a << 24) | (b << 16) | (c << 8) | d


EXTERNAL_NETS = (_ip(192, 0, 2, 0), _ip(198, 51, 100, 0), _ip(203, 0, 113, 0))  # documentation ranges
OWA_PROXY_IP = _ip(10, 20, 1, 5)
PRINTER_NET = _ip(10, 40, 0, 0)


class Org:
    """Accounts, hosts and people drawn from the seed; string columns are pre-escaped for JSON."""

    def __init__(self, rng: Rng, people: int) -> None:
        self.acc_name: list[str] = []
        self.acc_sid: list[str] = []
        self.acc_dom: list[str] = []
        self.acc_dn: list[str] = []
        self.host_fqdn: list[str] = []
        self.host_short: list[str] = []
        self.host_ip: list[int] = []
        self.host_macc: list[int] = []
        self.host_linux: list[bool] = []
        self._rid = 1100
        self.none = self._acct("-", "S-1-0-0", "-")
        self.system = self._acct("SYSTEM", "S-1-5-18", "NT AUTHORITY")
        self.anonymous = self._acct("ANONYMOUS LOGON", "S-1-5-7", "NT AUTHORITY")
        self.administrator = self._acct("Administrator", DOMAIN_SID + "-500", DOMAIN)
        self.krbtgt = self._acct("krbtgt", DOMAIN_SID + "-502", DOMAIN)
        self.root = self._acct("root", "0", "")

        # hosts: domain controllers, servers by role, internet-facing, workstations, Linux
        n = people
        self.dcs = [self._host(f"DC{i + 1:02d}", _ip(10, 20, 0, 10 + i)) for i in range(2 + n // 5000)]
        self.files = [self._host(f"FS{i + 1:02d}", _ip(10, 20, 0, 30 + i)) for i in range(1 + n // 1500)]
        self.sqls = [self._host(f"SQL{i + 1:02d}", _ip(10, 20, 0, 50 + i)) for i in range(1 + n // 3000)]
        self.webs = [self._host(f"WEB{i + 1:02d}", _ip(10, 20, 0, 70 + i)) for i in range(1 + n // 2000)]
        self.apps = [self._host(f"APP{i + 1:02d}", _ip(10, 20, 2, 10 + i)) for i in range(2 + n // 500)]
        self.exch = self._host("EXCH01", _ip(10, 20, 0, 90))
        self.rdgw = self._host("RDGW01", _ip(10, 20, 0, 91))
        self.ts = self._host("TS01", _ip(10, 20, 0, 92))
        self.bkp = self._host("BKP01", _ip(10, 20, 0, 93))
        self.sccm = self._host("SCCM01", _ip(10, 20, 0, 94))
        self.scan = self._host("SCAN01", _ip(10, 20, 0, 95))
        self.mgmt = self._host("MGMT01", _ip(10, 20, 0, 96))
        self.legacy = self._host("APP-LEGACY01", _ip(10, 20, 0, 97))
        extra = (self.sccm, self.scan, self.mgmt, self.legacy)
        self.servers = np.array(
            [
                *self.files,
                *self.sqls,
                *self.webs,
                *self.apps,
                self.exch,
                self.rdgw,
                self.ts,
                self.bkp,
                *extra,
            ],
            dtype=np.int32,
        )
        self.member_servers = np.array([*self.files, *self.sqls, *self.webs, *self.apps, self.ts], np.int32)

        # service accounts with SPNs (Kerberoasting targets) and their main client server
        n_svc = max(12, min(len(SERVICE_NAMES), 10 + n // 200))
        self.svc = np.array([self._acct(f"svc_{s}", None, DOMAIN) for s in SERVICE_NAMES[:n_svc]], np.int32)
        self.svc_sql, self.svc_web, self.svc_app, self.svc_backup = (int(x) for x in self.svc[:4])
        self.svc_sccm, self.svc_scan, self.svc_legacy = (int(x) for x in self.svc[4:7])
        self.svc_reporting = int(self.svc[9])
        self.svc_unix = self._acct("svc_unix", None, DOMAIN)  # pre-auth disabled on purpose
        self.ansible = self._acct("ansible", "1050", "")

        # people: a user account, a workstation, habits
        names = self._names(rng, n + n // 20 + 10)
        self.person_acct = np.array([self._acct(nm, None, DOMAIN) for nm in names[:n]], np.int32)
        self.new_hires = np.array([self._acct(nm, None, DOMAIN) for nm in names[n:]], np.int32)
        laptop = rng.random(n) < 0.6
        wks = []
        for i in range(n):
            prefix = "LT" if laptop[i] else "WKS"
            wks.append(
                self._host(
                    f"{prefix}-{i + 1:05d}",
                    _ip(10, 10 + ((i + 1) >> 16), ((i + 1) >> 8) & 255, (i + 1) & 255),
                )
            )
        self.person_wks = np.array(wks, np.int32)
        tz_vals = np.array([z for z, _ in TIME_ZONES])
        tz_p = np.array([p for _, p in TIME_ZONES])
        self.person_tz = rng.choice(tz_vals, n, p=tz_p / tz_p.sum()).astype(np.int64)
        self.person_night = rng.random(n) < 0.03
        self.person_start = np.where(
            self.person_night, 22.0 + rng.normal(0, 0.3, n), rng.normal(8.4, 0.7, n).clip(6.5, 10.5)
        )
        self.person_len = rng.normal(8.6, 0.6, n).clip(6.5, 10.5)
        self.person_remote = np.where(laptop, rng.beta(2, 5, n), 0.0)
        self.person_weekend = np.where(rng.random(n) < 0.15, rng.uniform(0.05, 0.3, n), 0.01)
        self.person_vpn_ip = (_ip(10, 200, 0, 0) + rng.integers(256, 65000, n)).astype(np.uint32)
        self.person_analyst = rng.random(n) < 0.3
        self.person_legacy = rng.random(n) < 0.01  # an old client that still asks for RC4 tickets
        self.person_dev = rng.random(n) < 0.06  # uses ssh on the Linux servers
        self.person_legacy[rng.integers(0, n)] = True  # at least one of each, even in small runs
        self.person_dev[rng.integers(0, n)] = True
        self.person_dept = rng.integers(0, len(DEPARTMENTS), n)
        n_admins = max(2, n // 35)
        self.admins = np.sort(rng.choice(n, n_admins, replace=False)).astype(np.int32)
        self.admin_acct = np.full(n, -1, np.int32)
        for p in self.admins:
            self.admin_acct[p] = self._acct("adm-" + self.acc_name[self.person_acct[p]], None, DOMAIN)
        self.helpdesk = self.admin_acct[self.admins[: max(1, len(self.admins) // 3)]]
        self.roastable = np.concatenate(
            [[self.svc_unix], rng.choice(self.person_acct, min(n, 4), replace=False)]
        ).astype(np.int32)
        self.ghosts = np.array([self._acct(g, "S-1-0-0", DOMAIN) for g in GHOST_NAMES], np.int32)
        outsiders = self._names(rng, 80, exclude=set(names))
        self.outsiders = np.array([self._acct(nm, "S-1-0-0", DOMAIN) for nm in outsiders], np.int32)
        self.attacker_accounts = np.array(
            [self._acct(nm, None, DOMAIN) for nm in ATTACKER_ACCOUNTS], np.int32
        )
        self.linux_attacker_accounts = np.array(
            [self._acct(nm, str(1100 + i), "") for i, nm in enumerate(LINUX_ATTACKER_ACCOUNTS)], np.int32
        )
        self.linux = np.array(
            [self._host(nm, _ip(10, 30, 0, 10 + i), linux=True) for i, nm in enumerate(self._linux_names(n))],
            np.int32,
        )
        self.bastion = int(self.linux[0])
        # machines attackers use: a name for WorkstationName and an address
        self.attacker_hosts = np.array(
            [
                self._host(nm, int(EXTERNAL_NETS[i % 3] + 1 + rng.integers(0, 254)), machine=False)
                for i, nm in enumerate(
                    [
                        "kali",
                        *(f"DESKTOP-{_word(rng, 7)}" for _ in range(12)),
                        *(f"WIN-{_word(rng, 11)}" for _ in range(6)),
                    ]
                )
            ],
            np.int32,
        )
        self._arrays()

    # -- building blocks
    def _acct(self, name: str, sid: str | None, dom: str) -> int:
        if sid is None:
            self._rid += 1
            sid = f"{DOMAIN_SID}-{self._rid}"
        self.acc_name.append(name)
        self.acc_sid.append(sid)
        self.acc_dom.append(dom)
        cn = " ".join(p.capitalize() for p in name.replace("_", " ").replace(".", " ").split())
        self.acc_dn.append(f"CN={cn},OU=Users,OU=Corp,{DN_SUFFIX}")
        return len(self.acc_name) - 1

    def _host(self, short: str, ip: int, linux: bool = False, machine: bool = True) -> int:
        idx = len(self.host_fqdn)
        self.host_short.append(short)
        self.host_fqdn.append(short if linux or not machine else f"{short}.{FQDN}")
        self.host_ip.append(ip)
        self.host_linux.append(linux)
        self.host_macc.append(self._acct(short + "$", None, DOMAIN) if machine and not linux else -1)
        return idx

    @staticmethod
    def _names(rng: Rng, n: int, exclude: set[str] | None = None) -> list[str]:
        exclude = exclude or set()
        out: list[str] = []
        seen = set(exclude)
        suffix = 0
        while len(out) < n:
            f = rng.permutation(len(FIRST))
            la = rng.permutation(len(LAST))
            for i in range(min(len(f), len(la))):
                nm = f"{FIRST[f[i]]}.{LAST[la[i]]}" + (str(suffix) if suffix else "")
                if nm not in seen:
                    seen.add(nm)
                    out.append(nm)
                    if len(out) == n:
                        break
            if len(out) < n and len(seen) > 0.5 * len(FIRST) * len(LAST) * (suffix + 1):
                suffix += 1
        return out

    @staticmethod
    def _linux_names(people: int) -> list[str]:
        n = 3 + people // 1000
        base = ["bastion01", "web-lnx01", "db-lnx01", "ci-lnx01", "mon-lnx01"]
        return [*base, *(f"app-lnx{i:02d}" for i in range(1, n))][:n]

    def _arrays(self) -> None:
        """Arrow lookup tables, built once: index -1 reads the last entry ('-')."""

        def table(values: Sequence[str], missing: str = "-") -> pa.Array:
            return pa.array([_j(v) for v in values] + [missing], pa.string())

        self.t_acc_name = table(self.acc_name)
        self.t_acc_sid = table(self.acc_sid, "S-1-0-0")
        self.t_acc_dom = table(self.acc_dom)
        self.t_acc_dn = table(self.acc_dn)
        self.t_acc_upn = table([f"{a}@{REALM}" for a in self.acc_name])
        self.t_acc_uid = table([_uid(s) for s in self.acc_sid])
        self.t_host_fqdn = table(self.host_fqdn)
        self.t_host_lower = table([h.lower() for h in self.host_fqdn])
        self.t_host_short = table(self.host_short)
        macc = np.array(self.host_macc, np.int32)
        self.host_macc_arr = macc
        self.t_host_macc = table([self.acc_name[m] if m >= 0 else "-" for m in macc])
        self.t_host_msid = table([self.acc_sid[m] if m >= 0 else "S-1-0-0" for m in macc])
        self.t_host_pid = table([str(600 + (i * 7919) % 300) for i in range(len(self.host_fqdn))])
        self.host_ip_arr = np.array(self.host_ip, np.uint32)
        self.n_hosts = len(self.host_fqdn)


def _j(s: str) -> str:
    """A string as it appears inside JSON quotes."""
    return json.dumps(s, ensure_ascii=False)[1:-1]


def _uid(sid: str) -> str:
    if sid == "0":
        return "0"
    rid = sid.rsplit("-", 1)[-1]
    return str(int(rid) % 60000 + 1000) if rid.isdigit() else "0"


def _word(rng: Rng, n: int) -> str:
    letters = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", np.uint8)
    return bytes(letters[rng.integers(0, len(letters), n)]).decode()


# ---------------------------------------------------------------------- templates ----

SEC_PROVIDER = ("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-a5ba-3e3b0328c30d}")
EVENTLOG_PROVIDER = ("Microsoft-Windows-Eventlog", "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}")
SCM_PROVIDER = ("Service Control Manager", "{555908d1-a6d7-4695-8e1e-26931d2012f4}")
FIELD = re.compile(r"%\((\w+)\)")


def _ed(**fields: str) -> str:
    """EventData as JSON members; values may hold %(field) placeholders, constants are escaped."""
    parts = []
    for k, v in fields.items():
        pieces = FIELD.split(v)
        text = "".join(_j(p) if i % 2 == 0 else f"%({p})" for i, p in enumerate(pieces))
        parts.append(f'"{k}":"{text}"')
    return ",".join(parts)


def _win(
    code: str,
    task: str,
    action: str,
    outcome: str,
    message: str,
    event_data: str,
    provider: tuple[str, str] = SEC_PROVIDER,
    channel: str = "Security",
    user_data: bool = False,
) -> str:
    """A Winlogbeat 8 record (one line) with the given EventData members."""
    keywords = '"Audit Failure"' if outcome == "failure" else '"Audit Success"'
    if outcome.startswith("%("):
        keywords = '"%(nkw)"'
    if channel != "Security":
        keywords = '"Classic"'
    out = f',"outcome":"{outcome}"' if outcome else ""
    data = (
        f'"user_data":{{{event_data},"xml_name":"LogFileCleared"}}'
        if user_data
        else f'"event_data":{{{event_data}}}'
    )
    return (
        '{"@timestamp":"%(ts)","agent":{"type":"winlogbeat","version":"8.17.0","name":"%(hshort)"},'
        '"ecs":{"version":"8.0.0"},"host":{"name":"%(hlower)"},'
        f'"event":{{"code":"{code}","kind":"event","provider":"{provider[0]}","action":"{action}"{out}}},'
        '"log":{"level":"information"},'
        f'"winlog":{{"api":"wineventlog","channel":"{channel}","computer_name":"%(host)","event_id":"{code}",'
        f'"provider_name":"{provider[0]}","provider_guid":"{provider[1]}","record_id":%(rec),"task":"{task}",'
        f'"keywords":[{keywords}],"opcode":"Info","process":{{"pid":%(hpid),"thread":{{"id":%(thread)}}}},{data}}},'
        f'"message":"{_j(message)}"}}\n'
    )


SUBJ_MACHINE = {
    "SubjectUserSid": "%(hmsid)",
    "SubjectUserName": "%(hmacc)",
    "SubjectDomainName": DOMAIN,
    "SubjectLogonId": "0x3e7",
}
SUBJ_NULL = {
    "SubjectUserSid": "S-1-0-0",
    "SubjectUserName": "-",
    "SubjectDomainName": "-",
    "SubjectLogonId": "0x0",
}
SUBJ_USER = {
    "SubjectUserSid": "%(usid)",
    "SubjectUserName": "%(user)",
    "SubjectDomainName": "%(udom)",
    "SubjectLogonId": "%(lid)",
}
SUBJ_SUBJ = {
    "SubjectUserSid": "%(ssid)",
    "SubjectUserName": "%(subj)",
    "SubjectDomainName": "%(sdom)",
    "SubjectLogonId": "%(slid)",
}
TARGET = {"TargetUserSid": "%(usid)", "TargetUserName": "%(user)", "TargetDomainName": "%(udom)"}


def _logon(
    subject: dict[str, str],
    logon_type: str,
    process: str,
    package: str,
    ws: str,
    ip: str,
    port: str,
    proc: str,
    keylen: str = "0",
    lm: str = "-",
    **extra: str,
) -> str:
    return _win(
        "4624",
        "Logon",
        "logged-in",
        "success",
        "An account was successfully logged on.",
        _ed(
            **subject,
            **TARGET,
            TargetLogonId="%(lid)",
            LogonType=logon_type,
            LogonProcessName=process,
            AuthenticationPackageName=package,
            WorkstationName=ws,
            LogonGuid="{00000000-0000-0000-0000-000000000000}",
            TransmittedServices="-",
            LmPackageName=lm,
            KeyLength=keylen,
            ProcessId="0x0" if proc == "-" else "0x2c4",
            ProcessName=proc,
            IpAddress=ip,
            IpPort=port,
            ImpersonationLevel="%%1833",
            RestrictedAdminMode="-",
            VirtualAccount="%%1843",
            ElevatedToken="%%1842",
            **extra,
        ),
    )


def _failed(
    subject: dict[str, str],
    logon_type: str,
    process: str,
    package: str,
    ws: str,
    ip: str,
    port: str,
    proc: str,
) -> str:
    return _win(
        "4625",
        "Logon",
        "logon-failed",
        "failure",
        "An account failed to log on.",
        _ed(
            **subject,
            TargetUserSid="S-1-0-0",
            TargetUserName="%(user)",
            TargetDomainName="%(udom)",
            Status="%(wst)",
            FailureReason="%(wreason)",
            SubStatus="%(wsub)",
            LogonType=logon_type,
            LogonProcessName=process,
            AuthenticationPackageName=package,
            WorkstationName=ws,
            TransmittedServices="-",
            LmPackageName="-",
            KeyLength="0",
            ProcessId="0x0" if proc == "-" else "0x2c4",
            ProcessName=proc,
            IpAddress=ip,
            IpPort=port,
        ),
    )


SVCHOST = "C:\\Windows\\System32\\svchost.exe"
LSASS = "C:\\Windows\\System32\\lsass.exe"
SERVICES_EXE = "C:\\Windows\\System32\\services.exe"


def _linux(program: str, message: str) -> str:
    return f"%(lts) %(hshort) {program}[%(pid)]: {message}\n"


TEMPLATES: dict[str, tuple[str, str]] = {
    # name: (stream, layout)
    "logon_interactive": (
        "win",
        _logon(SUBJ_MACHINE, "%(aux)", "User32 ", "Negotiate", "%(hshort)", "127.0.0.1", "0", SVCHOST),
    ),
    "logon_net_krb": ("win", _logon(SUBJ_NULL, "3", "Kerberos", "Kerberos", "-", "%(ip)", "%(port)", "-")),
    "logon_net_ntlm": (
        "win",
        _logon(
            SUBJ_NULL,
            "3",
            "NtLmSsp ",
            "NTLM",
            "%(src)",
            "%(ip)",
            "%(port)",
            "-",
            keylen="%(aux)",
            lm="NTLM V2",
        ),
    ),
    "logon_service": (
        "win",
        _logon(
            SUBJ_MACHINE | {"SubjectUserSid": "S-1-5-18"},
            "5",
            "Advapi  ",
            "Negotiate",
            "-",
            "-",
            "-",
            SERVICES_EXE,
        ),
    ),
    "logon_rdp": (
        "win",
        _logon(SUBJ_MACHINE, "10", "User32 ", "Negotiate", "%(hshort)", "%(ip)", "%(port)", SVCHOST),
    ),
    "logon_cleartext": (
        "win",
        _logon(
            SUBJ_MACHINE,
            "8",
            "Advapi  ",
            "Negotiate",
            "%(hshort)",
            "%(ip)",
            "%(port)",
            "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
        ),
    ),
    "logon_newcreds": (
        "win",
        _logon(
            SUBJ_USER,
            "9",
            "seclogo",
            "Negotiate",
            "-",
            "::1",
            "0",
            SVCHOST,
            TargetOutboundUserName="%(oacct)",
            TargetOutboundDomainName=DOMAIN,
        ),
    ),
    "failed_interactive": (
        "win",
        _failed(SUBJ_MACHINE, "2", "User32 ", "Negotiate", "%(hshort)", "127.0.0.1", "0", SVCHOST),
    ),
    "failed_net": ("win", _failed(SUBJ_NULL, "3", "NtLmSsp ", "NTLM", "%(src)", "%(ip)", "%(port)", "-")),
    "failed_cleartext": (
        "win",
        _failed(
            SUBJ_MACHINE,
            "8",
            "Advapi  ",
            "Negotiate",
            "%(hshort)",
            "%(ip)",
            "%(port)",
            "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
        ),
    ),
    "logoff": (
        "win",
        _win(
            "4634",
            "Logoff",
            "logged-out",
            "success",
            "An account was logged off.",
            _ed(**TARGET, TargetLogonId="%(lid)", LogonType="%(aux)"),
        ),
    ),
    "user_logoff": (
        "win",
        _win(
            "4647",
            "Logoff",
            "logged-out",
            "success",
            "User initiated logoff:",
            _ed(**TARGET, TargetLogonId="%(lid)"),
        ),
    ),
    "special": (
        "win",
        _win(
            "4672",
            "Special Logon",
            "logged-in-special",
            "success",
            "Special privileges assigned to new logon.",
            _ed(**SUBJ_USER, PrivilegeList=PRIVILEGES),
        ),
    ),
    "tgt": (
        "win",
        _win(
            "4768",
            "Kerberos Authentication Service",
            "kerberos-authentication-ticket-requested",
            "success",
            "A Kerberos authentication ticket (TGT) was requested.",
            _ed(
                TargetUserName="%(user)",
                TargetDomainName=REALM,
                TargetSid="%(usid)",
                ServiceName="krbtgt",
                ServiceSid=DOMAIN_SID + "-502",
                TicketOptions="0x40810010",
                Status="%(kst)",
                TicketEncryptionType="%(enc)",
                PreAuthType="%(aux)",
                IpAddress="::ffff:%(ip)",
                IpPort="%(port)",
                CertIssuerName="",
                CertSerialNumber="",
                CertThumbprint="",
            ),
        ),
    ),
    "tgt_failed": (
        "win",
        _win(
            "4768",
            "Kerberos Authentication Service",
            "kerberos-authentication-ticket-requested",
            "failure",
            "A Kerberos authentication ticket (TGT) was requested.",
            _ed(
                TargetUserName="%(user)",
                TargetDomainName=REALM,
                TargetSid="S-1-0-0",
                ServiceName="krbtgt/" + REALM,
                ServiceSid="S-1-0-0",
                TicketOptions="0x40810010",
                Status="%(kst)",
                TicketEncryptionType="0xffffffff",
                PreAuthType="-",
                IpAddress="::ffff:%(ip)",
                IpPort="%(port)",
                CertIssuerName="",
                CertSerialNumber="",
                CertThumbprint="",
            ),
        ),
    ),
    "tgs": (
        "win",
        _win(
            "4769",
            "Kerberos Service Ticket Operations",
            "kerberos-service-ticket-requested",
            "success",
            "A Kerberos service ticket was requested.",
            _ed(
                TargetUserName="%(uupn)",
                TargetDomainName=REALM,
                ServiceName="%(svc)",
                ServiceSid="%(svcsid)",
                TicketOptions="%(topt)",
                TicketEncryptionType="%(enc)",
                IpAddress="::ffff:%(ip)",
                IpPort="%(port)",
                Status="%(kst)",
                LogonGuid="{%(guid)}",
                TransmittedServices="-",
            ),
        ),
    ),
    "preauth_failed": (
        "win",
        _win(
            "4771",
            "Kerberos Authentication Service",
            "kerberos-preauth-failed",
            "failure",
            "Kerberos pre-authentication failed.",
            _ed(
                TargetUserName="%(user)",
                TargetSid="%(usid)",
                ServiceName="krbtgt/" + REALM,
                TicketOptions="0x40810010",
                Status="%(kst)",
                PreAuthType="2",
                IpAddress="::ffff:%(ip)",
                IpPort="%(port)",
                CertIssuerName="",
                CertSerialNumber="",
                CertThumbprint="",
            ),
        ),
    ),
    "ntlm": (
        "win",
        _win(
            "4776",
            "Credential Validation",
            "credential-validated",
            "%(nout)",
            "The computer attempted to validate the credentials for an account.",
            _ed(
                PackageName="MICROSOFT_AUTHENTICATION_PACKAGE_V1_0",
                TargetUserName="%(user)",
                Workstation="%(src)",
                Status="%(nst)",
            ),
        ),
    ),
    "explicit": (
        "win",
        _win(
            "4648",
            "Logon",
            "logged-in-explicit",
            "success",
            "A logon was attempted using explicit credentials.",
            _ed(
                **SUBJ_SUBJ,
                LogonGuid="{00000000-0000-0000-0000-000000000000}",
                TargetUserName="%(user)",
                TargetDomainName="%(udom)",
                TargetLogonGuid="{%(guid)}",
                TargetServerName="%(ohost)",
                TargetInfo="%(ohost)",
                ProcessId="0x1f4c",
                ProcessName=SVCHOST,
                IpAddress="-",
                IpPort="-",
            ),
        ),
    ),
    "share": (
        "win",
        _win(
            "5140",
            "File Share",
            "network-share-object-accessed",
            "success",
            "A network share object was accessed.",
            _ed(
                **SUBJ_USER,
                ObjectType="File",
                IpAddress="%(ip)",
                IpPort="%(port)",
                ShareName="%(oshare)",
                ShareLocalPath="%(osharepath)",
                AccessMask="0x1",
                AccessList="%%4416\n\t\t\t\t",
            ),
        ),
    ),
    "service_installed": (
        "win",
        _win(
            "7045",
            "None",
            "service-installed",
            "",
            "A service was installed in the system.",
            _ed(
                ServiceName="%(osvc)",
                ImagePath="%(oimage)",
                ServiceType="user mode service",
                StartType="%(ostart)",
                AccountName="%(oaccount)",
            ),
            provider=SCM_PROVIDER,
            channel="System",
        ),
    ),
    "process": (
        "win",
        _win(
            "4688",
            "Process Creation",
            "created-process",
            "success",
            "A new process has been created.",
            _ed(
                **SUBJ_USER,
                NewProcessId="%(npid)",
                NewProcessName="%(oproc)",
                TokenElevationType="%%1938",
                ProcessId="0x1a8c",
                CommandLine="",
                TargetUserSid="S-1-0-0",
                TargetUserName="-",
                TargetDomainName="-",
                TargetLogonId="0x0",
                ParentProcessName="C:\\Windows\\explorer.exe",
                MandatoryLabel="S-1-16-8192",
            ),
        ),
    ),
    "user_created": (
        "win",
        _win(
            "4720",
            "User Account Management",
            "added-user-account",
            "success",
            "A user account was created.",
            _ed(
                TargetUserName="%(user)",
                TargetDomainName="%(udom)",
                TargetSid="%(usid)",
                **SUBJ_SUBJ,
                PrivilegeList="-",
                SamAccountName="%(user)",
                DisplayName="%(user)",
                UserPrincipalName="%(uupn)",
                HomeDirectory="-",
                HomePath="-",
                ScriptPath="-",
                ProfilePath="-",
                UserWorkstations="-",
                PasswordLastSet="%%1794",
                AccountExpires="%%1794",
                PrimaryGroupId="513",
                AllowedToDelegateTo="-",
                OldUacValue="0x0",
                NewUacValue="0x15",
                UserAccountControl="\n\t\t%%2080\n\t\t%%2082\n\t\t%%2084",
                UserParameters="%%1793",
                SidHistory="-",
                LogonHours="%%1797",
            ),
        ),
    ),
    "user_enabled": (
        "win",
        _win(
            "4722",
            "User Account Management",
            "enabled-user-account",
            "success",
            "A user account was enabled.",
            _ed(TargetUserName="%(user)", TargetDomainName="%(udom)", TargetSid="%(usid)", **SUBJ_SUBJ),
        ),
    ),
    "password_reset": (
        "win",
        _win(
            "4724",
            "User Account Management",
            "reset-password",
            "success",
            "An attempt was made to reset an account's password.",
            _ed(TargetUserName="%(user)", TargetDomainName="%(udom)", TargetSid="%(usid)", **SUBJ_SUBJ),
        ),
    ),
    "user_changed": (
        "win",
        _win(
            "4738",
            "User Account Management",
            "modified-user-account",
            "success",
            "A user account was changed.",
            _ed(
                TargetUserName="%(user)",
                TargetDomainName="%(udom)",
                TargetSid="%(usid)",
                **SUBJ_SUBJ,
                PrivilegeList="-",
            ),
        ),
    ),
    "group_add_local": (
        "win",
        _win(
            "4732",
            "Security Group Management",
            "added-member-to-group",
            "success",
            "A member was added to a security-enabled local group.",
            _ed(
                MemberName="%(udn)",
                MemberSid="%(usid)",
                TargetUserName="%(ogroup)",
                TargetDomainName="%(ogroupdom)",
                TargetSid="%(ogroupsid)",
                **SUBJ_SUBJ,
                PrivilegeList="-",
            ),
        ),
    ),
    "group_add_global": (
        "win",
        _win(
            "4728",
            "Security Group Management",
            "added-member-to-group",
            "success",
            "A member was added to a security-enabled global group.",
            _ed(
                MemberName="%(udn)",
                MemberSid="%(usid)",
                TargetUserName="%(ogroup)",
                TargetDomainName="%(ogroupdom)",
                TargetSid="%(ogroupsid)",
                **SUBJ_SUBJ,
                PrivilegeList="-",
            ),
        ),
    ),
    "log_cleared": (
        "win",
        _win(
            "1102",
            "Log clear",
            "audit-log-cleared",
            "",
            "The audit log was cleared.",
            _ed(
                SubjectUserSid="%(usid)",
                SubjectUserName="%(user)",
                SubjectDomainName="%(udom)",
                SubjectLogonId="%(lid)",
            ),
            provider=EVENTLOG_PROVIDER,
            user_data=True,
        ),
    ),
    # Linux auth.log lines (RFC 3339 time stamps, as rsyslog writes them by default today)
    "ssh_accept_key": (
        "linux",
        _linux("sshd", "Accepted publickey for %(user) from %(ip) port %(port) ssh2: ED25519 SHA256:%(fp)"),
    ),
    "ssh_accept_pw": ("linux", _linux("sshd", "Accepted password for %(user) from %(ip) port %(port) ssh2")),
    "ssh_failed_pw": ("linux", _linux("sshd", "Failed password for %(user) from %(ip) port %(port) ssh2")),
    "ssh_failed_invalid": (
        "linux",
        _linux("sshd", "Failed password for invalid user %(user) from %(ip) port %(port) ssh2"),
    ),
    "ssh_invalid_user": ("linux", _linux("sshd", "Invalid user %(user) from %(ip) port %(port)")),
    "ssh_pam_failure": (
        "linux",
        _linux(
            "sshd",
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%(ip)  user=%(user)",
        ),
    ),
    "ssh_session_open": (
        "linux",
        _linux("sshd", "pam_unix(sshd:session): session opened for user %(user)(uid=%(uid)) by (uid=0)"),
    ),
    "ssh_session_close": ("linux", _linux("sshd", "pam_unix(sshd:session): session closed for user %(user)")),
    "ssh_disconnect": ("linux", _linux("sshd", "Disconnected from user %(user) %(ip) port %(port)")),
    "ssh_closed_preauth": (
        "linux",
        _linux("sshd", "Connection closed by authenticating user %(user) %(ip) port %(port) [preauth]"),
    ),
    "sudo_cmd": (
        "linux",
        _linux("sudo", "   %(user) : TTY=pts/0 ; PWD=/home/%(user) ; USER=root ; COMMAND=%(osudo)"),
    ),
    "sudo_session": (
        "linux",
        _linux("sudo", "pam_unix(sudo:session): session opened for user root(uid=0) by %(user)(uid=%(uid))"),
    ),
    "cron_open": (
        "linux",
        _linux("CRON", "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"),
    ),
    "cron_close": ("linux", _linux("CRON", "pam_unix(cron:session): session closed for user root")),
    "useradd": (
        "linux",
        _linux(
            "useradd",
            "new user: name=%(user), UID=%(uid), GID=%(uid), home=/home/%(user), shell=/bin/bash, from=/dev/pts/1",
        ),
    ),
    "usermod_group": ("linux", _linux("usermod", "add '%(user)' to group 'sudo'")),
}
TPL = {name: i for i, name in enumerate(TEMPLATES)}
STREAMS = ("win", "linux")
TPL_STREAM = np.array([STREAMS.index(s) for s, _ in TEMPLATES.values()], np.int8)


# -------------------------------------------------------------------- line assembly ----

_DIGITS = np.frombuffer(b"0123456789", np.uint8)
_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)


def _fixed(mat: np.ndarray) -> pa.Array:
    """An Arrow string array from an (n, width) uint8 matrix of ASCII."""
    n, w = mat.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(mat))]
    )


def _digits(v: np.ndarray, width: int) -> np.ndarray:
    v = v.astype(np.int64)
    return np.stack([_DIGITS[(v // 10 ** (width - 1 - i)) % 10] for i in range(width)], axis=1)


def _const(n: int, text: str) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text.encode(), np.uint8), (n, len(text)))


def _civil(t_ms: np.ndarray) -> tuple[np.ndarray, ...]:
    """(year, month, day, hour, minute, second, ms) from epoch ms (proleptic Gregorian)."""
    days = t_ms // MS_DAY
    rem = t_ms - days * MS_DAY
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = yoe + era * 400 + (m <= 2)
    return y, m, d, rem // MS_HOUR, rem // 60000 % 60, rem // 1000 % 60, rem % 1000


def _iso(t_ms: np.ndarray, linux: bool = False) -> pa.Array:
    """'2025-03-03T14:22:01.123Z' (Winlogbeat) or '2025-03-03T14:22:01.123456+00:00' (rsyslog)."""
    y, mo, d, h, mi, s, ms = _civil(t_ms)
    n = len(t_ms)
    parts = [_digits(y, 4), _const(n, "-"), _digits(mo, 2), _const(n, "-"), _digits(d, 2), _const(n, "T")]
    parts += [_digits(h, 2), _const(n, ":"), _digits(mi, 2), _const(n, ":"), _digits(s, 2), _const(n, ".")]
    if linux:
        parts += [_digits(ms * 1000 + (t_ms * 7 % 1000), 6), _const(n, "+00:00")]
    else:
        parts += [_digits(ms, 3), _const(n, "Z")]
    return _fixed(np.concatenate(parts, axis=1))


def _hex(v: np.ndarray, width: int, prefix: str = "") -> pa.Array:
    v = v.astype(np.uint64)
    cols = [_HEX[(v >> np.uint64(4 * (width - 1 - i))) & np.uint64(15)] for i in range(width)]
    mat = np.stack(cols, axis=1)
    if prefix:
        mat = np.concatenate([_const(len(v), prefix), mat], axis=1)
    return _fixed(mat)


_OCTETS = pa.array([str(i) for i in range(256)], pa.string())


def _dotted(ip: np.ndarray) -> pa.Array:
    ip = ip.astype(np.uint32)
    octs = [
        _OCTETS.take(pa.array(((ip >> np.uint32(s)) & np.uint32(255)).astype(np.int32)))
        for s in (24, 16, 8, 0)
    ]
    text = pc.binary_join_element_wise(*octs, ".")
    return pc.if_else(pa.array(ip == 0), "-", text)


def _ints(v: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(v.astype(np.int64)), pa.string())


class Formatter:
    """Assembles lines for rows of a column table, template by template, with Arrow kernels."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.parts: list[list[str]] = [FIELD.split(layout) for _, layout in TEMPLATES.values()]
        self.lookups: dict[str, tuple[str, pa.Array]] = {
            "host": ("host", org.t_host_fqdn),
            "hlower": ("host", org.t_host_lower),
            "hshort": ("host", org.t_host_short),
            "hmacc": ("host", org.t_host_macc),
            "hmsid": ("host", org.t_host_msid),
            "hpid": ("host", org.t_host_pid),
            "user": ("user", org.t_acc_name),
            "usid": ("user", org.t_acc_sid),
            "udom": ("user", org.t_acc_dom),
            "uupn": ("user", org.t_acc_upn),
            "udn": ("user", org.t_acc_dn),
            "uid": ("user", org.t_acc_uid),
            "subj": ("subj", org.t_acc_name),
            "ssid": ("subj", org.t_acc_sid),
            "sdom": ("subj", org.t_acc_dom),
            "svc": ("svc", org.t_acc_name),
            "svcsid": ("svc", org.t_acc_sid),
            "src": ("src", org.t_host_short),
            "oacct": ("obj", org.t_acc_name),
            "ohost": ("obj", org.t_host_fqdn),
            "oshare": ("obj", _table(s for s, _ in SHARES)),
            "osharepath": ("obj", _table(p for _, p in SHARES)),
            "osvc": ("obj", _table(s[0] for s in SERVICES)),
            "oimage": ("obj", _table(s[1] for s in SERVICES)),
            "ostart": ("obj", _table(s[2] for s in SERVICES)),
            "oaccount": ("obj", _table(s[3] for s in SERVICES)),
            "oproc": ("obj", _table(APPS)),
            "ogroup": ("obj", _table(g[0] for g in GROUPS)),
            "ogroupdom": ("obj", _table(g[1] for g in GROUPS)),
            "ogroupsid": ("obj", _table(g[2] for g in GROUPS)),
            "osudo": ("obj", _table(SUDO_CMDS)),
            "wst": ("st", _table(s[0] for s in WIN_STATUS)),
            "wsub": ("st", _table(s[1] for s in WIN_STATUS)),
            "wreason": ("st", _table(s[2] for s in WIN_STATUS)),
            "kst": ("st", _table(KRB_STATUS)),
            "nst": ("st", _table(NTLM_STATUS)),
            "nout": ("st", _table(["success"] + ["failure"] * (len(NTLM_STATUS) - 1))),
            "nkw": ("st", _table(["Audit Success"] + ["Audit Failure"] * (len(NTLM_STATUS) - 1))),
            "enc": ("enc", _table(ENC)),
        }

    def field(self, name: str, c: Cols) -> pa.Array:
        """One placeholder's values for the rows of ``c``."""
        if name in self.lookups:
            col, table = self.lookups[name]
            idx = c[col].astype(np.int32)
            idx = np.where(idx < 0, len(table) - 1, idx)
            if len(idx) and int(idx.max()) >= len(table):
                raise ValueError(f"placeholder {name}: index {int(idx.max())} outside its table")
            return table.take(pa.array(idx))
        if name == "ts":
            return _iso(c["t"])
        if name == "lts":
            return _iso(c["t"], linux=True)
        if name in ("rec", "port", "aux", "pid"):
            return _ints(c[name])
        if name == "thread":
            return _ints(c["lid"] % 7919 + 300)
        if name == "ip":
            return _dotted(c["ip"])
        if name in ("lid", "slid"):
            v = (
                c["lid"].astype(np.uint64)
                if name == "lid"
                else (c["lid"].astype(np.uint64) * np.uint64(2654435761))
            )
            return _hex((v & np.uint64(0xFFFFFFF)) | np.uint64(0x1000000), 7, "0x")
        if name == "npid":
            return _hex((c["lid"].astype(np.uint64) & np.uint64(0xFFF)) | np.uint64(0x1000), 4, "0x")
        if name == "guid":
            g = _hex(c["lid"].astype(np.uint64) * np.uint64(0x9E3779B1) & np.uint64(0xFFFFFFFF), 8)
            return pc.binary_join_element_wise(g, "-6d1c-5b2a-8e3f-", _hex(c["t"].astype(np.uint64), 12), "")
        if name == "fp":
            u = c["user"].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
            return pc.binary_join_element_wise(_hex(u >> np.uint64(8), 14), "Zk3uQvB7wKc9", _hex(u, 16), "")
        if name == "topt":
            return pc.if_else(pa.array(c["enc"] == E_RC4), "0x40810000", "0x40810010")
        raise KeyError(name)

    def lines(self, c: Cols) -> pa.Array:
        """One line (with its newline) per row of ``c``, in row order."""
        n = nrows(c)
        order = np.argsort(c["tpl"], kind="stable")
        tpls = c["tpl"][order]
        bounds = np.flatnonzero(np.diff(tpls)) + 1
        chunks = []
        for rows in np.split(order, bounds):
            if not len(rows):
                continue
            sub = take(c, rows)
            pieces: list[Any] = []
            for i, p in enumerate(self.parts[int(sub["tpl"][0])]):
                if i % 2 == 0:
                    if p:
                        pieces.append(p)
                else:
                    pieces.append(self.field(p, sub))
            chunks.append(pc.binary_join_element_wise(*pieces, ""))
        joined = pa.concat_arrays(chunks)
        inverse = np.empty(n, np.int64)
        inverse[order] = np.arange(n)
        return joined.take(pa.array(inverse))


def _table(values: Iterator[str] | Sequence[str]) -> pa.Array:
    return pa.array([_j(v) for v in values] + ["-"], pa.string())


def _write_lines(fh: IO[bytes], arr: pa.Array) -> None:
    offsets = np.frombuffer(arr.buffers()[1], np.int32, len(arr) + 1, arr.offset * 4)
    data = arr.buffers()[2]
    fh.write(memoryview(data)[int(offsets[0]) : int(offsets[-1])])


# ------------------------------------------------------------------ benign activity ----


@dataclass
class Day:
    """Who works on one local date, when (UTC ms) and from where."""

    people: np.ndarray  # person indices
    start: np.ndarray
    end: np.ndarray
    src_ip: np.ndarray  # workstation or VPN address that day
    remote: np.ndarray
    utc0: int  # the date's midnight as UTC ms


def _schedule(org: Org, rng: Rng, day_ms: int, weekday: int) -> Day:
    n = len(org.person_acct)
    # leave and sickness on weekdays; a few people on weekends
    works = rng.random(n) > 0.06 if weekday < 5 else rng.random(n) < org.person_weekend
    travel = rng.random(n) < 0.01
    start_h = np.where(weekday < 5, org.person_start + rng.normal(0, 0.35, n), rng.uniform(9, 15, n))
    length_h = np.where(weekday < 5, org.person_len + rng.normal(0, 0.5, n), rng.uniform(1.5, 4.5, n))
    tz = org.person_tz + np.where(travel, rng.choice([-540, -420, 360, 480, 600], n), 0)
    start = day_ms + ((start_h * 3600 - tz * 60) * 1000).astype(np.int64)
    end = start + (length_h.clip(1, 12) * MS_HOUR).astype(np.int64)
    remote = (rng.random(n) < org.person_remote) | travel
    fresh_vpn = (_ip(10, 200, 0, 0) + rng.integers(256, 65000, n)).astype(np.uint32)
    vpn = np.where(travel | (rng.random(n) < 0.1), fresh_vpn, org.person_vpn_ip)
    src_ip = np.where(remote, vpn, org.host_ip_arr[org.person_wks]).astype(np.uint32)
    idx = np.flatnonzero(works)
    return Day(idx.astype(np.int32), start[idx], end[idx], src_ip[idx], remote[idx], day_ms)


def _poisson(rng: Rng, lam: np.ndarray) -> np.ndarray:
    out: np.ndarray = rng.poisson(np.maximum(lam, 0.0))
    return out


def _repeat_times(
    rng: Rng, counts: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (into the day arrays) repeated by count, and uniform times in [start, end)."""
    pos = np.repeat(np.arange(len(counts)), counts)
    t = start[pos] + (rng.random(len(pos)) * (end[pos] - start[pos])).astype(np.int64)
    return pos, t


def _pick(rng: Rng, options: np.ndarray | Sequence[int], n: int) -> np.ndarray:
    return np.asarray(options, np.int32)[rng.integers(0, len(options), n)]


def _ports(rng: Rng, n: int) -> np.ndarray:
    return rng.integers(49152, 65535, n).astype(np.int32)


def _lids(rng: Rng, n: int) -> np.ndarray:
    return rng.integers(1, 2**32 - 1, n, dtype=np.uint32)


def _offset(rng: Rng, n: int, lo_ms: float, hi_ms: float) -> np.ndarray:
    return (lo_ms + rng.random(n) * (hi_ms - lo_ms)).astype(np.int64)


@dataclass
class Kind:
    """One kind of benign session: sampled per local date, expanded into ``steps`` events each."""

    name: str
    stream: str
    steps: int
    sample: Callable[[Org, Rng, Day, float, int], Cols]  # -> session columns incl. "t"
    expand: Callable[[Org, Rng, Cols], list[Cols]]
    hard_negative: str = ""


def _sessions(**cols: np.ndarray) -> Cols:
    return dict(cols)


def _person_rate(
    rate_per_hour: float, who: Callable[[Org], np.ndarray] | None = None
) -> Callable[[Org, Rng, Day, float, int], Cols]:
    """Sessions at a Poisson rate over each working person's hours."""

    def sample(org: Org, rng: Rng, day: Day, scale: float, weekday: int) -> Cols:
        mask = np.ones(len(day.people), bool) if who is None else who(org)[day.people]
        hours = (day.end - day.start) / MS_HOUR
        counts = _poisson(rng, rate_per_hour * hours * scale * mask)
        pos, t = _repeat_times(rng, counts, day.start, day.end)
        return _sessions(t=t, p=day.people[pos], ip=day.src_ip[pos], remote=day.remote[pos])

    return sample


def _person_once(
    at: str, prob: float = 1.0, who: Callable[[Org], np.ndarray] | None = None
) -> Callable[[Org, Rng, Day, float, int], Cols]:
    """At most one session per working person: at the day's start, end, or any time."""

    def sample(org: Org, rng: Rng, day: Day, scale: float, weekday: int) -> Cols:
        mask = np.ones(len(day.people), bool) if who is None else who(org)[day.people]
        p = prob if at in ("start", "end") else min(1.0, prob * scale)
        keep = mask & (rng.random(len(day.people)) < p)
        if at == "start":
            t = day.start
        elif at == "end":
            t = day.end
        else:
            t = day.start + (rng.random(len(day.people)) * (day.end - day.start)).astype(np.int64)
        return _sessions(t=t[keep], p=day.people[keep], ip=day.src_ip[keep], remote=day.remote[keep])

    return sample


def _hosts_rate(
    hosts: Callable[[Org], np.ndarray],
    rate_per_hour: float,
    hours: tuple[float, float] = (0, 24),
    weekdays: tuple[int, ...] = tuple(range(7)),
) -> Callable[[Org, Rng, Day, float, int], Cols]:
    """Sessions at a Poisson rate per host between two UTC hours on some weekdays."""

    def sample(org: Org, rng: Rng, day: Day, scale: float, weekday: int) -> Cols:
        h = hosts(org)
        if weekday not in weekdays or not len(h):
            return _sessions(t=np.empty(0, np.int64), h=np.empty(0, np.int32))
        counts = _poisson(rng, np.full(len(h), rate_per_hour * (hours[1] - hours[0]) * scale))
        hh = np.repeat(h, counts)
        t = day.utc0 + (hours[0] * MS_HOUR + rng.random(len(hh)) * (hours[1] - hours[0]) * MS_HOUR).astype(
            np.int64
        )
        return _sessions(t=t, h=hh.astype(np.int32))

    return sample


def _dc(org: Org, rng: Rng, n: int) -> np.ndarray:
    return _pick(rng, org.dcs, n)


def _x_logon(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    p, t, ip = s["p"], s["t"], s["ip"]
    acct, wks = org.person_acct[p], org.person_wks[p]
    dc = _dc(org, rng, n)
    lid = _lids(rng, n)
    enc = np.where(org.person_legacy[p], E_RC4, E_AES)
    return [
        ev(t, TPL["tgt"], dc, user=acct, ip=ip, port=_ports(rng, n), enc=enc, aux=2, lid=lid),
        ev(
            t + _offset(rng, n, 50, 300),
            TPL["tgs"],
            dc,
            user=acct,
            svc=org.host_macc_arr[wks],
            ip=ip,
            port=_ports(rng, n),
            enc=enc,
            lid=lid + 1,
        ),
        ev(t + _offset(rng, n, 400, 1500), TPL["logon_interactive"], wks, user=acct, aux=2, lid=lid),
        ev(t + _offset(rng, n, 2000, 5000), TPL["process"], wks, user=acct, obj=P_EXPLORER, lid=lid),
        ev(
            t + _offset(rng, n, 1500, 4000),
            TPL["logon_net_krb"],
            dc,
            user=acct,
            ip=ip,
            port=_ports(rng, n),
            lid=lid + 2,
        ),
        ev(t + _offset(rng, n, 4000, 9000), TPL["logoff"], dc, user=acct, aux=3, lid=lid + 2),
    ]


def _x_logoff(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    acct, wks = org.person_acct[s["p"]], org.person_wks[s["p"]]
    lid = _lids(rng, n)
    return [
        ev(s["t"], TPL["user_logoff"], wks, user=acct, lid=lid),
        ev(s["t"] + _offset(rng, n, 100, 2000), TPL["logoff"], wks, user=acct, aux=2, lid=lid),
    ]


def _x_unlock(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    acct, wks = org.person_acct[s["p"]], org.person_wks[s["p"]]
    lid = _lids(rng, n)
    return [
        ev(s["t"], TPL["logon_interactive"], wks, user=acct, aux=7, lid=lid),
        ev(s["t"] + _offset(rng, n, 300, 4000), TPL["logoff"], wks, user=acct, aux=7, lid=lid),
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
    n = len(s["t"])
    acct = org.person_acct[s["p"]] if "p" in s else s["acct"]
    ip = s["ip"]
    dc = _dc(org, rng, n)
    lid = _lids(rng, n)
    port = _ports(rng, n)
    enc = np.where(org.person_legacy[s["p"]], E_RC4, E_AES) if "p" in s else E_AES
    out = [
        ev(s["t"], TPL["tgs"], dc, user=acct, svc=svc, ip=ip, port=_ports(rng, n), enc=enc, lid=lid + 7),
        ev(
            s["t"] + _offset(rng, n, 20, 400),
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
                s["t"] + _offset(rng, n, 450, 900),
                TPL["share"],
                server,
                user=acct,
                ip=ip,
                port=port,
                obj=share,
                lid=lid,
            )
        )
    out.append(ev(s["t"] + _offset(rng, n, *duration), TPL["logoff"], server, user=acct, aux=3, lid=lid))
    return out


def _x_files(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    fs = _pick(rng, org.files, n)
    share = rng.choice([SH_SHARED, SH_USERS, SH_DEPT, SH_IPC], n, p=[0.4, 0.3, 0.2, 0.1])
    return _net_session(org, rng, s, fs, org.host_macc_arr[fs], (60_000, 2_400_000), share)


def _x_web(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    return _net_session(org, rng, s, _pick(rng, org.webs, n), np.full(n, org.svc_web), (200, 2000))


def _x_sql(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    return _net_session(org, rng, s, _pick(rng, org.sqls, n), np.full(n, org.svc_sql), (60_000, 3_600_000))


def _x_ntlm(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    acct, wks = org.person_acct[s["p"]], org.person_wks[s["p"]]
    app = _pick(rng, org.apps, n)
    lid = _lids(rng, n)
    return [
        ev(s["t"], TPL["ntlm"], _dc(org, rng, n), user=acct, src=wks, st=NS_OK),
        ev(
            s["t"] + _offset(rng, n, 5, 200),
            TPL["logon_net_ntlm"],
            app,
            user=acct,
            src=wks,
            ip=s["ip"],
            port=_ports(rng, n),
            aux=128,
            lid=lid,
        ),
        ev(s["t"] + _offset(rng, n, 500, 5000), TPL["logoff"], app, user=acct, aux=3, lid=lid),
    ]


def _x_proc(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    proc = rng.choice([0, 1, 2, 3, 4, 6, 7, 11], n, p=[0.3, 0.2, 0.14, 0.12, 0.12, 0.05, 0.04, 0.03])
    return [
        ev(
            s["t"],
            TPL["process"],
            org.person_wks[s["p"]],
            user=org.person_acct[s["p"]],
            obj=proc,
            lid=_lids(rng, n),
        )
    ]


def _x_typo(fails: int) -> Callable[[Org, Rng, Cols], list[Cols]]:
    def expand(org: Org, rng: Rng, s: Cols) -> list[Cols]:
        n = len(s["t"])
        acct, wks = org.person_acct[s["p"]], org.person_wks[s["p"]]
        dc = _dc(org, rng, n)
        out = []
        t = s["t"].copy()
        status = np.where(rng.random(n) < 0.93, WS_BADPW, WS_EXPIRED)
        for _ in range(fails):
            out.append(ev(t, TPL["failed_interactive"], wks, user=acct, st=status, lid=_lids(rng, n)))
            out.append(
                ev(
                    t + _offset(rng, n, 5, 80),
                    TPL["preauth_failed"],
                    dc,
                    user=acct,
                    ip=s["ip"],
                    port=_ports(rng, n),
                    st=KS_BADPW,
                )
            )
            t = t + _offset(rng, n, 3000, 25_000)
        lid = _lids(rng, n)
        out.append(
            ev(t, TPL["tgt"], dc, user=acct, ip=s["ip"], port=_ports(rng, n), enc=E_AES, aux=2, lid=lid)
        )
        out.append(
            ev(t + _offset(rng, n, 200, 900), TPL["logon_interactive"], wks, user=acct, aux=7, lid=lid)
        )
        return out

    return expand


def _x_owa(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    acct = org.person_acct[s["p"]]
    return [
        ev(
            s["t"],
            TPL["logon_cleartext"],
            org.exch,
            user=acct,
            ip=OWA_PROXY_IP,
            port=_ports(rng, n),
            lid=_lids(rng, n),
        )
    ]


def _x_owa_typo(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    acct = org.person_acct[s["p"]]
    return [
        ev(
            s["t"],
            TPL["failed_cleartext"],
            org.exch,
            user=acct,
            ip=OWA_PROXY_IP,
            port=_ports(rng, n),
            st=WS_BADPW,
        ),
        ev(
            s["t"] + _offset(rng, n, 4000, 30_000),
            TPL["logon_cleartext"],
            org.exch,
            user=acct,
            ip=OWA_PROXY_IP,
            port=_ports(rng, n),
            lid=_lids(rng, n),
        ),
    ]


def _x_rdp_home(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    acct, wks = org.person_acct[s["p"]], org.person_wks[s["p"]]
    lid = _lids(rng, n)
    return [
        ev(s["t"], TPL["logon_rdp"], wks, user=acct, ip=s["ip"], port=_ports(rng, n), lid=lid),
        ev(s["t"] + _offset(rng, n, 600_000, 7_200_000), TPL["logoff"], wks, user=acct, aux=10, lid=lid),
    ]


def _x_legacy_rc4(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    targets = np.concatenate([org.host_macc_arr[[org.files[0], org.webs[0]]], [org.svc_web, org.svc_sql]])
    return [
        ev(
            s["t"],
            TPL["tgs"],
            _dc(org, rng, n),
            user=org.person_acct[s["p"]],
            svc=_pick(rng, targets, n),
            ip=s["ip"],
            port=_ports(rng, n),
            enc=E_RC4,
            lid=_lids(rng, n),
        )
    ]


def _admin_of(org: Org, p: np.ndarray) -> np.ndarray:
    out: np.ndarray = org.admin_acct[p]
    return out


def _x_admin_rdp(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    adm = _admin_of(org, s["p"])
    srv = _pick(rng, org.servers, n)
    ip = org.host_ip_arr[org.person_wks[s["p"]]]
    lid = _lids(rng, n)
    t = s["t"]
    return [
        ev(
            t,
            TPL["tgt"],
            _dc(org, rng, n),
            user=adm,
            ip=ip,
            port=_ports(rng, n),
            enc=E_AES,
            aux=2,
            lid=lid + 3,
        ),
        ev(
            t + _offset(rng, n, 30, 300),
            TPL["tgs"],
            _dc(org, rng, n),
            user=adm,
            svc=org.host_macc_arr[srv],
            ip=ip,
            port=_ports(rng, n),
            enc=E_AES,
            lid=lid + 4,
        ),
        ev(
            t + _offset(rng, n, 800, 3000),
            TPL["logon_rdp"],
            srv,
            user=adm,
            ip=ip,
            port=_ports(rng, n),
            lid=lid,
        ),
        ev(t + _offset(rng, n, 3000, 3500), TPL["special"], srv, user=adm, lid=lid),
        ev(
            t + _offset(rng, n, 20_000, 300_000),
            TPL["process"],
            srv,
            user=adm,
            obj=_pick(rng, [P_MMC, P_PWSH, P_SRVMGR, P_CMD], n),
            lid=lid,
        ),
        ev(t + _offset(rng, n, 600_000, 5_400_000), TPL["logoff"], srv, user=adm, aux=10, lid=lid),
    ]


def _x_admin_runas(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    adm, acct, wks = _admin_of(org, s["p"]), org.person_acct[s["p"]], org.person_wks[s["p"]]
    srv = _pick(rng, org.member_servers, n)
    lid = _lids(rng, n)
    ip = org.host_ip_arr[wks]
    return [
        ev(s["t"], TPL["explicit"], wks, subj=acct, user=adm, obj=srv, lid=lid),
        ev(
            s["t"] + _offset(rng, n, 50, 600),
            TPL["logon_net_krb"],
            srv,
            user=adm,
            ip=ip,
            port=_ports(rng, n),
            lid=lid + 1,
        ),
        ev(s["t"] + _offset(rng, n, 1000, 60_000), TPL["logoff"], srv, user=adm, aux=3, lid=lid + 1),
    ]


def _x_admin_share(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    adm = _admin_of(org, s["p"])
    srv = _pick(rng, org.member_servers, n)
    ip = org.host_ip_arr[org.person_wks[s["p"]]]
    lid = _lids(rng, n)
    port = _ports(rng, n)
    return [
        ev(s["t"], TPL["logon_net_krb"], srv, user=adm, ip=ip, port=port, lid=lid),
        ev(s["t"] + 2, TPL["special"], srv, user=adm, lid=lid),
        ev(
            s["t"] + _offset(rng, n, 100, 900),
            TPL["share"],
            srv,
            user=adm,
            ip=ip,
            port=port,
            obj=SH_C,
            lid=lid,
        ),
        ev(s["t"] + _offset(rng, n, 60_000, 900_000), TPL["logoff"], srv, user=adm, aux=3, lid=lid),
    ]


def _x_admin_netonly(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    acct = org.person_acct[s["p"]]
    return [
        ev(
            s["t"],
            TPL["logon_newcreds"],
            org.person_wks[s["p"]],
            user=acct,
            obj=_admin_of(org, s["p"]),
            lid=_lids(rng, n),
        )
    ]


def _org_rate(
    per_day: Callable[[Org], float], hours: tuple[float, float], weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
) -> Callable[[Org, Rng, Day, float, int], Cols]:
    """Organisation-wide sessions (helpdesk work) at a daily rate between two UTC hours."""

    def sample(org: Org, rng: Rng, day: Day, scale: float, weekday: int) -> Cols:
        if weekday not in weekdays:
            return _sessions(t=np.empty(0, np.int64))
        n = int(rng.poisson(per_day(org) * scale))
        t = day.utc0 + (hours[0] * MS_HOUR + rng.random(n) * (hours[1] - hours[0]) * MS_HOUR).astype(np.int64)
        return _sessions(t=t)

    return sample


def _x_new_hire(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    who = _pick(rng, org.helpdesk, n)
    new = _pick(rng, org.new_hires, n)
    dc = _dc(org, rng, n)
    lid = _lids(rng, n)
    t = s["t"]
    return [
        ev(t, TPL["user_created"], dc, user=new, subj=who, lid=lid),
        ev(t + _offset(rng, n, 100, 2000), TPL["user_enabled"], dc, user=new, subj=who, lid=lid),
        ev(t + _offset(rng, n, 2000, 4000), TPL["user_changed"], dc, user=new, subj=who, lid=lid),
        ev(
            t + _offset(rng, n, 10_000, 120_000),
            TPL["group_add_global"],
            dc,
            user=new,
            subj=who,
            obj=_pick(rng, [G_VPN, G_ALL, 6, 7], n),
            lid=lid,
        ),
    ]


def _x_reset(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    who = _pick(rng, org.helpdesk, n)
    target = _pick(rng, org.person_acct, n)
    dc = _dc(org, rng, n)
    lid = _lids(rng, n)
    return [
        ev(s["t"], TPL["password_reset"], dc, user=target, subj=who, lid=lid),
        ev(s["t"] + _offset(rng, n, 10, 500), TPL["user_changed"], dc, user=target, subj=who, lid=lid),
    ]


def _x_rdp_group(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    return [
        ev(
            s["t"],
            TPL["group_add_local"],
            _dc(org, rng, n),
            user=_pick(rng, org.person_acct, n),
            subj=_pick(rng, org.helpdesk, n),
            obj=G_RDP,
            lid=_lids(rng, n),
        )
    ]


def _machine_sessions(org: Org, rng: Rng, s: Cols, acct: np.ndarray, ip: np.ndarray) -> list[Cols]:
    n = len(s["t"])
    dc = _dc(org, rng, n)
    lid = _lids(rng, n)
    upn_svc = org.host_macc_arr[dc]
    return [
        ev(s["t"], TPL["tgt"], dc, user=acct, ip=ip, port=_ports(rng, n), enc=E_AES, aux=2, lid=lid + 1),
        ev(
            s["t"] + _offset(rng, n, 10, 200),
            TPL["tgs"],
            dc,
            user=acct,
            svc=upn_svc,
            ip=ip,
            port=_ports(rng, n),
            enc=E_AES,
            lid=lid + 2,
        ),
        ev(
            s["t"] + _offset(rng, n, 200, 600),
            TPL["logon_net_krb"],
            dc,
            user=acct,
            ip=ip,
            port=_ports(rng, n),
            lid=lid,
        ),
        ev(s["t"] + _offset(rng, n, 800, 3000), TPL["logoff"], dc, user=acct, aux=3, lid=lid),
    ]


def _x_wks_gpo(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    wks = org.person_wks[s["p"]]
    return _machine_sessions(org, rng, s, org.host_macc_arr[wks], s["ip"])


def _x_srv_gpo(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    return _machine_sessions(org, rng, s, org.host_macc_arr[s["h"]], org.host_ip_arr[s["h"]])


def _x_svc_poll(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    app = s["h"]
    sql = np.asarray(org.sqls, np.int32)[app % len(org.sqls)]
    svc = np.where(app % 2 == 0, org.svc_app, org.svc_web)
    lid = _lids(rng, n)
    return [
        ev(
            s["t"], TPL["logon_net_krb"], sql, user=svc, ip=org.host_ip_arr[app], port=_ports(rng, n), lid=lid
        ),
        ev(s["t"] + _offset(rng, n, 500, 6000), TPL["logoff"], sql, user=svc, aux=3, lid=lid),
    ]


def _x_svc_ticket(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    app = s["h"]
    svc = np.where(app % 2 == 0, org.svc_app, org.svc_web)
    ip = org.host_ip_arr[app]
    dc = _dc(org, rng, n)
    return [
        ev(s["t"], TPL["tgt"], dc, user=svc, ip=ip, port=_ports(rng, n), enc=E_AES, aux=2, lid=_lids(rng, n)),
        ev(
            s["t"] + _offset(rng, n, 10, 300),
            TPL["tgs"],
            dc,
            user=svc,
            svc=org.svc_sql,
            ip=ip,
            port=_ports(rng, n),
            enc=E_AES,
            lid=_lids(rng, n),
        ),
    ]


def _x_svc_start(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    lid = _lids(rng, n)
    svc = _pick(rng, org.svc[:8], n)
    return [
        ev(s["t"], TPL["logon_service"], s["h"], user=svc, lid=lid),
        ev(s["t"] + 3, TPL["special"], s["h"], user=svc, lid=lid),
    ]


def _x_backup(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    lid = _lids(rng, n)
    port = _ports(rng, n)
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
            s["t"] + _offset(rng, n, 100, 600),
            TPL["share"],
            h,
            user=org.svc_backup,
            ip=ip,
            port=port,
            obj=SH_C,
            lid=lid,
        ),
        ev(
            s["t"] + _offset(rng, n, 600_000, 3_600_000),
            TPL["logoff"],
            h,
            user=org.svc_backup,
            aux=3,
            lid=lid,
        ),
    ]


def _x_scanner(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    lid = _lids(rng, n)
    ip = org.host_ip_arr[org.scan]
    return [
        ev(
            s["t"],
            TPL["logon_net_ntlm"],
            s["h"],
            user=org.svc_scan,
            src=org.scan,
            ip=ip,
            port=_ports(rng, n),
            aux=128,
            lid=lid,
        ),
        ev(s["t"] + _offset(rng, n, 2000, 40_000), TPL["logoff"], s["h"], user=org.svc_scan, aux=3, lid=lid),
    ]


def _x_anonymous(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    ip = (PRINTER_NET + rng.integers(10, 40, n)).astype(np.uint32)
    return [
        ev(
            s["t"],
            TPL["logon_net_ntlm"],
            s["h"],
            user=org.anonymous,
            ip=ip,
            port=_ports(rng, n),
            aux=0,
            lid=_lids(rng, n),
        )
    ]


def _x_deploy(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    lid = _lids(rng, n)
    ip = org.host_ip_arr[org.sccm]
    port = _ports(rng, n)
    svc = rng.integers(1, len(SERVICES), n)
    return [
        ev(s["t"], TPL["logon_net_krb"], s["h"], user=org.svc_sccm, ip=ip, port=port, lid=lid),
        ev(
            s["t"] + _offset(rng, n, 100, 800),
            TPL["share"],
            s["h"],
            user=org.svc_sccm,
            ip=ip,
            port=port,
            obj=SH_ADMIN,
            lid=lid,
        ),
        ev(
            s["t"] + _offset(rng, n, 2000, 20_000),
            TPL["service_installed"],
            s["h"],
            user=org.system,
            obj=svc,
            lid=lid,
        ),
    ]


def _x_stale_service(org: Org, rng: Rng, s: Cols) -> list[Cols]:
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
            port=_ports(rng, n),
            st=WS_BADPW,
        ),
        ev(
            s["t"] + _offset(rng, n, 1, 30),
            TPL["ntlm"],
            _dc(org, rng, n),
            user=org.svc_reporting,
            src=app,
            st=NS_BADPW,
        ),
    ]


def _stale_sample(org: Org, rng: Rng, day: Day, scale: float, weekday: int) -> Cols:
    if rng.random() > 0.12:
        return _sessions(t=np.empty(0, np.int64))
    start = day.utc0 + int(rng.uniform(0, 20) * MS_HOUR)
    count = int(rng.integers(12, 48))
    t = start + np.cumsum(rng.normal(300_000, 20_000, count)).astype(np.int64)
    return _sessions(t=t)


def _x_asrep_legit(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    ip = np.full(n, org.host_ip_arr[org.linux[min(2, len(org.linux) - 1)]], np.uint32)
    return [
        ev(
            s["t"],
            TPL["tgt"],
            _dc(org, rng, n),
            user=org.svc_unix,
            ip=ip,
            port=_ports(rng, n),
            enc=E_AES,
            aux=0,
            lid=_lids(rng, n),
        )
    ]


def _x_cron(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    pid = rng.integers(2000, 60000, n)
    return [
        ev(s["t"], TPL["cron_open"], s["h"], user=org.root, pid=pid),
        ev(s["t"] + _offset(rng, n, 50, 2000), TPL["cron_close"], s["h"], user=org.root, pid=pid),
    ]


def _x_ssh_dev(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    acct = org.person_acct[s["p"]]
    host = _pick(rng, org.linux, n)
    pid = rng.integers(2000, 60000, n)
    port = _ports(rng, n)
    t = s["t"]
    end = t + _offset(rng, n, 120_000, 3_600_000)
    return [
        ev(t, TPL["ssh_accept_key"], host, user=acct, ip=s["ip"], port=port, pid=pid),
        ev(t + _offset(rng, n, 2, 30), TPL["ssh_session_open"], host, user=acct, pid=pid),
        ev(
            t + _offset(rng, n, 20_000, 100_000),
            TPL["sudo_cmd"],
            host,
            user=acct,
            obj=rng.integers(0, len(SUDO_CMDS), n),
            pid=pid + 7,
        ),
        ev(t + _offset(rng, n, 100_001, 110_000), TPL["sudo_session"], host, user=acct, pid=pid + 7),
        ev(end, TPL["ssh_session_close"], host, user=acct, pid=pid),
        ev(
            end + _offset(rng, n, 1, 40),
            TPL["ssh_disconnect"],
            host,
            user=acct,
            ip=s["ip"],
            port=port,
            pid=pid,
        ),
    ]


def _x_ssh_typo(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    acct = org.person_acct[s["p"]]
    host = _pick(rng, org.linux[1:] if len(org.linux) > 1 else org.linux, n)
    pid = rng.integers(2000, 60000, n)
    port = _ports(rng, n)
    return [
        ev(s["t"], TPL["ssh_failed_pw"], host, user=acct, ip=s["ip"], port=port, pid=pid),
        ev(
            s["t"] + _offset(rng, n, 3000, 15_000),
            TPL["ssh_accept_pw"],
            host,
            user=acct,
            ip=s["ip"],
            port=port,
            pid=pid,
        ),
        ev(s["t"] + _offset(rng, n, 15_001, 15_100), TPL["ssh_session_open"], host, user=acct, pid=pid),
    ]


def _x_ansible(org: Org, rng: Rng, s: Cols) -> list[Cols]:
    n = len(s["t"])
    pid = rng.integers(2000, 60000, n)
    port = _ports(rng, n)
    ip = org.host_ip_arr[org.mgmt]
    return [
        ev(s["t"], TPL["ssh_accept_key"], s["h"], user=org.ansible, ip=ip, port=port, pid=pid),
        ev(s["t"] + 5, TPL["ssh_session_open"], s["h"], user=org.ansible, pid=pid),
        ev(
            s["t"] + _offset(rng, n, 5000, 90_000),
            TPL["ssh_session_close"],
            s["h"],
            user=org.ansible,
            pid=pid,
        ),
    ]


def _is_admin(org: Org) -> np.ndarray:
    return org.admin_acct >= 0


KINDS: tuple[Kind, ...] = (
    Kind("logon", "win", 6, _person_once("start"), _x_logon),
    Kind("logoff", "win", 2, _person_once("end", 0.85), _x_logoff),
    Kind("unlock", "win", 2, _person_rate(0.45), _x_unlock),
    Kind("files", "win", 4, _person_rate(0.6), _x_files),
    Kind("web", "win", 3, _person_rate(0.35), _x_web),
    Kind("sql", "win", 3, _person_rate(0.3, lambda o: o.person_analyst), _x_sql),
    Kind("ntlm", "win", 3, _person_rate(0.2), _x_ntlm),
    Kind("process", "win", 1, _person_rate(1.6), _x_proc),
    Kind("typo1", "win", 4, _person_once("any", 0.08), _x_typo(1), "a mistyped password, then success"),
    Kind("typo2", "win", 6, _person_once("any", 0.02), _x_typo(2), "two mistyped passwords, then success"),
    Kind(
        "typo4",
        "win",
        10,
        _person_once("any", 0.003),
        _x_typo(4),
        "four failures after a holiday, then success",
    ),
    Kind("owa", "win", 1, _person_rate(0.12), _x_owa),
    Kind(
        "owa_typo",
        "win",
        2,
        _person_once("any", 0.03),
        _x_owa_typo,
        "webmail typos, all from the reverse proxy's address",
    ),
    Kind("rdp_home", "win", 2, _person_rate(0.02, lambda o: o.person_remote > 0.3), _x_rdp_home),
    Kind(
        "legacy_rc4",
        "win",
        1,
        _person_rate(0.5, lambda o: o.person_legacy),
        _x_legacy_rc4,
        "an old client asking for RC4 service tickets",
    ),
    Kind(
        "admin_rdp", "win", 6, _person_rate(0.35, _is_admin), _x_admin_rdp, "administrators' RDP to servers"
    ),
    Kind(
        "admin_runas",
        "win",
        3,
        _person_rate(0.08, _is_admin),
        _x_admin_runas,
        "runas to one server with an admin account",
    ),
    Kind(
        "admin_share",
        "win",
        4,
        _person_rate(0.02, _is_admin),
        _x_admin_share,
        "an administrator opening C$ on one server",
    ),
    Kind(
        "admin_netonly",
        "win",
        1,
        _person_rate(0.01, _is_admin),
        _x_admin_netonly,
        "runas /netonly (logon type 9) by an administrator",
    ),
    Kind(
        "new_hire",
        "win",
        4,
        _org_rate(lambda o: len(o.person_acct) / 900, (13, 21)),
        _x_new_hire,
        "helpdesk creating accounts for new hires",
    ),
    Kind("password_reset", "win", 2, _org_rate(lambda o: len(o.person_acct) / 300, (12, 22)), _x_reset),
    Kind(
        "rdp_group",
        "win",
        1,
        _org_rate(lambda o: len(o.person_acct) / 1500, (13, 21)),
        _x_rdp_group,
        "users added to Remote Desktop Users",
    ),
    Kind("wks_gpo", "win", 4, _person_rate(0.67), _x_wks_gpo),
    Kind(
        "srv_gpo",
        "win",
        4,
        _hosts_rate(lambda o: np.concatenate([o.servers, o.dcs]).astype(np.int32), 0.67),
        _x_srv_gpo,
    ),
    Kind("svc_poll", "win", 2, _hosts_rate(lambda o: np.asarray(o.apps, np.int32), 6.0), _x_svc_poll),
    Kind("svc_ticket", "win", 2, _hosts_rate(lambda o: np.asarray(o.apps, np.int32), 0.1), _x_svc_ticket),
    Kind("svc_start", "win", 2, _hosts_rate(lambda o: o.member_servers, 0.5, (3, 5), (2,)), _x_svc_start),
    Kind(
        "backup",
        "win",
        4,
        _hosts_rate(lambda o: o.member_servers, 0.5, (1, 3)),
        _x_backup,
        "nightly backup opening C$ on every server",
    ),
    Kind(
        "scanner",
        "win",
        2,
        _hosts_rate(lambda o: o.servers, 1.0, (2, 4), (2,)),
        _x_scanner,
        "a weekly vulnerability scan logging on to every server",
    ),
    Kind(
        "anonymous",
        "win",
        1,
        _hosts_rate(lambda o: np.asarray(o.files, np.int32), 0.6),
        _x_anonymous,
        "printers' anonymous NTLM logons (key length 0)",
    ),
    Kind(
        "deploy",
        "win",
        3,
        _hosts_rate(lambda o: o.member_servers, 0.5, (22, 24), (1,)),
        _x_deploy,
        "patch-night agent installs through ADMIN$",
    ),
    Kind(
        "stale_service",
        "win",
        2,
        _stale_sample,
        _x_stale_service,
        "a service with a stale password failing every 5 minutes",
    ),
    Kind(
        "asrep_legit",
        "win",
        1,
        _hosts_rate(lambda o: np.asarray([o.dcs[0]], np.int32), 0.5),
        _x_asrep_legit,
        "a Unix client of an account without pre-authentication",
    ),
    Kind("cron", "linux", 2, _hosts_rate(lambda o: o.linux, 6.0), _x_cron),
    Kind("ssh_dev", "linux", 6, _person_rate(0.25, lambda o: o.person_dev), _x_ssh_dev),
    Kind(
        "ssh_typo",
        "linux",
        3,
        _person_once("any", 0.05, lambda o: o.person_dev),
        _x_ssh_typo,
        "an ssh password typo, then success",
    ),
    Kind(
        "ansible",
        "linux",
        3,
        _hosts_rate(lambda o: o.linux, 1.0, (2, 3)),
        _x_ansible,
        "nightly configuration runs from one address to every Linux host",
    ),
)


# ------------------------------------------------------------------------- attacks ----

TECHNIQUES: tuple[tuple[str, str], ...] = (
    # attack name, technique
    ("brute_force", "T1110.001"),
    ("password_spray", "T1110.003"),
    ("credential_stuffing", "T1110.004"),
    ("success_after_failures", "T1110.001"),
    ("success_after_failures", "T1078"),
    ("user_enumeration", "T1087.002"),
    ("kerberoasting", "T1558.003"),
    ("asrep_roasting", "T1558.004"),
    ("pass_the_hash", "T1550.002"),
    ("explicit_credentials", "T1078.002"),
    ("admin_share", "T1021.002"),
    ("remote_service", "T1569.002"),
    ("new_account", "T1136.002"),
    ("privileged_group_add", "T1098"),
    ("log_cleared", "T1070.001"),
    ("unusual_logon", "T1078"),
    ("ssh_brute_force", "T1110.001"),
    ("ssh_enumeration", "T1087.001"),
    ("ssh_success_after_failures", "T1110.001"),
    ("ssh_success_after_failures", "T1078"),
    ("linux_new_account", "T1136.001"),
    ("linux_group_add", "T1098"),
)


@dataclass
class AttackInstance:
    """One injected attack: what, when, against whom; its events carry its index."""

    attack_id: str
    attack: str
    techniques: list[str]
    start: int = 0
    end: int = 0
    events: int = 0
    entities: dict[str, str] = field(default_factory=dict)


class Attacks:
    """Builds the labelled attack events for the whole period (a few thousand rows)."""

    def __init__(self, org: Org, rng: Rng, start_ms: int, days: int, linux: bool) -> None:
        self.org, self.rng, self.start_ms, self.days, self.linux = org, rng, start_ms, days, linux
        self.instances: list[AttackInstance] = []
        self.parts: list[Cols] = []
        self.counter: dict[str, int] = {}
        self.used_external: set[int] = set()

    # -- helpers
    def new(self, attack: str, **entities: str) -> int:
        self.counter[attack] = self.counter.get(attack, 0) + 1
        self.instances.append(
            AttackInstance(f"{attack}-{self.counter[attack]}", attack, [], entities=entities)
        )
        return len(self.instances) - 1

    def add(self, inst: int, technique: str, c: Cols) -> None:
        name = self.instances[inst].attack
        c["atk"] = np.full(nrows(c), inst, np.int32)
        c["tech"] = np.full(nrows(c), TECHNIQUES.index((name, technique)), np.int16)
        a = self.instances[inst]
        if technique not in a.techniques:
            a.techniques.append(technique)
        self.parts.append(c)

    def when(self, kind: str, person: int | None = None, first: float = 0.25) -> int:
        """A time for an attack: working hours (New York), night (the victim's), or any."""
        rng = self.rng
        lo = max(1, int(self.days * first))
        day = int(rng.integers(lo, max(lo + 1, self.days - 1)))
        if kind == "work":
            while (self.start_ms // MS_DAY + day + 3) % 7 >= 5 and self.days > 3:
                day = int(rng.integers(lo, max(lo + 1, self.days - 1)))
            hour = rng.uniform(14.5, 20.5)  # 09:30-15:30 in New York
        elif kind == "night":
            tz = int(self.org.person_tz[person]) if person is not None else -300
            hour = (rng.uniform(1.5, 4.5) - tz / 60) % 24
        else:
            hour = rng.uniform(0, 24)
        return self.start_ms + day * MS_DAY + int(hour * MS_HOUR)

    def gateway_failures(
        self,
        i: int,
        technique: str,
        t: np.ndarray,
        users: np.ndarray,
        attacker: int,
        ip: int,
        status: tuple[int, int],
        ntlm_delay: int,
    ) -> None:
        """Failed network logons at the RD gateway and the DC's NTLM check of each, ``ntlm_delay`` ms later."""
        org, rng = self.org, self.rng
        n = len(t)
        self.add(
            i,
            technique,
            ev(
                t,
                TPL["failed_net"],
                org.rdgw,
                user=users,
                src=attacker,
                ip=ip,
                port=_ports(rng, n),
                st=status[0],
            ),
        )
        self.add(
            i,
            technique,
            ev(t + ntlm_delay, TPL["ntlm"], _dc(org, rng, n), user=users, src=attacker, st=status[1]),
        )

    def external(self, n: int) -> np.ndarray:
        """Distinct external addresses from the documentation ranges."""
        out: list[int] = []
        while len(out) < n:
            ip = int(EXTERNAL_NETS[int(self.rng.integers(0, 3))] + self.rng.integers(1, 255))
            if ip not in self.used_external or len(self.used_external) > 700:
                self.used_external.add(ip)
                out.append(ip)
        return np.array(out, np.uint32)

    def gaps(self, t0: int, n: int, lo_ms: float, hi_ms: float) -> np.ndarray:
        return t0 + np.concatenate([[0], np.cumsum(_offset(self.rng, n - 1, lo_ms, hi_ms))]).astype(np.int64)

    def victim(self) -> int:
        """A person who is not an administrator."""
        org = self.org
        while True:
            p = int(self.rng.integers(0, len(org.person_acct)))
            if org.admin_acct[p] < 0 or len(org.admins) >= len(org.person_acct):
                return p

    def build(self, per_kind: int) -> Cols:
        for k in range(per_kind):
            self.campaign()
            self.brute_force()
            self.password_spray(kerberos=k % 2 == 0)
            self.credential_stuffing()
            self.success_after_failures()
            self.user_enumeration(kerberos=k % 2 == 0)
            self.asrep_roasting()
            self.explicit_credentials()
            self.unusual_logon()
            if self.linux:
                self.ssh_brute_force()
                self.ssh_enumeration()
                self.ssh_success_and_persistence()
        out = concat(self.parts)
        for i, a in enumerate(self.instances):
            mine = out["t"][out["atk"] == i]
            a.start, a.end, a.events = int(mine.min()), int(mine.max()), len(mine)
        return take(out, np.argsort(out["t"], kind="stable"))

    # -- Windows
    def campaign(self) -> None:
        """Kerberoasting, then pass-the-hash to servers, PsExec, a new admin, a log cleared."""
        org, rng = self.org, self.rng
        p = self.victim()
        acct, wks = int(org.person_acct[p]), int(org.person_wks[p])
        ip = int(org.host_ip_arr[wks])
        admin = int(org.admin_acct[org.admins[int(rng.integers(0, len(org.admins)))]])
        t = self.when("work", first=0.4)
        dc = org.dcs[0]
        # Kerberoasting: RC4 service tickets for many SPNs in a minute or two
        i = self.new("kerberoasting", user=org.acc_name[acct], source=_ip_text(ip))
        spns = rng.choice(org.svc, min(len(org.svc), int(rng.integers(10, 26))), replace=False)
        ts = self.gaps(t, len(spns), 200, 6000)
        self.add(
            i,
            "T1558.003",
            ev(
                ts,
                TPL["tgs"],
                dc,
                user=acct,
                svc=spns,
                ip=ip,
                port=_ports(rng, len(spns)),
                enc=E_RC4,
                lid=_lids(rng, len(spns)),
            ),
        )
        # Pass-the-hash from the victim's workstation with an administrator's hash
        t += int(rng.uniform(20, 90) * 60_000)
        targets = rng.choice(
            org.member_servers, min(len(org.member_servers), int(rng.integers(2, 5))), replace=False
        )
        i = self.new("pass_the_hash", user=org.acc_name[admin], host=org.host_short[wks], source=_ip_text(ip))
        self.add(i, "T1550.002", ev(t, TPL["logon_newcreds"], wks, user=acct, obj=admin, lid=_lids(rng, 1)))
        share_id = self.new("admin_share", user=org.acc_name[admin], source=_ip_text(ip))
        psexec_id = self.new("remote_service", user=org.acc_name[admin], source=_ip_text(ip))
        for srv in targets:
            t += int(rng.uniform(20, 120) * 1000)
            lid = _lids(rng, 1)
            port = _ports(rng, 1)
            self.add(i, "T1550.002", ev(t, TPL["ntlm"], dc, user=admin, src=wks, st=NS_OK))
            self.add(
                i,
                "T1550.002",
                ev(t + 40, TPL["logon_net_ntlm"], srv, user=admin, src=wks, ip=ip, port=port, aux=0, lid=lid),
            )
            self.add(
                share_id,
                "T1021.002",
                ev(t + 300, TPL["share"], srv, user=admin, ip=ip, port=port, obj=SH_ADMIN, lid=lid),
            )
            self.add(
                psexec_id,
                "T1569.002",
                ev(t + 1500, TPL["service_installed"], srv, user=org.system, obj=SV_PSEXEC, lid=lid),
            )
            self.add(
                psexec_id,
                "T1569.002",
                ev(t + 2600, TPL["process"], srv, user=org.system, obj=P_PSEXESVC, lid=lid),
            )
        # A new account, made a Domain Admin or local Administrator
        t += int(rng.uniform(5, 30) * 60_000)
        new = int(org.attacker_accounts[int(rng.integers(0, len(org.attacker_accounts)))])
        i = self.new("new_account", user=org.acc_name[new], by=org.acc_name[admin])
        self.add(i, "T1136.002", ev(t, TPL["user_created"], dc, user=new, subj=admin, lid=_lids(rng, 1)))
        self.add(
            i, "T1136.002", ev(t + 800, TPL["user_enabled"], dc, user=new, subj=admin, lid=_lids(rng, 1))
        )
        i = self.new("privileged_group_add", user=org.acc_name[new], by=org.acc_name[admin])
        if rng.random() < 0.5:
            self.add(
                i,
                "T1098",
                ev(
                    t + 5000,
                    TPL["group_add_global"],
                    dc,
                    user=new,
                    subj=admin,
                    obj=G_DOMAIN_ADMINS,
                    lid=_lids(rng, 1),
                ),
            )
        else:
            self.add(
                i,
                "T1098",
                ev(
                    t + 5000,
                    TPL["group_add_local"],
                    dc,
                    user=new,
                    subj=admin,
                    obj=G_ADMINS,
                    lid=_lids(rng, 1),
                ),
            )
        # The Security log of one server cleared
        t += int(rng.uniform(5, 40) * 60_000)
        srv = int(targets[0])
        i = self.new("log_cleared", host=org.host_short[srv], user=org.acc_name[admin])
        self.add(i, "T1070.001", ev(t, TPL["log_cleared"], srv, user=admin, lid=_lids(rng, 1)))

    def brute_force(self) -> None:
        org, rng = self.org, self.rng
        target = int(org.administrator) if rng.random() < 0.3 else int(org.person_acct[self.victim()])
        host = org.rdgw if rng.random() < 0.6 else org.exch
        attacker = int(org.attacker_hosts[int(rng.integers(0, len(org.attacker_hosts)))])
        ip = int(self.external(1)[0])
        n = int(rng.integers(25, 200))
        t = self.gaps(self.when("any"), n, 800, 6000)
        i = self.new("brute_force", user=org.acc_name[target], source=_ip_text(ip), host=org.host_short[host])
        self.add(
            i,
            "T1110.001",
            ev(
                t, TPL["failed_net"], host, user=target, src=attacker, ip=ip, port=_ports(rng, n), st=WS_BADPW
            ),
        )
        self.add(
            i, "T1110.001", ev(t + 30, TPL["ntlm"], _dc(org, rng, n), user=target, src=attacker, st=NS_BADPW)
        )

    def password_spray(self, kerberos: bool) -> None:
        org, rng = self.org, self.rng
        m = int(rng.integers(15, 61))
        accounts = rng.choice(org.person_acct, min(m, len(org.person_acct)), replace=False)
        tries = np.repeat(accounts, rng.choice([1, 2], len(accounts), p=[0.7, 0.3]))
        tries = tries[rng.permutation(len(tries))]
        n = len(tries)
        t = self.gaps(self.when("work" if kerberos else "any"), n, 2000, 20_000)
        if kerberos:  # from a compromised workstation, against the KDC
            wks = int(org.person_wks[self.victim()])
            ip = int(org.host_ip_arr[wks])
            i = self.new("password_spray", source=_ip_text(ip))
            self.add(
                i,
                "T1110.003",
                ev(
                    t,
                    TPL["preauth_failed"],
                    _dc(org, rng, n),
                    user=tries,
                    ip=ip,
                    port=_ports(rng, n),
                    st=KS_BADPW,
                ),
            )
        else:
            attacker = int(org.attacker_hosts[int(rng.integers(0, len(org.attacker_hosts)))])
            ip = int(self.external(1)[0])
            i = self.new("password_spray", source=_ip_text(ip), host=org.host_short[org.rdgw])
            self.gateway_failures(i, "T1110.003", t, tries, attacker, ip, (WS_BADPW, NS_BADPW), 25)

    def credential_stuffing(self) -> None:
        org, rng = self.org, self.rng
        sources = self.external(int(rng.integers(8, 41)))
        real = rng.choice(
            org.person_acct, min(len(org.person_acct), int(rng.integers(20, 60))), replace=False
        )
        fake = rng.choice(org.outsiders, int(rng.integers(10, 40)), replace=False)
        accounts = np.concatenate([real, fake])
        n = len(accounts) + int(rng.integers(0, 20))
        who = np.concatenate([accounts, rng.choice(accounts, n - len(accounts))])[rng.permutation(n)]
        t = self.gaps(self.when("any"), n, 500, 40_000)
        ip = sources[rng.integers(0, len(sources), n)]
        status = np.where(np.isin(who, org.outsiders), WS_NOUSER, WS_BADPW)
        attackers = _pick(rng, org.attacker_hosts, n)
        i = self.new("credential_stuffing", host=org.host_short[org.rdgw])
        self.add(
            i,
            "T1110.004",
            ev(
                t, TPL["failed_net"], org.rdgw, user=who, src=attackers, ip=ip, port=_ports(rng, n), st=status
            ),
        )
        if rng.random() < 0.5:  # one leaked password still works
            k = int(rng.integers(0, n))
            self.add(
                i,
                "T1110.004",
                ev(
                    t[k] + 2000,
                    TPL["logon_net_ntlm"],
                    org.rdgw,
                    user=int(real[0]),
                    src=int(attackers[k]),
                    ip=int(ip[k]),
                    port=_ports(rng, 1),
                    aux=128,
                    lid=_lids(rng, 1),
                ),
            )

    def success_after_failures(self) -> None:
        org, rng = self.org, self.rng
        target = int(org.person_acct[self.victim()])
        ip = int(self.external(1)[0])
        attacker = int(org.attacker_hosts[int(rng.integers(0, len(org.attacker_hosts)))])
        n = int(rng.integers(6, 25))
        t = self.gaps(self.when("any"), n, 1000, 15_000)
        dc = org.dcs[0]
        i = self.new(
            "success_after_failures",
            user=org.acc_name[target],
            source=_ip_text(ip),
            host=org.host_short[org.rdgw],
        )
        self.add(
            i,
            "T1110.001",
            ev(
                t,
                TPL["failed_net"],
                org.rdgw,
                user=target,
                src=attacker,
                ip=ip,
                port=_ports(rng, n),
                st=WS_BADPW,
            ),
        )
        self.add(i, "T1110.001", ev(t + 20, TPL["ntlm"], dc, user=target, src=attacker, st=NS_BADPW))
        ok = int(t[-1]) + int(rng.uniform(3, 20) * 1000)
        self.add(i, "T1078", ev(ok, TPL["ntlm"], dc, user=target, src=attacker, st=NS_OK))
        self.add(
            i,
            "T1078",
            ev(
                ok + 30,
                TPL["logon_net_ntlm"],
                org.rdgw,
                user=target,
                src=attacker,
                ip=ip,
                port=_ports(rng, 1),
                aux=128,
                lid=_lids(rng, 1),
            ),
        )

    def user_enumeration(self, kerberos: bool) -> None:
        org, rng = self.org, self.rng
        pool = np.concatenate([org.ghosts, org.outsiders])
        names = rng.choice(pool, min(len(pool), int(rng.integers(20, 90))), replace=False)
        n = len(names)
        t = self.gaps(self.when("any"), n, 50, 3000)
        if kerberos:  # kerbrute: AS-REQ without pre-authentication; unknown names fail with 0x6
            wks = int(org.person_wks[self.victim()])
            ip = int(org.host_ip_arr[wks])
            i = self.new("user_enumeration", source=_ip_text(ip))
            self.add(
                i,
                "T1087.002",
                ev(t, TPL["tgt_failed"], org.dcs[0], user=names, ip=ip, port=_ports(rng, n), st=KS_UNKNOWN),
            )
        else:
            ip = int(self.external(1)[0])
            attacker = int(org.attacker_hosts[int(rng.integers(0, len(org.attacker_hosts)))])
            i = self.new("user_enumeration", source=_ip_text(ip), host=org.host_short[org.rdgw])
            self.gateway_failures(i, "T1087.002", t, names, attacker, ip, (WS_NOUSER, NS_NOUSER), 15)

    def asrep_roasting(self) -> None:
        org, rng = self.org, self.rng
        wks = int(org.person_wks[self.victim()])
        ip = int(org.host_ip_arr[wks])
        accounts = rng.choice(org.roastable, min(len(org.roastable), int(rng.integers(2, 6))), replace=False)
        n = len(accounts)
        t = self.gaps(self.when("work"), n, 100, 4000)
        i = self.new("asrep_roasting", source=_ip_text(ip))
        self.add(
            i,
            "T1558.004",
            ev(
                t,
                TPL["tgt"],
                org.dcs[0],
                user=accounts,
                ip=ip,
                port=_ports(rng, n),
                enc=E_RC4,
                aux=0,
                lid=_lids(rng, n),
            ),
        )

    def explicit_credentials(self) -> None:
        org, rng = self.org, self.rng
        p = self.victim()
        acct, wks = int(org.person_acct[p]), int(org.person_wks[p])
        ip = int(org.host_ip_arr[wks])
        used = int(org.admin_acct[org.admins[int(rng.integers(0, len(org.admins)))]])
        servers = rng.choice(
            org.member_servers, min(len(org.member_servers), int(rng.integers(5, 16))), replace=False
        )
        n = len(servers)
        t = self.gaps(self.when("work", first=0.4), n, 10_000, 120_000)
        i = self.new("explicit_credentials", user=org.acc_name[used], host=org.host_short[wks])
        lid = _lids(rng, n)
        self.add(i, "T1078.002", ev(t, TPL["explicit"], wks, subj=acct, user=used, obj=servers, lid=lid))
        self.add(
            i,
            "T1078.002",
            ev(t + 300, TPL["logon_net_krb"], servers, user=used, ip=ip, port=_ports(rng, n), lid=lid),
        )

    def unusual_logon(self) -> None:
        """Stolen credentials used at night from an address the account never used."""
        org, rng = self.org, self.rng
        p = self.victim()
        acct, wks = int(org.person_acct[p]), int(org.person_wks[p])
        ip = int(self.external(1)[0])
        t = self.when("night", person=p, first=0.75)  # after the account has a baseline
        lid = _lids(rng, 1)
        i = self.new(
            "unusual_logon", user=org.acc_name[acct], source=_ip_text(ip), host=org.host_short[org.rdgw]
        )
        self.add(i, "T1078", ev(t, TPL["ntlm"], org.dcs[0], user=acct, src=org.rdgw, st=NS_OK))
        self.add(
            i,
            "T1078",
            ev(
                t + 60,
                TPL["logon_net_ntlm"],
                org.rdgw,
                user=acct,
                src=org.rdgw,
                ip=ip,
                port=_ports(rng, 1),
                aux=128,
                lid=lid,
            ),
        )
        self.add(
            i,
            "T1078",
            ev(
                t + 4000,
                TPL["logon_rdp"],
                wks,
                user=acct,
                ip=int(org.host_ip_arr[org.rdgw]),
                port=_ports(rng, 1),
                lid=lid + 1,
            ),
        )
        self.add(i, "T1078", ev(t + 40_000, TPL["process"], wks, user=acct, obj=P_CMD, lid=lid + 1))
        self.add(i, "T1078", ev(t + 55_000, TPL["process"], wks, user=acct, obj=P_WHOAMI, lid=lid + 1))

    # -- Linux
    def ssh_brute_force(self) -> None:
        org, rng = self.org, self.rng
        ip = int(self.external(1)[0])
        n = int(rng.integers(30, 200))
        t = self.gaps(self.when("any"), n, 1000, 8000)
        user = int(org.root) if rng.random() < 0.7 else int(org.person_acct[self.victim()])
        pid = rng.integers(2000, 60000, n)
        i = self.new(
            "ssh_brute_force", user=org.acc_name[user], source=_ip_text(ip), host=org.host_short[org.bastion]
        )
        self.add(i, "T1110.001", ev(t, TPL["ssh_pam_failure"], org.bastion, user=user, ip=ip, pid=pid))
        self.add(
            i,
            "T1110.001",
            ev(t + 2000, TPL["ssh_failed_pw"], org.bastion, user=user, ip=ip, port=_ports(rng, n), pid=pid),
        )

    def ssh_enumeration(self) -> None:
        org, rng = self.org, self.rng
        ip = int(self.external(1)[0])
        names = rng.choice(org.ghosts, int(rng.integers(15, 45)), replace=False)
        n = len(names)
        t = self.gaps(self.when("any"), n, 1000, 10_000)
        pid = rng.integers(2000, 60000, n)
        port = _ports(rng, n)
        i = self.new("ssh_enumeration", source=_ip_text(ip), host=org.host_short[org.bastion])
        self.add(
            i, "T1087.001", ev(t, TPL["ssh_invalid_user"], org.bastion, user=names, ip=ip, port=port, pid=pid)
        )
        self.add(
            i,
            "T1087.001",
            ev(t + 1500, TPL["ssh_failed_invalid"], org.bastion, user=names, ip=ip, port=port, pid=pid),
        )

    def ssh_success_and_persistence(self) -> None:
        org, rng = self.org, self.rng
        ip = int(self.external(1)[0])
        host = int(org.linux[min(1, len(org.linux) - 1)])
        user = int(org.person_acct[self.victim()])
        n = int(rng.integers(6, 30))
        t = self.gaps(self.when("any"), n, 2000, 9000)
        pid = rng.integers(2000, 60000, n)
        i = self.new(
            "ssh_success_after_failures",
            user=org.acc_name[user],
            source=_ip_text(ip),
            host=org.host_short[host],
        )
        self.add(
            i, "T1110.001", ev(t, TPL["ssh_failed_pw"], host, user=user, ip=ip, port=_ports(rng, n), pid=pid)
        )
        ok = int(t[-1]) + 5000
        okpid = int(rng.integers(2000, 60000))
        self.add(
            i, "T1078", ev(ok, TPL["ssh_accept_pw"], host, user=user, ip=ip, port=_ports(rng, 1), pid=okpid)
        )
        self.add(i, "T1078", ev(ok + 20, TPL["ssh_session_open"], host, user=user, pid=okpid))
        new = int(org.linux_attacker_accounts[int(rng.integers(0, len(org.linux_attacker_accounts)))])
        i = self.new("linux_new_account", user=org.acc_name[new], host=org.host_short[host])
        self.add(i, "T1136.001", ev(ok + 60_000, TPL["useradd"], host, user=new, pid=okpid + 11))
        i = self.new("linux_group_add", user=org.acc_name[new], host=org.host_short[host])
        self.add(i, "T1098", ev(ok + 75_000, TPL["usermod_group"], host, user=new, pid=okpid + 12))


def _ip_text(ip: int) -> str:
    return ".".join(str((ip >> s) & 255) for s in (24, 16, 8, 0))


# --------------------------------------------------------------------------- driver ----


@dataclass
class GenerateSummary:
    """What was written: counts per file, attacks, and where the labels are."""

    out_dir: Path
    events: int
    files: dict[str, int]
    labelled_events: int
    attacks: list[AttackInstance]
    labels: Path
    manifest: Path


@dataclass
class _Plan:
    events: int
    seed: int
    days: int
    start: date
    linux_share: float
    people: int = 0

    @property
    def start_ms(self) -> int:
        return int(datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC).timestamp() * 1000)


class _SessionCache:
    """Sessions of each local date, drawn once per scale and kept while a UTC day may need them."""

    def __init__(self, org: Org, seed: int, plan: _Plan, scale: dict[str, float]) -> None:
        self.org, self.seed, self.plan, self.scale = org, seed, plan, scale
        self.cache: dict[int, list[Cols]] = {}

    def local_date(self, k: int) -> list[Cols]:
        """Sessions per kind for local date ``start + k`` (k may be -1 or days)."""
        if k not in self.cache:
            rng = np.random.default_rng([self.seed, 2, k + 10])
            day_ms = self.plan.start_ms + k * MS_DAY
            weekday = (self.plan.start + timedelta(days=k)).weekday()
            sched = _schedule(self.org, rng, day_ms, weekday)
            self.cache[k] = [
                kind.sample(self.org, rng, sched, self.scale[kind.stream], weekday) for kind in KINDS
            ]
        return self.cache[k]

    def utc_day(self, d: int) -> list[Cols]:
        """Sessions per kind whose start falls on UTC day ``d``, sorted by time."""
        lo = self.plan.start_ms + d * MS_DAY
        out = []
        for j in range(len(KINDS)):
            parts = []
            for k in (d - 1, d, d + 1):
                s = self.local_date(k)[j]
                keep = (s["t"] >= lo) & (s["t"] < lo + MS_DAY)
                parts.append({key: v[keep] for key, v in s.items()})
            merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
            out.append({key: v[np.argsort(merged["t"], kind="stable")] for key, v in merged.items()})
        for k in [k for k in self.cache if k < d]:
            del self.cache[k]
        return out


def _count_events(org: Org, plan: _Plan, scale: dict[str, float]) -> dict[str, np.ndarray]:
    """Benign events per stream and UTC day at these scales (sessions x steps)."""
    cache = _SessionCache(org, plan.seed, plan, scale)
    counts = {s: np.zeros(plan.days, np.int64) for s in STREAMS}
    for d in range(plan.days):
        for kind, s in zip(KINDS, cache.utc_day(d), strict=True):
            counts[kind.stream][d] += len(s["t"]) * kind.steps
    return counts


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` over days in proportion to ``weights`` (largest remainder)."""
    if total <= 0 or weights.sum() == 0:
        return np.zeros(len(weights), np.int64)
    exact = total * weights / weights.sum()
    base = np.floor(exact).astype(np.int64)
    rest = total - int(base.sum())
    base[np.argsort(-(exact - base), kind="stable")[:rest]] += 1
    out: np.ndarray = base
    return out


def people_for(events: int, days: int) -> int:
    """Organisation size that gives ``events`` over ``days`` at realistic per-person rates."""
    return int(np.clip(round(events / max(days, 1) / 80), 20, 200_000))


def generate(
    out_dir: str | Path,
    events: int,
    seed: int = 0,
    days: int = DEFAULT_DAYS,
    start: date = DEFAULT_START,
    linux_share: float = DEFAULT_LINUX_SHARE,
    progress: Callable[[str], None] | None = None,
) -> GenerateSummary:
    """Write ``events`` events (exactly) with labels and a manifest under ``out_dir``."""
    if events < 1000:
        raise BluebenchError("--events must be at least 1000 (the attacks alone need a few hundred)")
    if days < 1:
        raise BluebenchError("--days must be at least 1")
    if not 0.0 <= linux_share < 0.5:
        raise BluebenchError("the Linux share must be within 0 and 0.5")
    plan = _Plan(events, seed, days, start, linux_share, people_for(events, days))
    org = Org(np.random.default_rng([seed, 1]), plan.people)
    attacks = Attacks(org, np.random.default_rng([seed, 3]), plan.start_ms, days, linux_share > 0)
    atk = attacks.build(max(1, round(events / 1_000_000)))
    atk_stream = TPL_STREAM[atk["tpl"]]
    linux_total = round(events * linux_share)
    if linux_share > 0:
        linux_total = max(linux_total, 2 * int((atk_stream == 1).sum()))
    target = {
        "win": events - linux_total - int((atk_stream == 0).sum()),
        "linux": linux_total - int((atk_stream == 1).sum()),
    }
    if min(target.values()) < 0 or target["win"] < events // 3:
        raise BluebenchError(f"{events} events are too few for the attacks ({nrows(atk)} events); use more")

    # calibrate the session rates so that each stream has a little more than its target
    scale = {"win": 1.0, "linux": 1.0 if linux_share > 0 else 0.0}
    counts = _count_events(org, plan, scale)
    for _ in range(12):
        short = False
        for s in STREAMS:
            have = int(counts[s].sum())
            if target[s] > 0 and (have < target[s] or have > 1.15 * target[s]):
                scale[s] = scale[s] * 1.05 * target[s] / max(have, 1)
                short = True
        if not short:
            break
        counts = _count_events(org, plan, scale)
    for s in STREAMS:
        if counts[s].sum() < target[s]:
            raise BluebenchError("could not reach the requested number of events; try fewer --days")
    day_target = {s: _allocate(target[s], counts[s]) for s in STREAMS}

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writer = _Writer(out, org, plan, attacks.instances)
    cache = _SessionCache(org, seed, plan, scale)
    carry = concat([])
    for d in range(days):
        day_lo = plan.start_ms + d * MS_DAY
        sessions = cache.utc_day(d)
        day_events = sum(len(ses["t"]) * k.steps for k, ses in zip(KINDS, sessions, strict=True))
        n_win = max(1, math.ceil(day_events / WINDOW_EVENTS))
        edges = day_lo + np.arange(n_win + 1, dtype=np.int64) * MS_DAY // n_win
        rng = np.random.default_rng([seed, 4, d])
        # events each window will expand, per stream, and how many of them to drop
        per_window = {s: np.zeros(n_win, np.int64) for s in STREAMS}
        for kind, ses in zip(KINDS, sessions, strict=True):
            win = np.searchsorted(edges, ses["t"], side="right") - 1
            per_window[kind.stream] += np.bincount(win, minlength=n_win) * kind.steps
        drops = {
            s: rng.multivariate_hypergeometric(per_window[s], int(per_window[s].sum() - day_target[s][d]))
            if per_window[s].sum()
            else per_window[s]
            for s in STREAMS
        }
        for w in range(n_win):
            lo, hi = int(edges[w]), int(edges[w + 1])
            new = []
            for kind, ses in zip(KINDS, sessions, strict=True):
                keep = (ses["t"] >= lo) & (ses["t"] < hi)
                if keep.any():
                    sub = {key: v[keep] for key, v in ses.items()}
                    new.extend(kind.expand(org, rng, sub))
            fresh = concat(new)
            if nrows(fresh):
                stream = TPL_STREAM[fresh["tpl"]]
                keep_mask = np.ones(nrows(fresh), bool)
                for si, s in enumerate(STREAMS):
                    rows = np.flatnonzero(stream == si)
                    k = int(drops[s][w])
                    if k:
                        keep_mask[rng.choice(rows, k, replace=False)] = False
                fresh = take(fresh, keep_mask)
            a_rows = (atk["t"] >= lo) & (atk["t"] < hi)
            if d == 0 and w == 0:
                a_rows |= atk["t"] < lo
            pool = concat([carry, fresh, take(atk, a_rows)])
            pool = take(pool, np.argsort(pool["t"], kind="stable"))
            last = d == days - 1 and w == n_win - 1
            if last:
                a_late = atk["t"] >= hi
                pool = concat([pool, take(atk, a_late)])
                pool = take(pool, np.argsort(pool["t"], kind="stable"))
                cut = nrows(pool)
            else:
                cut = int(np.searchsorted(pool["t"], hi, side="left"))
            writer.write(take(pool, slice(0, cut)), d)
            carry = take(pool, slice(cut, None))
        if progress:
            progress(f"day {d + 1}/{days}: {writer.total:,} events written")
    return writer.finish(seed, events, days, linux_share)


class _Writer:
    """Appends formatted lines to the day's Winlogbeat file and to auth.log; collects labels."""

    def __init__(self, out: Path, org: Org, plan: _Plan, instances: list[AttackInstance]) -> None:
        self.out, self.org, self.plan, self.instances = out, org, plan, instances
        self.fmt = Formatter(org)
        self.handles: dict[str, IO[bytes]] = {}
        self.lines: dict[str, int] = {}
        self.labels: list[tuple[str, int, str, str, str]] = []
        self.records = np.zeros(org.n_hosts, np.int64)
        self.total = 0
        (out / "windows").mkdir(exist_ok=True)
        if plan.linux_share > 0:
            (out / "linux").mkdir(exist_ok=True)

    def _file(self, stream: str, day: int) -> str:
        if stream == "linux":
            return "linux/auth.log"
        return f"windows/winlogbeat-{self.plan.start + timedelta(days=day):%Y-%m-%d}.ndjson"

    def write(self, rows: Cols, day: int) -> None:
        if not nrows(rows):
            return
        rows["rec"] = self._record_ids(rows["host"])
        stream = TPL_STREAM[rows["tpl"]]
        for si, s in enumerate(STREAMS):
            mine = take(rows, stream == si)
            if not nrows(mine):
                continue
            name = self._file(s, day)
            if name not in self.handles:
                for old in [k for k in self.handles if k.startswith("windows/") and s == "win"]:
                    self.handles.pop(old).close()
                self.handles[name] = (self.out / name).open("wb")
                self.lines[name] = 0
            fh = self.handles[name]
            for lo in range(0, nrows(mine), FORMAT_ROWS):
                part = take(mine, slice(lo, lo + FORMAT_ROWS))
                _write_lines(fh, self.fmt.lines(part))
                bad = np.flatnonzero(part["atk"] >= 0)
                base = self.lines[name] + lo + 1
                for j in bad.tolist():
                    inst = self.instances[int(part["atk"][j])]
                    attack, technique = TECHNIQUES[int(part["tech"][j])]
                    self.labels.append((name, base + j, technique, attack, inst.attack_id))
            self.lines[name] += nrows(mine)
            self.total += nrows(mine)

    def _record_ids(self, host: np.ndarray) -> np.ndarray:
        """Per-host increasing record numbers (winlog.record_id), continuing across calls."""
        order = np.argsort(host, kind="stable")
        h = host[order]
        first = np.r_[0, np.flatnonzero(np.diff(h)) + 1]
        run = np.arange(len(h)) - np.repeat(first, np.diff(np.r_[first, len(h)]))
        rec = np.empty(len(h), np.int64)
        rec[order] = self.records[h] + run + 1
        self.records += np.bincount(host, minlength=len(self.records))
        return rec

    def finish(self, seed: int, events: int, days: int, linux_share: float) -> GenerateSummary:
        for handle in self.handles.values():
            handle.close()
        labels_path = self.out / "labels.csv"
        with labels_path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["file", "record", "technique", "attack", "attack_id"])
            w.writerows(sorted(self.labels))
        manifest = {
            "generator": "bluebench.datagen",
            "seed": seed,
            "events": events,
            "days": days,
            "start": self.plan.start.isoformat(),
            "linux_share": linux_share,
            "people": self.plan.people,
            "files": dict(sorted(self.lines.items())),
            "labelled_events": len(self.labels),
            "attacks": [
                {
                    "attack_id": a.attack_id,
                    "attack": a.attack,
                    "techniques": a.techniques,
                    "start": _iso_text(a.start),
                    "end": _iso_text(a.end),
                    "events": a.events,
                    "entities": a.entities,
                }
                for a in self.instances
            ],
            "hard_negatives": [{"kind": k.name, "what": k.hard_negative} for k in KINDS if k.hard_negative],
        }
        manifest_path = self.out / "manifest.json"
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        return GenerateSummary(
            self.out,
            self.total,
            dict(self.lines),
            len(self.labels),
            self.instances,
            labels_path,
            manifest_path,
        )


def _iso_text(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
    )
