"""Account persistence: new accounts, group membership and account changes.

New accounts (T1136), privileged group membership and account settings that weaken
authentication (T1098), from Windows Security and System events, SQL Server audit, syslog
and command lines. Each query is a module constant; each kind of signal has its own helper
that scores it and says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

from bluebench.detectors.base import Detector, Finding, duration, plural
from bluebench.detectors.winsql import PROCESS_EVENTS, Tally, ed, grouped, names, sql_list, uniq
from bluebench.engines import Db

# Account names that pass for administrators or service accounts at a glance.
ADMIN_LIKE_RE = r"(?i)(^|[^a-z])(adm|root|svc|srv|service|backup|support|helpdesk)"
# 'net user NAME ... /add' (also net1), the password argument never shown.
NET_USER_ADD_RE = r'(?i)\bnet1?(\.exe)?"?\s+user\s+("[^"]+"|[^\s/]+)[^|&]*/add\b'
USERADD_RE = r"(?i)\b(useradd|adduser)\s+(-\S+\s+(\S+\s+)?)*([a-z_][a-z0-9_.-]*\$?)\s*$"


def _cn(expr: str) -> str:
    """The account name in a member or object field: CN=name,... -> name; SIDs and names as they are."""
    return f"coalesce(nullif(regexp_extract({expr}, '^(?i)CN=((?:[^,\\\\]|\\\\.)+)', 1), ''), {expr})"


def _account_key(expr: str) -> str:
    """An account name reduced to compare across events: lower case, no domain, no trailing $."""
    return f"rtrim(lower(regexp_replace({_cn(expr)}, '^.*\\\\', '')), '$')"


_CMD = '"process.command_line"'
# Account creation, enabling, deletion and first passwords as logged, and 'net user /add' or
# useradd commands; 'kind' says which.
ACCOUNT_SIGNALS_SQL = f"""
            SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, "user.name" AS actor,
                   "user.target.name" AS account, "event.code" AS code,
                   CASE WHEN "event.code" = '4741' THEN 'computer-created'
                        WHEN "event.action" = 'user-created' THEN 'created'
                        WHEN "event.action" = 'user-enabled' THEN 'enabled'
                        WHEN "event.action" IN ('user-deleted', 'computer-deleted') THEN 'deleted'
                        ELSE 'password-set' END AS kind,
                   {ed("TargetSid")} AS sid, {ed("TargetDomainName")} AS domain,
                   coalesce({ed("PrivilegeList")}, '') AS privileges, {_CMD} AS statement, "event.dataset" AS dataset
            FROM events
            WHERE "user.target.name" IS NOT NULL AND (
                "event.action" IN ('user-created', 'user-enabled', 'user-deleted', 'computer-deleted')
                OR "event.code" = '4741'
                OR ("event.code" IN ('4738', '4742') AND {ed("PasswordLastSet")} IS NOT NULL
                    AND NOT starts_with({ed("PasswordLastSet")}, '%%')))
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name",
                   coalesce(nullif(trim(regexp_extract({_CMD}, '{NET_USER_ADD_RE}', 2), '"'), ''),
                            nullif(trim(regexp_extract({_CMD}, '{USERADD_RE}', 4)), '')),
                   "event.code", 'command-created', NULL,
                   CASE WHEN regexp_matches({_CMD}, '(?i)/domain\\b') THEN 'domain' END, '', {_CMD}, "event.dataset"
            FROM events
            WHERE {PROCESS_EVENTS}
              AND (regexp_matches({_CMD}, '{NET_USER_ADD_RE}') OR regexp_matches({_CMD}, '{USERADD_RE}'))
        """
# One row per host, account and burst of account signals (gap in minutes bound first).
NEW_ACCOUNTS_SQL = (
    grouped(
        ACCOUNT_SIGNALS_SQL,
        "concat_ws('|', split_part(lower(host), '.', 1), " + _account_key("account") + ")",
    )
    + """
            SELECT min(host) AS host, min(account) FILTER (WHERE kind <> 'command-created') AS account,
                   min(account) AS any_account, list(DISTINCT actor ORDER BY actor) FILTER (WHERE actor IS NOT NULL) AS actors,
                   list(DISTINCT kind ORDER BY kind) AS kinds, list(DISTINCT code ORDER BY code) AS codes, min(sid) AS sid,
                   min(domain) FILTER (WHERE kind IN ('created', 'command-created')) AS domain,
                   bool_or(privileges LIKE '%SeMachineAccountPrivilege%') AS machine_quota,
                   bool_or(actor LIKE '%$') FILTER (WHERE kind = 'computer-created') AS by_machine,
                   list(DISTINCT statement ORDER BY statement) FILTER (WHERE dataset = 'evtx' AND statement ILIKE 'CREATE LOGIN%')
                       AS sql_statements,
                   bool_or(statement ILIKE '%CHECK_POLICY=OFF%') FILTER (WHERE kind = 'created') AS weak_policy,
                   list(DISTINCT dataset ORDER BY dataset) AS datasets,
                   min(ts) FILTER (WHERE kind IN ('created', 'computer-created', 'command-created', 'password-set'))
                       AS born, min(ts) FILTER (WHERE kind = 'deleted') AS deleted,
                   count(*) AS n, min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids
            FROM g GROUP BY gk, grp ORDER BY first
            """
)


# Account management a person does as part of the job (create, enable, reset, change, group
# membership): one row per acting account and day. A helpdesk that resets passwords daily
# creates a new hire's account as routine; an admin account that never manages accounts
# creating one (then adding it to Domain Admins) is the attack.
ACCOUNT_ADMIN_DAYS_SQL = """
    SELECT DISTINCT lower("user.name") AS actor, CAST("@timestamp" AS DATE) AS day FROM events
    WHERE "event.code" IN ('4720', '4722', '4724', '4725', '4726', '4728', '4729', '4732', '4733', '4738',
                           '4756', '4757')
      AND "user.name" IS NOT NULL AND "@timestamp" IS NOT NULL
"""


class AccountManagers:
    """Which accounts manage accounts as routine: on ``min_days`` of the ``lookback_days`` before a day."""

    def __init__(self, rows: Iterable[dict[str, Any]], min_days: int, lookback_days: int) -> None:
        self.min_days, self.lookback = min_days, lookback_days
        self.days: dict[str, set[Any]] = {}
        for r in rows:
            self.days.setdefault(str(r["actor"]), set()).add(r["day"])

    def earlier_days(self, actor: str, when: Any) -> int:
        """Days before ``when``'s day (within the lookback) on which ``actor`` managed accounts."""
        day = when.date()
        return sum(1 for d in self.days.get(actor.lower(), ()) if 0 < (day - d).days <= self.lookback)

    def routine(self, actors: Iterable[str], when: Any) -> bool:
        """Whether every acting account managed accounts on enough earlier days."""
        found = [self.earlier_days(a, when) for a in actors]
        return bool(found) and min(found) >= self.min_days > 0


class AccountCreated(Detector):
    """New user, computer or database accounts, and built-in accounts switched on (T1136)."""

    id: ClassVar[str] = "account_created"
    phrase: ClassVar[str] = "an account created"
    title: ClassVar[str] = "New account created"
    tactics: ClassVar[tuple[str, ...]] = ("TA0003",)
    techniques: ClassVar[tuple[str, ...]] = ("T1136",)
    severity: ClassVar[str] = "medium"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 60,  # events about one account further apart start a new finding
        "created_score": 0.35,  # a user account (or SQL login) was created: low on its own
        "computer_score": 0.3,  # a computer account was created
        "machine_quota_score": 0.35,  # ... by a user through SeMachineAccountPrivilege (MachineAccountQuota)
        "dollar_name_score": 0.4,  # a user account whose name ends with $ (hidden, passes for a computer)
        "admin_name_score": 0.15,  # a name that passes for an admin or service account
        "quick_delete_score": 0.35,  # deleted again within quick_delete_minutes
        "quick_delete_minutes": 60,
        "builtin_enabled_score": 0.7,  # Guest, DefaultAccount or SQL 'sa' switched on
        "weak_policy_score": 0.15,  # SQL login created with CHECK_POLICY=OFF
        "routine_days": 1,  # earlier days on which the creator managed accounts that make it a helpdesk
        "lookback_days": 28,  # ... counted over this many days before
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host, account and burst of creation, enabling and deletion signals."""
        p = self.params
        managers = AccountManagers(
            self.rows(con, ACCOUNT_ADMIN_DAYS_SQL), int(p["routine_days"]), int(p["lookback_days"])
        )
        for r in self.rows(con, NEW_ACCOUNTS_SQL, [p["gap_minutes"]]):
            finding = self._finding(r, managers)
            if finding is not None:
                yield finding

    def _finding(self, r: dict[str, Any], managers: AccountManagers) -> Finding | None:
        """Scores and reasons for one account's burst; None when nothing in it counts."""
        kinds = set(r["kinds"])
        account = str(r["account"] or r["any_account"])
        actors = [a for a in uniq(r["actors"]) if a.lower() != account.lower()]
        by = f" by {names(actors)}" if actors else ""
        t = Tally()
        routine = managers.routine(actors, r["first"])
        if kinds & {"created", "command-created"}:
            self._created(t, r, kinds, account, by)
            if routine and len(t.scores) == 1:
                return None  # a plain new account by someone who manages accounts every week
            if routine:
                t.reasons.append(f"{names(actors)} manages accounts routinely (on earlier days too)")
        if "computer-created" in kinds:
            self._computer_created(t, r, account, by)
        builtin = "enabled" in kinds and (
            str(r["sid"] or "").endswith(("-501", "-503")) or account.lower() in ("guest", "sa")
        )
        if builtin:
            t.add(
                float(self.params["builtin_enabled_score"]),
                f"the built-in account '{account}' was switched on on {r['host']}{by}: default accounts "
                "are disabled because their names are known to everyone",
                "T1078.001",
            )
        if self._deleted_soon(r):
            self._quick_delete(t, r, kinds, account, by)
        if not t.scores:
            return None
        entities = {"host": r["host"], "target": account, "user": actors[0] if actors else ""}
        return t.finding(r, entities, r["eids"])

    def _created(self, t: Tally, r: dict[str, Any], kinds: set[str], account: str, by: str) -> None:
        """A user account or SQL login created, and what makes its name or settings suspicious."""
        p = self.params
        via = []
        if "created" in kinds:
            via.append("logged as created")
        if "command-created" in kinds:
            via.append("created on the command line (net user /add or useradd)")
        where = "SQL Server login" if r["sql_statements"] else "account"
        t.add(
            float(p["created_score"]),
            f"new {where} '{account}' on {r['host']}{by} ({'; '.join(via)})",
            self._created_technique(r),
        )
        if account.endswith("$") and "computer-created" not in kinds:
            t.add(
                float(p["dollar_name_score"]),
                f"'{account}' is a user account whose name ends with $: it passes for a computer "
                "account and is hidden from 'net user'",
            )
        if re.search(ADMIN_LIKE_RE, account):
            t.add(
                float(p["admin_name_score"]),
                f"the name '{account}' passes for an administrator or service account",
            )
        if r["weak_policy"]:
            t.add(
                float(p["weak_policy_score"]),
                "the login was created with CHECK_POLICY=OFF: no password policy applies",
            )

    @staticmethod
    def _created_technique(r: dict[str, Any]) -> str:
        """T1136 for a SQL login, .001 for a local account (or of unknown domain), .002 for a domain one."""
        local = r["domain"] is not None and r["domain"].lower() == r["host"].split(".")[0].lower()
        if r["sql_statements"]:
            return "T1136"
        if "authlog" in r["datasets"] or local or r["domain"] is None:
            return "T1136.001"
        return "T1136.002"

    def _computer_created(self, t: Tally, r: dict[str, Any], account: str, by: str) -> None:
        """A computer account created, and whether a user made it through the machine account quota."""
        p = self.params
        t.add(float(p["computer_score"]), f"new computer account '{account}' on {r['host']}{by}", "T1136.002")
        if r["machine_quota"] and not r["by_machine"]:
            t.add(
                float(p["machine_quota_score"]),
                "created through SeMachineAccountPrivilege by a user (MachineAccountQuota): the first step "
                "of noPac (CVE-2021-42278/42287) and resource-based delegation attacks",
            )

    def _deleted_soon(self, r: dict[str, Any]) -> bool:
        """Whether the account was deleted within quick_delete_minutes of its creation or first password."""
        if r["born"] is None or r["deleted"] is None:
            return False
        seconds: float = (r["deleted"] - r["born"]).total_seconds()
        return 0 <= seconds <= 60 * float(self.params["quick_delete_minutes"])

    def _quick_delete(self, t: Tally, r: dict[str, Any], kinds: set[str], account: str, by: str) -> None:
        """An account used once and removed; alone it is a finding of its own."""
        p = self.params
        if not t.scores:
            t.add(
                float(p["created_score"]),
                f"account '{account}' on {r['host']} got its first password{by} and was deleted soon after",
                "T1136",
            )
        created = kinds & {"created", "computer-created", "command-created"}
        t.add(
            float(p["quick_delete_score"]),
            f"'{account}' was deleted {duration(r['born'], r['deleted'])} after it was "
            + ("created" if created else "given a password")
            + ": used once, then removed to hide it",
        )


# Groups whose members control the domain, its DCs or its secrets (lower case).
TIER0_GROUPS = (
    "administrators", "domain admins", "enterprise admins", "schema admins", "key admins", "enterprise key admins",
    "account operators", "backup operators", "server operators", "print operators", "dnsadmins",
    "group policy creator owners", "domain controllers", "enterprise domain controllers", "cert publishers",
    "exchange trusted subsystem", "exchange windows permissions", "organization management", "exchange servers",
    "sysadmin", "securityadmin", "serveradmin", "db_owner", "db_securityadmin",
)  # fmt: skip
# Groups that grant remote access or wide reading rights (lower case).
SENSITIVE_GROUPS = (
    "remote desktop users", "remote management users", "distributed com users", "hyper-v administrators",
    "event log readers", "network configuration operators", "cryptographic operators", "storage replica administrators",
    "incoming forest trust builders", "windows authorization access group", "db_accessadmin", "db_ddladmin",
    "setupadmin", "processadmin", "recipient management", "security administrator", "compliance management",
    "server management", "help desk", "records management", "discovery management", "hygiene management",
    "public folder management", "um management", "view-only organization management", "delegated setup",
    "managed availability servers", "exchangelegacyinterop", "security reader",
)  # fmt: skip
# Groups every new account lands in; adding to them alone is not reported.
DEFAULT_GROUPS = ("users", "none", "domain users", "domain computers", "guests", "domain guests")


# 'net group NAME MEMBER /add' or 'net localgroup NAME MEMBER /add' (also net1).
NET_GROUP_ADD_RE = (
    r'(?i)\bnet1?(\.exe)?"?\s+(local)?group\s+("[^"]+"|[^\s/]+)\s+("[^"]+"|[^\s/]+)[^|&]*/add\b'
)
# Group members added or removed as logged, and 'net group /add' commands.
GROUP_SIGNALS_SQL = f"""
            SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, "user.name" AS actor,
                   "user.id" AS actor_sid, "group.name" AS grp_name, "user.target.name" AS member,
                   {ed("MemberSid")} AS member_sid,
                   CASE WHEN "event.action" = 'group-member-added' THEN 'added' ELSE 'removed' END AS kind
            FROM events
            WHERE "event.action" IN ('group-member-added', 'group-member-removed') AND "group.name" IS NOT NULL
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", "user.id",
                   trim(regexp_extract({_CMD}, '{NET_GROUP_ADD_RE}', 3), '"'),
                   trim(regexp_extract({_CMD}, '{NET_GROUP_ADD_RE}', 4), '"'), NULL, 'command-added'
            FROM events WHERE {PROCESS_EVENTS} AND regexp_matches({_CMD}, '{NET_GROUP_ADD_RE}')
        """
_MEMBER_KEY = _account_key("coalesce(member, member_sid)")
# One row per host, actor, member and burst of group changes, with the member's name where
# only its SID was logged (gap in minutes bound first).
GROUP_ADDITIONS_SQL = (
    grouped(
        GROUP_SIGNALS_SQL, f"concat_ws('|', split_part(lower(host), '.', 1), lower(actor), {_MEMBER_KEY})"
    )
    + f"""
            , b AS (
                SELECT min(host) AS host, min(actor) AS actor, min(actor_sid) AS actor_sid,
                       min({_cn("member")}) AS member, min(member_sid) AS member_sid,
                       list(DISTINCT grp_name ORDER BY grp_name) FILTER (WHERE kind IN ('added', 'command-added'))
                           AS added,
                       list(DISTINCT grp_name ORDER BY grp_name) FILTER (WHERE kind = 'removed') AS removed,
                       count(*) AS n, min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids
                FROM g GROUP BY gk, grp
            ), sid_names AS (
                -- the account name the account events (created, enabled, changed) give each SID
                SELECT {ed("TargetSid")} AS sid, min("user.target.name") AS name FROM events
                WHERE "event.code" IN ('4720', '4722', '4738', '4741', '4726') GROUP BY 1
            )
            SELECT b.*, sid_names.name AS member_name
            FROM b LEFT JOIN sid_names ON sid_names.sid = b.member_sid ORDER BY first
            """
)


class GroupMembershipChange(Detector):
    """Accounts added to privileged groups, to many groups, or by themselves (T1098.007)."""

    id: ClassVar[str] = "group_membership_change"
    phrase: ClassVar[str] = "a privileged group change"
    title: ClassVar[str] = "Account added to a privileged group"
    tactics: ClassVar[tuple[str, ...]] = ("TA0003", "TA0004")
    techniques: ClassVar[tuple[str, ...]] = ("T1098.007",)
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 30,
        "tier0_score": 0.8,  # a group that controls the domain, its DCs or a SQL server
        "sensitive_score": 0.55,  # remote access, Exchange roles, SQL database admin roles
        "other_score": 0.25,  # any other group ...
        "min_other_groups": 3,  # ... reported from this many groups at once (or self-added, or removed again)
        "groups_half": 5,  # many groups at once raise the score
        "self_add_score": 0.45,  # the account added itself
        "quick_remove_score": 0.2,  # ... and was removed again in the same burst
        "routine_days": 1,  # earlier days on which the actor managed accounts: its non-tier-0 changes are routine
        "lookback_days": 28,  # ... counted over this many days before
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host, actor, member and burst of group additions."""
        p = self.params
        managers = AccountManagers(
            self.rows(con, ACCOUNT_ADMIN_DAYS_SQL), int(p["routine_days"]), int(p["lookback_days"])
        )
        for r in self.rows(con, GROUP_ADDITIONS_SQL, [p["gap_minutes"]]):
            finding = self._finding(r, managers)
            if finding is not None:
                yield finding

    def _finding(self, r: dict[str, Any], managers: AccountManagers) -> Finding | None:
        """Scores and reasons for one member's burst; None for one ordinary group."""
        p = self.params
        added = uniq(r["added"] or [])
        removed = set(r["removed"] or [])
        real = [x for x in added if x.lower() not in DEFAULT_GROUPS]
        member, actor = str(r["member"] or "?"), str(r["actor"] or "?")
        if r["member_name"] and member == r["member_sid"]:
            member = f"{r['member_name']} ({member})"
        self_add = (
            bool(r["actor_sid"] and r["actor_sid"] == r["member_sid"]) or member.lower() == actor.lower()
        )
        if not real and not (self_add and added):
            return None
        tier0 = [x for x in real if x.lower() in TIER0_GROUPS]
        sensitive = [x for x in real if x.lower() in SENSITIVE_GROUPS]
        quick = [x for x in real if x in removed]
        if not (tier0 or sensitive or self_add or quick or len(real) >= int(p["min_other_groups"])):
            return None  # one ordinary group (a new hire put into 'VPN Users'): not reported
        few = len(real) < int(p["min_other_groups"])
        if few and not (tier0 or self_add or quick) and managers.routine([actor], r["first"]):
            return None  # the helpdesk granting remote access, as on its other days
        t = Tally()
        self._groups_added(t, r, actor, member, real or added, tier0, sensitive)
        if len(real) > 1:
            half = float(p["groups_half"])
            t.add(
                1.0 - 0.5 ** ((len(real) - 1) / half) if half > 0 else 0.0,
                f"{len(real)} groups at once for one account raise the score",
            )
        if self_add:
            t.add(float(p["self_add_score"]), f"'{actor}' added itself: an account granting its own rights")
        if quick:
            t.add(
                float(p["quick_remove_score"]),
                f"and removed it again from {names(quick)} within the burst, which hides the change",
            )
        entities = {"user": actor, "target": member, "host": r["host"], "group": (tier0 or real or added)[0]}
        return t.finding(r, entities, r["eids"])

    def _groups_added(
        self,
        t: Tally,
        r: dict[str, Any],
        actor: str,
        member: str,
        groups: list[str],
        tier0: list[str],
        sensitive: list[str],
    ) -> None:
        """The additions, scored by the most powerful group among them."""
        p = self.params
        score = p["tier0_score"] if tier0 else p["sensitive_score"] if sensitive else p["other_score"]
        t.add(
            float(score),
            f"'{actor}' added '{member}' to {plural(len(groups), 'group')} on {r['host']}: "
            f"{names(groups, 6)}" + (f" in {duration(r['first'], r['last'])}" if r["n"] > 1 else ""),
        )
        if tier0:
            t.add(None, f"members of {names(tier0)} control the domain, its controllers or the server")
        elif sensitive:
            t.add(None, f"members of {names(sensitive)} get remote access or administrative roles")


# SAM account-control bits as 4738/4742 log them (OldUacValue/NewUacValue):
# bit: (what it means, score when set, score when cleared).
SAM_UAC_FLAGS: dict[int, tuple[str, float, float]] = {
    0x4: ("'password not required'", 0.6, 0.0),
    0x200: ("'password never expires'", 0.35, 0.0),
    0x800: ("'store password using reversible encryption'", 0.65, 0.0),
    0x1000: ("'smart card required'", 0.0, 0.4),
    0x2000: ("'trusted for delegation' (unconstrained)", 0.7, 0.0),
    0x4000: ("'account is sensitive and cannot be delegated'", 0.2, 0.45),
    0x8000: ("'use only Kerberos DES encryption types'", 0.6, 0.0),
    0x10000: ("'do not require Kerberos pre-authentication' (AS-REP roastable)", 0.75, 0.0),
    0x40000: ("'trusted to authenticate for delegation' (protocol transition)", 0.75, 0.0),
}
# LDAP attributes whose change (5136, value added) gives an account new powers:
# attribute (lower case): (name as AD spells it, what it does, score on a user, score on a computer).
LDAP_ATTRIBUTES: dict[str, tuple[str, str, float, float]] = {
    "serviceprincipalname": (
        "servicePrincipalName",
        "SPNs decide which service tickets the KDC issues for the account; a user account with one is Kerberoastable",
        0.65,
        0.3,
    ),
    "msds-allowedtodelegateto": (
        "msDS-AllowedToDelegateTo",
        "constrained delegation to these services",
        0.6,
        0.6,
    ),
    "msds-allowedtoactonbehalfofotheridentity": (
        "msDS-AllowedToActOnBehalfOfOtherIdentity",
        "resource-based constrained delegation (RBCD): the listed accounts may impersonate anyone to it",
        0.85,
        0.85,
    ),
    "msds-keycredentiallink": (
        "msDS-KeyCredentialLink",
        "a key credential lets its holder log on as the account (shadow credentials)",
        0.8,
        0.8,
    ),
    "sidhistory": ("sIDHistory", "SID history grants the rights of other accounts", 0.9, 0.9),
    "scriptpath": ("scriptPath", "a logon script runs at every logon of the account", 0.45, 0.45),
}
# LDAP userAccountControl bits that give delegation rights.
LDAP_UAC_DELEGATION = {0x80000: "TRUSTED_FOR_DELEGATION", 0x1000000: "TRUSTED_TO_AUTH_FOR_DELEGATION"}
# The replication SPN (DRS) and global catalog SPN a rogue DC registers (DCShadow).
DCSHADOW_SPN_RE = r"(?i)E3514235-4B06-11D1-AB04-00C04FC2DCD2|(^|\s)GC/"
# SID history added to an account (4738): it grants the rights of the accounts named there.
SID_HISTORY_SCORE = 0.9
_OLD_UAC, _NEW_UAC = f"try_cast({ed('OldUacValue')} AS BIGINT)", f"try_cast({ed('NewUacValue')} AS BIGINT)"
# SAM_UAC_FLAGS as SQL rows (bit, label, score when set, score when cleared).
_UAC_FLAG_ROWS = ", ".join(
    f"({bit}, '{label.replace(chr(39), chr(39) * 2)}', {on}, {off})"
    for bit, (label, on, off) in SAM_UAC_FLAGS.items()
)
_LDAP_ATTRIBUTE_NAMES = sql_list(LDAP_ATTRIBUTES)
_OBJECT_DN, _SPNS, _DELEGATE = ed("ObjectDN"), ed("ServicePrincipalNames"), ed("AllowedToDelegateTo")
# Account changes that weaken authentication or grant powers, one row each; 'kind' says which
# and 'detail' what changed (the flag, the SPNs, the attribute value, the old name ...). The
# query only selects: each kind's helper scores it, so no parameter is written into SQL text.
CHANGE_SIGNALS_SQL = f"""
            WITH uac AS (
                SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, "user.name" AS actor,
                       "user.target.name" AS account, "event.code" AS code, {_OLD_UAC} AS old, {_NEW_UAC} AS new
                FROM events WHERE "event.code" IN ('4738', '4742') AND {_NEW_UAC} IS NOT NULL AND {_OLD_UAC} IS NOT NULL
            ), flags(bit, label, on_score, off_score) AS (VALUES {_UAC_FLAG_ROWS})
            SELECT ts, eid, host, actor, account, 'uac-set' AS kind, label AS detail
            FROM uac JOIN flags ON (new & bit) <> 0 AND (old & bit) = 0 AND on_score > 0
            UNION ALL
            SELECT ts, eid, host, actor, account, 'uac-cleared', label
            FROM uac JOIN flags ON (old & bit) <> 0 AND (new & bit) = 0 AND off_score > 0
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", "user.target.name",
                   CASE WHEN regexp_matches({_SPNS}, '{DCSHADOW_SPN_RE}') THEN 'dcshadow' ELSE 'spn-change' END,
                   regexp_replace(trim({_SPNS}), '\\s+', ' ', 'g')
            FROM events WHERE "event.code" = '4742' AND {_SPNS} IS NOT NULL AND NOT starts_with({_SPNS}, '%%')
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", "user.target.name", 'delegate-to',
                   regexp_replace(trim({_DELEGATE}), '\\s+', ' ', 'g')
            FROM events WHERE "event.code" IN ('4738', '4742') AND {_DELEGATE} IS NOT NULL AND NOT starts_with({_DELEGATE}, '%%')
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", "user.target.name", 'sid-history',
                   {ed("SidHistory")}
            FROM events WHERE "event.code" = '4738' AND {ed("SidHistory")} IS NOT NULL
              AND NOT starts_with({ed("SidHistory")}, '%%')
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", {_cn(_OBJECT_DN)},
                   'ldap:' || lower({ed("AttributeLDAPDisplayName")}) || ':' || lower(coalesce({ed("ObjectClass")}, '')),
                   {ed("AttributeValue")}
            FROM events WHERE "event.code" = '5136' AND {ed("OperationType")} = '%%14674'
              AND list_contains({_LDAP_ATTRIBUTE_NAMES}, lower({ed("AttributeLDAPDisplayName")}))
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", {_cn(_OBJECT_DN)}, 'ldap-delegation-uac',
                   {ed("AttributeValue")}
            FROM events WHERE "event.code" = '5136' AND {ed("OperationType")} = '%%14674'
              AND lower({ed("AttributeLDAPDisplayName")}) = 'useraccountcontrol'
              AND (try_cast({ed("AttributeValue")} AS BIGINT) & {sum(LDAP_UAC_DELEGATION)}) <> 0
            UNION ALL
            SELECT min(ts), min(eid), min(host), min(actor), min(account), 'owner',
                   min(owner) FILTER (WHERE op = '%%14675') || ' -> ' || min(owner) FILTER (WHERE op = '%%14674')
            FROM (
                SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, "user.name" AS actor,
                       {_cn(_OBJECT_DN)} AS account, {ed("OpCorrelationID")} AS op_id, {ed("OperationType")} AS op,
                       regexp_extract({ed("AttributeValue")}, '^O:(.*?)G:', 1) AS owner
                FROM events WHERE "event.code" = '5136' AND lower({ed("AttributeLDAPDisplayName")}) = 'ntsecuritydescriptor'
            ) GROUP BY op_id
            HAVING count(DISTINCT owner) > 1 AND bool_or(op = '%%14675') AND bool_or(op = '%%14674')
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", {ed("NewTargetUserName")}, 'rename',
                   {ed("OldTargetUserName")}
            FROM events WHERE "event.code" = '4781'
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", "user.target.name",
                   CASE WHEN "event.code" = '4724' THEN 'reset' ELSE 'change-other' END, NULL
            FROM events WHERE "event.code" IN ('4724', '4723') AND "user.target.name" IS NOT NULL
              AND lower("user.name") <> lower("user.target.name") AND NOT ends_with("user.name", '$')
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name",
                   trim(regexp_extract({_CMD}, '(?i)setspn(\\.exe)?"?\\s+[-/][as]\\s+\\S+\\s+("[^"]+"|\\S+)', 2), '"'),
                   'spn-command', regexp_extract({_CMD}, '(?i)setspn(\\.exe)?"?\\s+[-/][as]\\s+(\\S+)', 2)
            FROM events WHERE {PROCESS_EVENTS} AND regexp_matches({_CMD}, '(?i)setspn(\\.exe)?"?\\s+[-/][as]\\s')
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", "user.target.name", 'db-user',
                   "process.command_line"
            FROM events WHERE "event.action" = 'database-user-created'
        """
# One row per host, changed account and burst, every change an item (gap in minutes bound first).
CHANGED_ACCOUNTS_SQL = (
    grouped(CHANGE_SIGNALS_SQL, f"concat_ws('|', split_part(lower(host), '.', 1), {_account_key('account')})")
    + """
            SELECT min(host) AS host, list(DISTINCT actor ORDER BY actor) AS actors,
                   coalesce(min(account) FILTER (WHERE NOT starts_with(kind, 'ldap') AND kind <> 'owner'),
                            min(account)) AS account,
                   list(struct_pack(kind := kind, detail := detail, actor := actor) ORDER BY ts, eid)
                       AS items,
                   count(*) AS n, min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids
            FROM g GROUP BY gk, grp ORDER BY first
            """
)
# Remote SAMR pipe opens (few rows), to join with password resets by the same account.
REMOTE_SAMR_SQL = f"""SELECT split_part(lower("host.name"), '.', 1) AS host, lower("user.name") AS actor,
                       "@timestamp" AS ts, "event.id" AS eid, "source.ip" AS src
                FROM events WHERE "event.code" = '5145' AND lower({ed("RelativeTargetName")}) = 'samr'
                  AND "source.ip" IS NOT NULL AND "source.ip" NOT IN ('127.0.0.1', '::1')"""


def _changes_by_kind(items: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Each kind of change with its distinct details, first seen first; SPNs of DCShadow told apart."""
    details: dict[str, list[Any]] = {}
    for item in items:
        kind = item["kind"]
        if kind == "ldap:serviceprincipalname:computer" and re.search(
            DCSHADOW_SPN_RE, str(item["detail"] or "")
        ):
            kind = "dcshadow"
        values = details.setdefault(kind, [])
        if item["detail"] not in values:
            values.append(item["detail"])
    return details


@dataclass
class _Changes:
    """One account's burst of changes as the reasons about it need it."""

    row: dict[str, Any]
    account: str
    actors: list[str]
    by: str  # " by alice" or ""
    eids: list[str]  # the burst's events, and the SAMR pipe opens a reset joins
    samr: list[dict[str, Any]]
    tally: Tally = field(default_factory=lambda: Tally(techniques=["T1098"]))


class AccountManipulation(Detector):
    """Account settings that weaken authentication, delegation, SPNs, renames, resets (T1098)."""

    id: ClassVar[str] = "account_manipulation"
    phrase: ClassVar[str] = "account manipulation"
    title: ClassVar[str] = "Account manipulated"
    tactics: ClassVar[tuple[str, ...]] = ("TA0003", "TA0004")
    techniques: ClassVar[tuple[str, ...]] = ("T1098",)
    severity: ClassVar[str] = "medium"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 30,
        "dcshadow_score": 0.9,  # replication/GC SPNs added to a computer that is no DC
        "spn_change_score": 0.3,  # other SPN changes on a computer (4742)
        "delegation_list_score": 0.6,  # AllowedToDelegateTo set (4742/4738)
        "owner_change_score": 0.55,  # the owner of a directory object changed (5136)
        "computer_rename_score": 0.9,  # a computer renamed without its trailing $ (CVE-2021-42278)
        "admin_rename_score": 0.5,  # an account renamed to an admin-like name
        "reset_score": 0.3,  # another account's password reset (4724)
        "remote_samr_score": 0.35,  # ... over a remote SAMR pipe (Mimikatz setntlm)
        "change_other_score": 0.5,  # another account's password changed (4723): needs its old hash
        "spn_command_score": 0.6,  # setspn -a/-s on the command line
        "db_user_score": 0.35,  # a SQL Server login mapped into a database
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host, changed account and burst, with every change found."""
        samr = self.rows(con, REMOTE_SAMR_SQL)
        for r in self.rows(con, CHANGED_ACCOUNTS_SQL, [self.params["gap_minutes"]]):
            finding = self._finding(r, samr)
            if finding is not None:
                yield finding

    def _finding(self, r: dict[str, Any], samr: list[dict[str, Any]]) -> Finding | None:
        """Scores and reasons for one account's changes; the same kind of change is told once."""
        actors = uniq(r["actors"])
        by = f" by {names(actors)}" if actors else ""
        c = _Changes(r, str(r["account"] or "?"), actors, by, list(r["eids"]), samr)
        for kind, values in _changes_by_kind(r["items"]).items():
            tell = self._teller(kind)
            if tell is not None:
                tell(c, [v for v in values if v not in (None, "")])
        if not c.tally.scores:
            return None
        entities = {"target": c.account, "host": r["host"], "user": actors[0] if actors else ""}
        return c.tally.finding(r, entities, uniq(c.eids))

    def _teller(self, kind: str) -> Callable[[_Changes, list[Any]], None] | None:
        """The method that scores and tells one kind of change; None for a kind not told."""
        if kind.startswith("ldap:"):
            return partial(self._ldap_attribute, kind)
        tellers: dict[str, Callable[[_Changes, list[Any]], None]] = {
            "uac-set": self._uac_set,
            "uac-cleared": self._uac_cleared,
            "dcshadow": self._dcshadow,
            "spn-change": self._spn_change,
            "delegate-to": self._delegate_to,
            "sid-history": self._sid_history,
            "ldap-delegation-uac": self._ldap_delegation_uac,
            "owner": self._owner,
            "rename": self._rename,
            "reset": self._reset,
            "change-other": self._change_other,
            "spn-command": self._spn_command,
            "db-user": self._db_user,
        }
        return tellers.get(kind)

    def _uac_set(self, c: _Changes, vals: list[Any]) -> None:
        """Account-control flags switched on, each scored as SAM_UAC_FLAGS says."""
        for v in vals:
            score = next(f[1] for f in SAM_UAC_FLAGS.values() if f[0] == v)
            c.tally.add(float(score), f"{v} was switched on for '{c.account}'{c.by}")

    def _uac_cleared(self, c: _Changes, vals: list[Any]) -> None:
        """Account-control flags switched off that protected the account."""
        for v in vals:
            score = next(f[2] for f in SAM_UAC_FLAGS.values() if f[0] == v)
            c.tally.add(float(score), f"{v} was switched off for '{c.account}'{c.by}, removing a protection")

    def _dcshadow(self, c: _Changes, vals: list[Any]) -> None:
        """Replication or global catalog SPNs on a computer: a rogue domain controller (T1207)."""
        spns = uniq(m for v in vals for m in str(v).split() if re.search(DCSHADOW_SPN_RE, m))
        c.tally.add(
            float(self.params["dcshadow_score"]),
            f"replication or global catalog SPNs were registered on computer '{c.account}'{c.by}: "
            f"{names(spns, 3, 80)}; DCShadow does this to pass for a domain controller",
            "T1207",
        )

    def _spn_change(self, c: _Changes, vals: list[Any]) -> None:
        """Other SPN changes on a computer, told with the SPNs it has now."""
        c.tally.add(
            float(self.params["spn_change_score"]),
            f"the SPNs of computer '{c.account}' were changed{c.by}: now {names(str(vals[-1]).split(), 6)}",
        )

    def _delegate_to(self, c: _Changes, vals: list[Any]) -> None:
        """Services the account may now delegate to (constrained delegation)."""
        spns = uniq(x for v in vals for x in str(v).split())
        c.tally.add(
            float(self.params["delegation_list_score"]),
            f"'{c.account}' may now delegate to {names(spns, 6)}{c.by} (constrained delegation)",
        )

    def _sid_history(self, c: _Changes, vals: list[Any]) -> None:
        """SID history added: the account gets other accounts' rights (T1134.005)."""
        c.tally.add(
            SID_HISTORY_SCORE, f"SID history {names(vals)} was added to '{c.account}'{c.by}", "T1134.005"
        )

    def _ldap_attribute(self, kind: str, c: _Changes, vals: list[Any]) -> None:
        """A directory attribute that gives powers ('ldap:ATTRIBUTE:CLASS'), scored by object class."""
        _, attr, cls = kind.split(":", 2)
        name, what, on_user, on_computer = LDAP_ATTRIBUTES[attr]
        c.tally.add(
            on_computer if cls == "computer" else on_user,
            f"{name} of {cls or 'object'} '{c.account}' was given {plural(len(vals), 'value')}{c.by}: "
            f"{names(vals, 4, 80)}; {what}",
        )

    def _ldap_delegation_uac(self, c: _Changes, vals: list[Any]) -> None:
        """userAccountControl set in the directory with delegation bits."""
        value = max(int(v) for v in vals if str(v).isdigit()) if vals else 0
        bits = [n for b, n in LDAP_UAC_DELEGATION.items() if value & b]
        c.tally.add(
            float(self.params["delegation_list_score"]) + 0.1,
            f"userAccountControl of '{c.account}' was set to {value} ({', '.join(bits)}){c.by}",
        )

    def _owner(self, c: _Changes, vals: list[Any]) -> None:
        """A directory object's owner changed: the new owner can take it over (T1222.001)."""
        c.tally.add(
            float(self.params["owner_change_score"]),
            f"the owner of '{c.account}' changed ({names(vals)}){c.by}: an owner can rewrite the object's "
            "permissions and take it over",
            "T1222.001",
        )

    def _rename(self, c: _Changes, vals: list[Any]) -> None:
        """Renames that spoof a computer (no trailing $) or pass for an administrator."""
        p, account = self.params, c.account
        for old in (str(v) for v in vals):
            if old.endswith("$") and not account.endswith("$"):
                c.tally.add(
                    float(p["computer_rename_score"]),
                    f"computer account '{old}' was renamed to '{account}'{c.by}, without its trailing $: "
                    "sAMAccountName spoofing (CVE-2021-42278) to get tickets as a DC of that name",
                )
            elif re.search(ADMIN_LIKE_RE, account) and not re.search(ADMIN_LIKE_RE, old):
                c.tally.add(
                    float(p["admin_rename_score"]),
                    f"account '{old}' was renamed to the admin-like name '{account}'{c.by}, which makes it "
                    "pass for an administrator",
                )

    def _reset(self, c: _Changes, vals: list[Any]) -> None:
        """Another account's password reset, scored only over a remote SAMR pipe."""
        # Helpdesks reset passwords all day: a reset counts with a remote SAMR connection.
        c.tally.add(None, f"the password of '{c.account}' was reset{c.by}")
        host = c.row["host"].split(".")[0].lower()
        actors = {a.lower() for a in c.actors}
        near = [
            x
            for x in c.samr
            if x["host"] == host
            and x["actor"] in actors
            and abs((x["ts"] - c.row["first"]).total_seconds()) <= 120
        ]
        if near:
            c.eids.extend(x["eid"] for x in near)
            c.tally.add(float(self.params["reset_score"]), None)
            c.tally.add(
                float(self.params["remote_samr_score"]),
                f"right after {names(c.actors)} opened the SAMR pipe from "
                f"{names(uniq(x['src'] for x in near))}: "
                "a reset over the network, as Mimikatz lsadump::setntlm does",
            )

    def _change_other(self, c: _Changes, vals: list[Any]) -> None:
        """Another account's password changed, which needs its old password or hash."""
        c.tally.add(
            float(self.params["change_other_score"]),
            f"{names(c.actors)} changed the password of another account, '{c.account}': this needs the old "
            "password or its hash (Mimikatz lsadump::changentlm)",
        )

    def _spn_command(self, c: _Changes, vals: list[Any]) -> None:
        """setspn adding an SPN, which makes a user account Kerberoastable."""
        c.tally.add(
            float(self.params["spn_command_score"]),
            f"{names(c.actors)} ran setspn to add the SPN {names(vals)} to '{c.account}': an SPN makes a "
            "user account Kerberoastable",
        )

    def _db_user(self, c: _Changes, vals: list[Any]) -> None:
        """A SQL Server login mapped into a database."""
        c.tally.add(
            float(self.params["db_user_score"]),
            f"SQL Server login '{c.account}' was given a database user{c.by}: {names(vals, 2, 120)}",
        )
