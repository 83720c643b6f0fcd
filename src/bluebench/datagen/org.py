"""The organisation drawn from the seed: accounts, hosts and people with their habits.

``Org`` holds every account and host as an index into parallel lists (and Arrow lookup tables
built once, pre-escaped for JSON); event columns carry those indices. People have time zones,
working hours, weekends, remote days over VPN; administrators have separate admin accounts;
service accounts, servers, domain controllers, Linux servers and attackers' machines complete it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from bluebench.datagen.columns import Rng, ip4, json_escaped, pick
from bluebench.datagen.names import (
    ATTACKER_ACCOUNTS,
    DEPARTMENTS,
    DN_SUFFIX,
    DOMAIN,
    DOMAIN_SID,
    EXTERNAL_NETS,
    FIRST,
    FQDN,
    GHOST_NAMES,
    LAST,
    LINUX_ATTACKER_ACCOUNTS,
    REALM,
    SERVICE_NAMES,
    TIME_ZONES,
)


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
        # the steps draw from one generator in this order: reordering them changes every seed's org
        self._builtin_accounts()
        self._servers(people)
        self._service_accounts(people)
        names = self._names(rng, people + people // 20 + 10)
        self._people(rng, names, people)
        self._admins(rng, people)
        self._outside_accounts(rng, names)
        self._linux_hosts(people)
        self._attacker_hosts(rng)
        self._arrays()

    # -- the steps of drawing an organisation
    def _builtin_accounts(self) -> None:
        """Well-known accounts first, so their indices are the same in every org."""
        self.none = self._acct("-", "S-1-0-0", "-")
        self.system = self._acct("SYSTEM", "S-1-5-18", "NT AUTHORITY")
        self.anonymous = self._acct("ANONYMOUS LOGON", "S-1-5-7", "NT AUTHORITY")
        self.administrator = self._acct("Administrator", DOMAIN_SID + "-500", DOMAIN)
        self.krbtgt = self._acct("krbtgt", DOMAIN_SID + "-502", DOMAIN)
        self.root = self._acct("root", "0", "")

    def _servers(self, n: int) -> None:
        """Domain controllers and servers by role, more of each as the organisation grows."""
        self.dcs = [self._host(f"DC{i + 1:02d}", ip4(10, 20, 0, 10 + i)) for i in range(2 + n // 5000)]
        self.files = [self._host(f"FS{i + 1:02d}", ip4(10, 20, 0, 30 + i)) for i in range(1 + n // 1500)]
        self.sqls = [self._host(f"SQL{i + 1:02d}", ip4(10, 20, 0, 50 + i)) for i in range(1 + n // 3000)]
        self.webs = [self._host(f"WEB{i + 1:02d}", ip4(10, 20, 0, 70 + i)) for i in range(1 + n // 2000)]
        self.apps = [self._host(f"APP{i + 1:02d}", ip4(10, 20, 2, 10 + i)) for i in range(2 + n // 500)]
        self.exch = self._host("EXCH01", ip4(10, 20, 0, 90))
        self.rdgw = self._host("RDGW01", ip4(10, 20, 0, 91))
        self.ts = self._host("TS01", ip4(10, 20, 0, 92))
        self.bkp = self._host("BKP01", ip4(10, 20, 0, 93))
        self.sccm = self._host("SCCM01", ip4(10, 20, 0, 94))
        self.scan = self._host("SCAN01", ip4(10, 20, 0, 95))
        self.mgmt = self._host("MGMT01", ip4(10, 20, 0, 96))
        self.legacy = self._host("APP-LEGACY01", ip4(10, 20, 0, 97))
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

    def _service_accounts(self, n: int) -> None:
        """Service accounts with SPNs (Kerberoasting targets); the first ones have fixed roles."""
        n_svc = max(12, min(len(SERVICE_NAMES), 10 + n // 200))
        self.svc = np.array([self._acct(f"svc_{s}", None, DOMAIN) for s in SERVICE_NAMES[:n_svc]], np.int32)
        self.svc_sql, self.svc_web, self.svc_app, self.svc_backup = (int(x) for x in self.svc[:4])
        self.svc_sccm, self.svc_scan, self.svc_legacy = (int(x) for x in self.svc[4:7])
        self.svc_reporting = int(self.svc[9])
        self.svc_unix = self._acct("svc_unix", None, DOMAIN)  # pre-auth disabled on purpose
        self.ansible = self._acct("ansible", "1050", "")

    def _people(self, rng: Rng, names: list[str], n: int) -> None:
        """People: a user account and a workstation (or laptop) each; new hires' accounts wait unused."""
        self.person_acct = np.array([self._acct(nm, None, DOMAIN) for nm in names[:n]], np.int32)
        self.new_hires = np.array([self._acct(nm, None, DOMAIN) for nm in names[n:]], np.int32)
        laptop = rng.random(n) < 0.6
        wks = []
        for i in range(n):
            prefix = "LT" if laptop[i] else "WKS"
            wks.append(
                self._host(
                    f"{prefix}-{i + 1:05d}",
                    ip4(10, 10 + ((i + 1) >> 16), ((i + 1) >> 8) & 255, (i + 1) & 255),
                )
            )
        self.person_wks = np.array(wks, np.int32)
        self._habits(rng, laptop, n)

    def _habits(self, rng: Rng, laptop: np.ndarray, n: int) -> None:
        """Each person's time zone, hours, remote and weekend work, and the odd habits hard negatives need."""
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
        self.person_vpn_ip = (ip4(10, 200, 0, 0) + rng.integers(256, 65000, n)).astype(np.uint32)
        self.person_analyst = rng.random(n) < 0.3
        self.person_legacy = rng.random(n) < 0.01  # an old client that still asks for RC4 tickets
        self.person_dev = rng.random(n) < 0.06  # uses ssh on the Linux servers
        self.person_legacy[rng.integers(0, n)] = True  # at least one of each, even in small runs
        self.person_dev[rng.integers(0, n)] = True
        self.person_dept = rng.integers(0, len(DEPARTMENTS), n)

    def _admins(self, rng: Rng, n: int) -> None:
        """Administrators get a separate adm- account; a third of them do helpdesk work."""
        n_admins = max(2, n // 35)
        self.admins = np.sort(rng.choice(n, n_admins, replace=False)).astype(np.int32)
        self.admin_acct = np.full(n, -1, np.int32)
        for p in self.admins:
            self.admin_acct[p] = self._acct("adm-" + self.acc_name[self.person_acct[p]], None, DOMAIN)
        self.helpdesk = self.admin_acct[self.admins[: max(1, len(self.admins) // 3)]]
        self.roastable = np.concatenate(
            [[self.svc_unix], rng.choice(self.person_acct, min(n, 4), replace=False)]
        ).astype(np.int32)

    def _outside_accounts(self, rng: Rng, names: list[str]) -> None:
        """Names attackers try or create: guesses, outsiders' real-looking names, persistence accounts."""
        self.ghosts = np.array([self._acct(g, "S-1-0-0", DOMAIN) for g in GHOST_NAMES], np.int32)
        outsiders = self._names(rng, 80, exclude=set(names))
        self.outsiders = np.array([self._acct(nm, "S-1-0-0", DOMAIN) for nm in outsiders], np.int32)
        self.attacker_accounts = np.array(
            [self._acct(nm, None, DOMAIN) for nm in ATTACKER_ACCOUNTS], np.int32
        )
        self.linux_attacker_accounts = np.array(
            [self._acct(nm, str(1100 + i), "") for i, nm in enumerate(LINUX_ATTACKER_ACCOUNTS)], np.int32
        )

    def _linux_hosts(self, n: int) -> None:
        """Linux servers; the first is the internet-facing bastion that ssh attacks hit."""
        self.linux = np.array(
            [self._host(nm, ip4(10, 30, 0, 10 + i), linux=True) for i, nm in enumerate(self._linux_names(n))],
            np.int32,
        )
        self.bastion = int(self.linux[0])

    def _attacker_hosts(self, rng: Rng) -> None:
        """Machines attackers use: a name for WorkstationName and an external address."""
        # all names are drawn before any address (the list is built first), as the seed expects
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
            return pa.array([json_escaped(v) for v in values] + [missing], pa.string())

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


def pick_dc(org: Org, rng: Rng, n: int) -> np.ndarray:
    """A domain controller per event: clients spread over all of them."""
    return pick(rng, org.dcs, n)


def _uid(sid: str) -> str:
    """A Linux uid for an account, stable from its SID's RID."""
    if sid == "0":
        return "0"
    rid = sid.rsplit("-", 1)[-1]
    return str(int(rid) % 60000 + 1000) if rid.isdigit() else "0"


def _word(rng: Rng, n: int) -> str:
    """Random letters and digits, as in Windows' default machine names."""
    letters = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", np.uint8)
    return bytes(letters[rng.integers(0, len(letters), n)]).decode()
