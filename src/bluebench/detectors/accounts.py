"""Account persistence: new accounts, group membership and account changes.

New accounts (T1136), privileged group membership and account settings that weaken
authentication (T1098), from Windows Security and System events, SQL Server audit, syslog
and command lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar

from bluebench.detectors.base import Detector, Finding, duration, plural
from bluebench.detectors.winsql import (
    PROCESS_EVENTS,
    combine,
    ed,
    grouped,
    names,
    severity_for,
    sql_list,
    uniq,
)
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
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host, account and burst of creation, enabling and deletion signals."""
        p = self.params
        cmd = '"process.command_line"'
        target = '"user.target.name"'
        signals = f"""
            SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, "user.name" AS actor,
                   {target} AS account, "event.code" AS code,
                   CASE WHEN "event.code" = '4741' THEN 'computer-created'
                        WHEN "event.action" = 'user-created' THEN 'created'
                        WHEN "event.action" = 'user-enabled' THEN 'enabled'
                        WHEN "event.action" IN ('user-deleted', 'computer-deleted') THEN 'deleted'
                        ELSE 'password-set' END AS kind,
                   {ed("TargetSid")} AS sid, {ed("TargetDomainName")} AS domain,
                   coalesce({ed("PrivilegeList")}, '') AS privileges, {cmd} AS statement, "event.dataset" AS dataset
            FROM events
            WHERE {target} IS NOT NULL AND (
                "event.action" IN ('user-created', 'user-enabled', 'user-deleted', 'computer-deleted')
                OR "event.code" = '4741'
                OR ("event.code" IN ('4738', '4742') AND {ed("PasswordLastSet")} IS NOT NULL
                    AND NOT starts_with({ed("PasswordLastSet")}, '%%')))
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name",
                   coalesce(nullif(trim(regexp_extract({cmd}, '{NET_USER_ADD_RE}', 2), '"'), ''),
                            nullif(trim(regexp_extract({cmd}, '{USERADD_RE}', 4)), '')),
                   "event.code", 'command-created', NULL,
                   CASE WHEN regexp_matches({cmd}, '(?i)/domain\\b') THEN 'domain' END, '', {cmd}, "event.dataset"
            FROM events
            WHERE {PROCESS_EVENTS}
              AND (regexp_matches({cmd}, '{NET_USER_ADD_RE}') OR regexp_matches({cmd}, '{USERADD_RE}'))
        """
        key = "concat_ws('|', split_part(lower(host), '.', 1), " + _account_key("account") + ")"
        sql = (
            grouped(signals, key)
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
        admin_like = re.compile(ADMIN_LIKE_RE)
        for r in self.rows(con, sql, [p["gap_minutes"]]):
            kinds = set(r["kinds"])
            account = r["account"] or r["any_account"]
            actors = [a for a in uniq(r["actors"]) if a.lower() != str(account).lower()]
            by = f" by {names(actors)}" if actors else ""
            scores: list[float] = []
            reasons: list[str] = []
            techniques: list[str] = []
            quick = (
                r["born"] is not None
                and r["deleted"] is not None
                and 0 <= (r["deleted"] - r["born"]).total_seconds() <= 60 * float(p["quick_delete_minutes"])
            )
            local = r["domain"] is not None and r["domain"].lower() == r["host"].split(".")[0].lower()
            if kinds & {"created", "command-created"}:
                scores.append(float(p["created_score"]))
                via = []
                if "created" in kinds:
                    via.append("logged as created")
                if "command-created" in kinds:
                    via.append("created on the command line (net user /add or useradd)")
                where = "SQL Server login" if r["sql_statements"] else "account"
                reasons.append(f"new {where} '{account}' on {r['host']}{by} ({'; '.join(via)})")
                if r["sql_statements"]:
                    techniques.append("T1136")
                elif "authlog" in r["datasets"] or local or r["domain"] is None:
                    techniques.append("T1136.001")
                else:
                    techniques.append("T1136.002")
                if str(account).endswith("$") and "computer-created" not in kinds:
                    scores.append(float(p["dollar_name_score"]))
                    reasons.append(
                        f"'{account}' is a user account whose name ends with $: it passes for a computer "
                        "account and is hidden from 'net user'"
                    )
                if admin_like.search(str(account)):
                    scores.append(float(p["admin_name_score"]))
                    reasons.append(f"the name '{account}' passes for an administrator or service account")
                if r["weak_policy"]:
                    scores.append(float(p["weak_policy_score"]))
                    reasons.append("the login was created with CHECK_POLICY=OFF: no password policy applies")
            if "computer-created" in kinds:
                scores.append(float(p["computer_score"]))
                techniques.append("T1136.002")
                reasons.append(f"new computer account '{account}' on {r['host']}{by}")
                if r["machine_quota"] and not r["by_machine"]:
                    scores.append(float(p["machine_quota_score"]))
                    reasons.append(
                        "created through SeMachineAccountPrivilege by a user (MachineAccountQuota): the first step "
                        "of noPac (CVE-2021-42278/42287) and resource-based delegation attacks"
                    )
            builtin = "enabled" in kinds and (
                str(r["sid"] or "").endswith(("-501", "-503")) or str(account).lower() in ("guest", "sa")
            )
            if builtin:
                scores.append(float(p["builtin_enabled_score"]))
                techniques.append("T1078.001")
                reasons.append(
                    f"the built-in account '{account}' was switched on on {r['host']}{by}: default accounts "
                    "are disabled because their names are known to everyone"
                )
            if quick:
                gap = duration(r["born"], r["deleted"])
                if not scores:
                    scores.append(float(p["created_score"]))
                    techniques.append("T1136")
                    reasons.append(
                        f"account '{account}' on {r['host']} got its first password{by} and was deleted soon after"
                    )
                scores.append(float(p["quick_delete_score"]))
                reasons.append(
                    f"'{account}' was deleted {gap} after it was "
                    + (
                        "created"
                        if kinds & {"created", "computer-created", "command-created"}
                        else "given a password"
                    )
                    + ": used once, then removed to hide it"
                )
            if not scores:
                continue
            score = combine(scores)
            yield Finding(
                score=score,
                entities={"host": r["host"], "target": str(account), "user": actors[0] if actors else ""},
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
                severity=severity_for(score),
                techniques=uniq(techniques),
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
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host, actor, member and burst of group additions."""
        p = self.params
        cmd = '"process.command_line"'
        net_group = (
            r'(?i)\bnet1?(\.exe)?"?\s+(local)?group\s+("[^"]+"|[^\s/]+)\s+("[^"]+"|[^\s/]+)[^|&]*/add\b'
        )
        signals = f"""
            SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, "user.name" AS actor,
                   "user.id" AS actor_sid, "group.name" AS grp_name, "user.target.name" AS member,
                   {ed("MemberSid")} AS member_sid,
                   CASE WHEN "event.action" = 'group-member-added' THEN 'added' ELSE 'removed' END AS kind
            FROM events
            WHERE "event.action" IN ('group-member-added', 'group-member-removed') AND "group.name" IS NOT NULL
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", "user.id",
                   trim(regexp_extract({cmd}, '{net_group}', 3), '"'),
                   trim(regexp_extract({cmd}, '{net_group}', 4), '"'), NULL, 'command-added'
            FROM events WHERE {PROCESS_EVENTS} AND regexp_matches({cmd}, '{net_group}')
        """
        member_key = _account_key("coalesce(member, member_sid)")
        sql = (
            grouped(signals, f"concat_ws('|', split_part(lower(host), '.', 1), lower(actor), {member_key})")
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
        half = float(p["groups_half"])
        for r in self.rows(con, sql, [p["gap_minutes"]]):
            added = uniq(r["added"] or [])
            removed = set(r["removed"] or [])
            real = [x for x in added if x.lower() not in DEFAULT_GROUPS]
            member, actor = str(r["member"] or "?"), str(r["actor"] or "?")
            if r["member_name"] and member == r["member_sid"]:
                member = f"{r['member_name']} ({member})"
            self_add = (
                r["actor_sid"] and r["actor_sid"] == r["member_sid"]
            ) or member.lower() == actor.lower()
            if not real and not (self_add and added):
                continue
            tier0 = [x for x in real if x.lower() in TIER0_GROUPS]
            sensitive = [x for x in real if x.lower() in SENSITIVE_GROUPS]
            quick = [x for x in real if x in removed]
            if not (tier0 or sensitive or self_add or quick or len(real) >= int(p["min_other_groups"])):
                continue  # one ordinary group (a new hire put into 'VPN Users'): not reported
            scores: list[float] = []
            if tier0:
                scores.append(float(p["tier0_score"]))
            elif sensitive:
                scores.append(float(p["sensitive_score"]))
            else:
                scores.append(float(p["other_score"]))
            reasons = [
                f"'{actor}' added '{member}' to {plural(len(real or added), 'group')} on {r['host']}: "
                f"{names(real or added, 6)}"
                + (f" in {duration(r['first'], r['last'])}" if r["n"] > 1 else "")
            ]
            if tier0:
                reasons.append(f"members of {names(tier0)} control the domain, its controllers or the server")
            elif sensitive:
                reasons.append(f"members of {names(sensitive)} get remote access or administrative roles")
            if len(real) > 1:
                scores.append(1.0 - 0.5 ** ((len(real) - 1) / half) if half > 0 else 0.0)
                reasons.append(f"{len(real)} groups at once for one account raise the score")
            if self_add:
                scores.append(float(p["self_add_score"]))
                reasons.append(f"'{actor}' added itself: an account granting its own rights")
            if quick:
                scores.append(float(p["quick_remove_score"]))
                reasons.append(
                    f"and removed it again from {names(quick)} within the burst, which hides the change"
                )
            score = combine(scores)
            yield Finding(
                score=score,
                entities={
                    "user": actor,
                    "target": member,
                    "host": r["host"],
                    "group": (tier0 or real or added)[0],
                },
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
                severity=severity_for(score),
            )


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
        "anonymous_password_score": 0.7,  # a computer password set by ANONYMOUS LOGON (Zerologon)
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
        p = self.params
        cmd = '"process.command_line"'
        old, new = f"try_cast({ed('OldUacValue')} AS BIGINT)", f"try_cast({ed('NewUacValue')} AS BIGINT)"
        flags = ", ".join(
            f"({bit}, '{label.replace(chr(39), chr(39) * 2)}', {on}, {off})"
            for bit, (label, on, off) in SAM_UAC_FLAGS.items()
        )
        attrs = sql_list(LDAP_ATTRIBUTES)
        obj = ed("ObjectDN")
        spns = ed("ServicePrincipalNames")
        delegate = ed("AllowedToDelegateTo")
        signals = f"""
            WITH uac AS (
                SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, "user.name" AS actor,
                       "user.target.name" AS account, "event.code" AS code, {old} AS old, {new} AS new
                FROM events WHERE "event.code" IN ('4738', '4742') AND {new} IS NOT NULL AND {old} IS NOT NULL
            ), flags(bit, label, on_score, off_score) AS (VALUES {flags})
            SELECT ts, eid, host, actor, account, 'uac-set' AS kind, label AS detail, on_score::DOUBLE AS weight
            FROM uac JOIN flags ON (new & bit) <> 0 AND (old & bit) = 0 AND on_score > 0
            UNION ALL
            SELECT ts, eid, host, actor, account, 'uac-cleared', label, off_score::DOUBLE
            FROM uac JOIN flags ON (old & bit) <> 0 AND (new & bit) = 0 AND off_score > 0
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", "user.target.name",
                   CASE WHEN regexp_matches({spns}, '{DCSHADOW_SPN_RE}') THEN 'dcshadow' ELSE 'spn-change' END,
                   regexp_replace(trim({spns}), '\\s+', ' ', 'g'),
                   CASE WHEN regexp_matches({spns}, '{DCSHADOW_SPN_RE}') THEN {float(p["dcshadow_score"])}
                        ELSE {float(p["spn_change_score"])} END
            FROM events WHERE "event.code" = '4742' AND {spns} IS NOT NULL AND NOT starts_with({spns}, '%%')
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", "user.target.name", 'delegate-to',
                   regexp_replace(trim({delegate}), '\\s+', ' ', 'g'), {float(p["delegation_list_score"])}
            FROM events WHERE "event.code" IN ('4738', '4742') AND {delegate} IS NOT NULL AND NOT starts_with({delegate}, '%%')
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", "user.target.name", 'sid-history',
                   {ed("SidHistory")}, 0.9
            FROM events WHERE "event.code" = '4738' AND {ed("SidHistory")} IS NOT NULL
              AND NOT starts_with({ed("SidHistory")}, '%%')
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", "user.target.name", 'anonymous-password',
                   {ed("PasswordLastSet")}, {float(p["anonymous_password_score"])}
            FROM events WHERE "event.code" = '4742' AND "user.name" = 'ANONYMOUS LOGON'
              AND {ed("PasswordLastSet")} IS NOT NULL
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", {_cn(obj)},
                   'ldap:' || lower({ed("AttributeLDAPDisplayName")}) || ':' || lower(coalesce({ed("ObjectClass")}, '')),
                   {ed("AttributeValue")}, NULL
            FROM events WHERE "event.code" = '5136' AND {ed("OperationType")} = '%%14674'
              AND list_contains({attrs}, lower({ed("AttributeLDAPDisplayName")}))
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", {_cn(obj)}, 'ldap-delegation-uac',
                   {ed("AttributeValue")}, NULL
            FROM events WHERE "event.code" = '5136' AND {ed("OperationType")} = '%%14674'
              AND lower({ed("AttributeLDAPDisplayName")}) = 'useraccountcontrol'
              AND (try_cast({ed("AttributeValue")} AS BIGINT) & {sum(LDAP_UAC_DELEGATION)}) <> 0
            UNION ALL
            SELECT min(ts), min(eid), min(host), min(actor), min(account), 'owner',
                   min(owner) FILTER (WHERE op = '%%14675') || ' -> ' || min(owner) FILTER (WHERE op = '%%14674'),
                   NULL
            FROM (
                SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host, "user.name" AS actor,
                       {_cn(obj)} AS account, {ed("OpCorrelationID")} AS op_id, {ed("OperationType")} AS op,
                       regexp_extract({ed("AttributeValue")}, '^O:(.*?)G:', 1) AS owner
                FROM events WHERE "event.code" = '5136' AND lower({ed("AttributeLDAPDisplayName")}) = 'ntsecuritydescriptor'
            ) GROUP BY op_id
            HAVING count(DISTINCT owner) > 1 AND bool_or(op = '%%14675') AND bool_or(op = '%%14674')
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", {ed("NewTargetUserName")}, 'rename',
                   {ed("OldTargetUserName")}, NULL
            FROM events WHERE "event.code" = '4781'
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", "user.target.name",
                   CASE WHEN "event.code" = '4724' THEN 'reset' ELSE 'change-other' END, NULL, NULL
            FROM events WHERE "event.code" IN ('4724', '4723') AND "user.target.name" IS NOT NULL
              AND lower("user.name") <> lower("user.target.name") AND NOT ends_with("user.name", '$')

            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name",
                   trim(regexp_extract({cmd}, '(?i)setspn(\\.exe)?"?\\s+[-/][as]\\s+\\S+\\s+("[^"]+"|\\S+)', 2), '"'),
                   'spn-command', regexp_extract({cmd}, '(?i)setspn(\\.exe)?"?\\s+[-/][as]\\s+(\\S+)', 2),
                   {float(p["spn_command_score"])}
            FROM events WHERE {PROCESS_EVENTS} AND regexp_matches({cmd}, '(?i)setspn(\\.exe)?"?\\s+[-/][as]\\s')
            UNION ALL
            SELECT "@timestamp", "event.id", "host.name", "user.name", "user.target.name", 'db-user',
                   "process.command_line", {float(p["db_user_score"])}
            FROM events WHERE "event.action" = 'database-user-created'
        """
        key = f"concat_ws('|', split_part(lower(host), '.', 1), {_account_key('account')})"
        sql = (
            grouped(signals, key)
            + """
            SELECT min(host) AS host, list(DISTINCT actor ORDER BY actor) AS actors,
                   coalesce(min(account) FILTER (WHERE NOT starts_with(kind, 'ldap') AND kind <> 'owner'),
                            min(account)) AS account,
                   list(struct_pack(kind := kind, detail := detail, weight := weight, actor := actor) ORDER BY ts, eid)
                       AS items,
                   count(*) AS n, min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids
            FROM g GROUP BY gk, grp ORDER BY first
            """
        )
        samr = self._samr_sessions(con)
        for r in self.rows(con, sql, [p["gap_minutes"]]):
            finding = self._finding(r, samr, p)
            if finding is not None:
                yield finding

    def _samr_sessions(self, con: Db) -> list[dict[str, Any]]:
        """Remote SAMR pipe opens (few rows), to join with password resets by the same account."""
        return self.rows(
            con,
            f"""SELECT split_part(lower("host.name"), '.', 1) AS host, lower("user.name") AS actor,
                       "@timestamp" AS ts, "event.id" AS eid, "source.ip" AS src
                FROM events WHERE "event.code" = '5145' AND lower({ed("RelativeTargetName")}) = 'samr'
                  AND "source.ip" IS NOT NULL AND "source.ip" NOT IN ('127.0.0.1', '::1')""",
        )

    def _finding(self, r: dict[str, Any], samr: list[dict[str, Any]], p: dict[str, Any]) -> Finding | None:
        """Scores and reasons for one account's changes; the same kind of change is told once."""
        account = str(r["account"] or "?")
        actors = uniq(r["actors"])
        by = f" by {names(actors)}" if actors else ""
        scores: list[float] = []
        reasons: list[str] = []
        techniques: list[str] = ["T1098"]
        eids = list(r["eids"])
        details: dict[str, list[Any]] = {}
        weights: dict[str, float] = {}
        for item in r["items"]:
            kind = item["kind"]
            if kind == "ldap:serviceprincipalname:computer" and re.search(
                DCSHADOW_SPN_RE, str(item["detail"] or "")
            ):
                kind = "dcshadow"
            details.setdefault(kind, [])
            if item["detail"] not in details[kind]:
                details[kind].append(item["detail"])
            weights[kind] = max(weights.get(kind, 0.0), float(item["weight"] or 0.0))
        for kind, values in details.items():
            vals = [v for v in values if v not in (None, "")]
            weight = weights[kind]
            if kind == "uac-set":
                for v in vals:
                    scores.append(float(next(f[1] for f in SAM_UAC_FLAGS.values() if f[0] == v)))
                    reasons.append(f"{v} was switched on for '{account}'{by}")
            elif kind == "uac-cleared":
                for v in vals:
                    scores.append(float(next(f[2] for f in SAM_UAC_FLAGS.values() if f[0] == v)))
                    reasons.append(f"{v} was switched off for '{account}'{by}, removing a protection")
            elif kind == "dcshadow":
                scores.append(float(p["dcshadow_score"]))
                techniques.append("T1207")
                spns = uniq(m for v in vals for m in str(v).split() if re.search(DCSHADOW_SPN_RE, m))
                reasons.append(
                    f"replication or global catalog SPNs were registered on computer '{account}'{by}: "
                    f"{names(spns, 3, 80)}; DCShadow does this to pass for a domain controller"
                )
            elif kind == "spn-change":
                scores.append(weight)
                reasons.append(
                    f"the SPNs of computer '{account}' were changed{by}: now {names(str(vals[-1]).split(), 6)}"
                )
            elif kind == "delegate-to":
                scores.append(weight)
                spns = uniq(x for v in vals for x in str(v).split())
                reasons.append(
                    f"'{account}' may now delegate to {names(spns, 6)}{by} (constrained delegation)"
                )
            elif kind == "sid-history":
                scores.append(weight)
                techniques.append("T1134.005")
                reasons.append(f"SID history {names(vals)} was added to '{account}'{by}")
            elif kind == "anonymous-password":
                scores.append(weight)
                techniques.append("T1210")
                reasons.append(
                    f"the password of computer account '{account}' was set by ANONYMOUS LOGON: the pattern "
                    "of the Zerologon exploit (CVE-2020-1472)"
                )
            elif kind.startswith("ldap:"):
                _, attr, cls = kind.split(":", 2)
                name, what, on_user, on_computer = LDAP_ATTRIBUTES[attr]
                scores.append(on_computer if cls == "computer" else on_user)
                reasons.append(
                    f"{name} of {cls or 'object'} '{account}' was given {plural(len(vals), 'value')}{by}: "
                    f"{names(vals, 4, 80)}; {what}"
                )
            elif kind == "ldap-delegation-uac":
                value = max(int(v) for v in vals if str(v).isdigit()) if vals else 0
                bits = [n for b, n in LDAP_UAC_DELEGATION.items() if value & b]
                scores.append(float(p["delegation_list_score"]) + 0.1)
                reasons.append(
                    f"userAccountControl of '{account}' was set to {value} ({', '.join(bits)}){by}"
                )
            elif kind == "owner":
                scores.append(float(p["owner_change_score"]))
                techniques.append("T1222.001")
                reasons.append(
                    f"the owner of '{account}' changed ({names(vals)}){by}: an owner can rewrite the object's "
                    "permissions and take it over"
                )
            elif kind == "rename":
                for old in (str(v) for v in vals):
                    if old.endswith("$") and not account.endswith("$"):
                        scores.append(float(p["computer_rename_score"]))
                        reasons.append(
                            f"computer account '{old}' was renamed to '{account}'{by}, without its trailing $: "
                            "sAMAccountName spoofing (CVE-2021-42278) to get tickets as a DC of that name"
                        )
                    elif re.search(ADMIN_LIKE_RE, account) and not re.search(ADMIN_LIKE_RE, old):
                        scores.append(float(p["admin_rename_score"]))
                        reasons.append(
                            f"account '{old}' was renamed to the admin-like name '{account}'{by}, which makes it "
                            "pass for an administrator"
                        )
            elif kind == "reset":
                # Helpdesks reset passwords all day: a reset counts with a remote SAMR connection.
                reasons.append(f"the password of '{account}' was reset{by}")
                host = r["host"].split(".")[0].lower()
                near = [
                    x
                    for x in samr
                    if x["host"] == host
                    and x["actor"] in {a.lower() for a in actors}
                    and abs((x["ts"] - r["first"]).total_seconds()) <= 120
                ]
                if near:
                    scores.extend([float(p["reset_score"]), float(p["remote_samr_score"])])
                    eids.extend(x["eid"] for x in near)
                    reasons.append(
                        f"right after {names(actors)} opened the SAMR pipe from {names(uniq(x['src'] for x in near))}: "
                        "a reset over the network, as Mimikatz lsadump::setntlm does"
                    )
            elif kind == "change-other":
                scores.append(float(p["change_other_score"]))
                reasons.append(
                    f"{names(actors)} changed the password of another account, '{account}': this needs the old "
                    "password or its hash (Mimikatz lsadump::changentlm)"
                )
            elif kind == "spn-command":
                scores.append(weight)
                reasons.append(
                    f"{names(actors)} ran setspn to add the SPN {names(vals)} to '{account}': an SPN makes a "
                    "user account Kerberoastable"
                )
            elif kind == "db-user":
                scores.append(weight)
                reasons.append(
                    f"SQL Server login '{account}' was given a database user{by}: {names(vals, 2, 120)}"
                )
        if not scores:
            return None
        score = combine(scores)
        return Finding(
            score=score,
            entities={"target": account, "host": r["host"], "user": actors[0] if actors else ""},
            first_seen=r["first"],
            last_seen=r["last"],
            event_ids=uniq(eids),
            reasons=reasons,
            severity=severity_for(score),
            techniques=uniq(techniques),
        )
