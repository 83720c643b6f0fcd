"""Kerberos ticket attacks seen on domain controllers and hosts (T1558).

Kerberoasting and AS-REP roasting ask the KDC for tickets that can be cracked offline;
forged or spoofed tickets leave names, realms and SIDs that do not fit the domain.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from bluebench.detectors.base import Detector, Finding, duration, plural
from bluebench.detectors.winsql import (
    Tally,
    combine,
    ed,
    grouped,
    names,
    severity_for,
    short_name,
    sql_list,
    uniq,
    with_days,
)
from bluebench.engines import Db

# Ticket encryption types that can be cracked offline quickly (RFC 3961/4757 numbers).
WEAK_ENCRYPTION: dict[str, str] = {
    "0x17": "RC4-HMAC",
    "0x18": "RC4-HMAC-EXP",
    "0x1": "DES-CBC-CRC",
    "0x3": "DES-CBC-MD5",
}
# Names the built-in Administrator (RID 500) carries in the languages Windows ships.
ADMINISTRATOR_NAMES = (
    "administrator",
    "administrateur",
    "administrador",
    "administratör",
    "järjestelmänvalvoja",
)


def _enc_name(code: str | None) -> str:
    """'RC4-HMAC (0x17)'."""
    code = (code or "").lower()
    return f"{WEAK_ENCRYPTION.get(code, 'unknown')} ({code})"


class Kerberoasting(Detector):
    """Service tickets with RC4/DES encryption for user service accounts (T1558.003)."""

    id: ClassVar[str] = "kerberoasting"
    phrase: ClassVar[str] = "Kerberoasting"
    title: ClassVar[str] = "Kerberoasting: crackable service tickets requested"
    tactics: ClassVar[tuple[str, ...]] = ("TA0006",)
    techniques: ClassVar[tuple[str, ...]] = ("T1558.003",)
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 60,  # requests further apart start a new finding
        "base_score": 0.5,  # the score of one weak ticket for one user service account
        "services_half": 3,  # more services requested in one burst raise the score by this half-life
        "routine_days": 3,  # an account, source and service with weak tickets on this many days is routine
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per requesting account and source burst; more services, higher score."""
        p = self.params
        enc = f"lower({ed('TicketEncryptionType')})"
        tickets = f"""
            SELECT "@timestamp" AS ts, "event.id" AS eid, {short_name('"user.name"')} AS account,
                   coalesce("source.ip", "source.address", '') AS src, "host.name" AS host,
                   "service.name" AS svc, {enc} AS enc
            FROM events
            WHERE "event.code" = '4769' AND "event.outcome" = 'success'
              AND list_contains({sql_list(WEAK_ENCRYPTION)}, {enc})
              AND "service.name" IS NOT NULL AND NOT ends_with("service.name", '$')
              AND lower("service.name") <> 'krbtgt'
        """
        sql = (
            grouped(with_days(tickets, "account, src, svc"), "concat_ws('|', account, src)")
            + """
            SELECT min(account) AS account, min(src) AS src, list(DISTINCT host ORDER BY host) AS hosts,
                   count(*) AS n, list(DISTINCT svc ORDER BY svc) AS services, list(DISTINCT enc ORDER BY enc) AS encs,
                   min(days) AS days, min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids
            FROM g GROUP BY gk, grp ORDER BY first
            """
        )
        base, half = float(p["base_score"]), float(p["services_half"])
        for r in self.rows(con, sql, [p["gap_minutes"]]):
            if r["days"] >= int(p["routine_days"]):
                continue  # every service in the burst gets weak tickets from this client on many days
            services = r["services"]
            extra = 1.0 - 0.5 ** ((len(services) - 1) / half) if half > 0 else 0.0
            score = base + (1.0 - base) * extra
            encs = ", ".join(_enc_name(e) for e in sorted(r["encs"]))
            src = f" from {r['src']}" if r["src"] else ""
            reasons = [
                f"'{r['account']}'{src} requested {plural(r['n'], 'service ticket')} encrypted with {encs} "
                f"for {plural(len(services), 'user service account')}: {names(services)}"
                + (f" in {duration(r['first'], r['last'])}" if r["n"] > 1 else ""),
                "tickets for user accounts encrypted with RC4/DES can be cracked offline to recover the "
                "service account's password; current Windows clients ask for AES",
            ]
            if len(services) > 1:
                reasons.append(f"{len(services)} different services from one account raise the score")
            yield Finding(
                score=score,
                entities={"user": r["account"], "source": r["src"] or "", "host": names(r["hosts"], 1)},
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
                severity=severity_for(score),
                extra={"services": services},
            )


class AsRepRoasting(Detector):
    """TGTs issued without Kerberos pre-authentication (T1558.004)."""

    id: ClassVar[str] = "asrep_roasting"
    phrase: ClassVar[str] = "AS-REP roasting"
    title: ClassVar[str] = "AS-REP roasting: TGT issued without pre-authentication"
    tactics: ClassVar[tuple[str, ...]] = ("TA0006",)
    techniques: ClassVar[tuple[str, ...]] = ("T1558.004",)
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 60,
        "base_score": 0.45,  # one account's TGT without pre-authentication
        "weak_score": 0.5,  # ... whose reply is RC4/DES encrypted, the format cracking tools target
        "accounts_half": 3,
        "routine_days": 3,  # an account and source without pre-authentication on this many days is routine
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per source burst of 4768 successes with PreAuthType 0."""
        p = self.params
        enc = f"lower({ed('TicketEncryptionType')})"
        tgts = f"""
            SELECT "@timestamp" AS ts, "event.id" AS eid, {short_name('"user.name"')} AS account,
                   coalesce("source.ip", "source.address", '') AS src, "host.name" AS host, {enc} AS enc
            FROM events
            WHERE "event.code" = '4768' AND "event.outcome" = 'success' AND {ed("PreAuthType")} = '0'
        """
        sql = (
            grouped(with_days(tgts, "account, src"), "coalesce(nullif(src, ''), host)")
            + """
            SELECT min(nullif(src, '')) AS src, list(DISTINCT host ORDER BY host) AS hosts, count(*) AS n,
                   list(DISTINCT account ORDER BY account) AS accounts, list(DISTINCT enc ORDER BY enc) AS encs,
                   min(days) AS days, min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids
            FROM g GROUP BY gk, grp ORDER BY first
            """
        )
        base, half = float(p["base_score"]), float(p["accounts_half"])
        for r in self.rows(con, sql, [p["gap_minutes"]]):
            accounts = r["accounts"]
            weak = [e for e in r["encs"] if e in WEAK_ENCRYPTION]
            if not weak and len(accounts) == 1 and r["days"] >= int(p["routine_days"]):
                continue  # a client of an account without pre-authentication, seen on many days
            extra = 1.0 - 0.5 ** ((len(accounts) - 1) / half) if half > 0 else 0.0
            score = combine([base, float(p["weak_score"]) if weak else 0.0, extra])
            src = f" to {r['src']}" if r["src"] else ""
            reasons = [
                f"{plural(r['n'], 'TGT')} issued without pre-authentication (PreAuthType 0){src} for "
                f"{plural(len(accounts), 'account')}: {names(accounts)}",
                "without pre-authentication anyone can ask for the reply, whose encrypted part can be "
                "cracked offline for the account's password (AS-REP roasting)",
            ]
            if weak:
                reasons.append(f"the reply was encrypted with {', '.join(_enc_name(e) for e in weak)}")
            yield Finding(
                score=score,
                entities={
                    "user": accounts[0] if len(accounts) == 1 else "",
                    "source": r["src"] or "",
                    "host": names(r["hosts"], 1),
                },
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
                severity=severity_for(score),
            )


_ACCOUNT = short_name('"user.name"')
# The client realm: from user@REALM, else the logged domain.
_REALM = f"""coalesce(nullif(regexp_extract("user.name", '@(.+)$', 1), ''), {ed("TargetDomainName")})"""
_ADMINISTRATOR_NAMES = sql_list(ADMINISTRATOR_NAMES)
# Signs of forged or spoofed tickets, one row each: tickets for a computer's name without its $
# ('machine-name'), service tickets with a realm not in upper case ('lowercase-realm', with the
# DC's TGT count when none was for that account) and Kerberos logons with the RID 500 SID under
# another name ('rid500', with the names other events give that SID).
FORGED_TICKET_SIGNALS_SQL = f"""
            WITH computers AS (
                SELECT DISTINCT lower(rtrim(name, '$')) AS name FROM (
                    SELECT "service.name" AS name FROM events
                    WHERE "event.code" IN ('4768', '4769') AND ends_with("service.name", '$')
                    UNION ALL SELECT {short_name('"user.name"')} FROM events WHERE ends_with("user.name", '$')
                    UNION ALL SELECT split_part(lower("host.name"), '.', 1) FROM events)
                WHERE name IS NOT NULL AND name <> ''
            ), tgt_hosts AS (
                SELECT "host.name" AS host, count(*) AS tgts FROM events WHERE "event.code" = '4768' GROUP BY 1
            ), tgt_accounts AS (
                SELECT DISTINCT "host.name" AS host, {_ACCOUNT} AS account FROM events WHERE "event.code" = '4768'
            ), sid_names AS (
                SELECT "user.id" AS sid, list(DISTINCT {_ACCOUNT} ORDER BY {_ACCOUNT}) AS seen
                FROM events WHERE "user.id" LIKE 'S-1-5-21-%' AND "user.name" IS NOT NULL
                  AND "event.code" NOT IN ('4781') GROUP BY 1
            ), renamed AS (
                SELECT DISTINCT {ed("TargetSid")} AS sid FROM events WHERE "event.code" = '4781'
            ), k AS (
                SELECT "@timestamp" AS ts, "event.id" AS eid, "event.code" AS code, {_ACCOUNT} AS account,
                       "user.name" AS raw_user, {_REALM} AS realm, "host.name" AS host, "user.id" AS sid,
                       coalesce("source.ip", "source.address") AS src, "service.name" AS svc,
                       "winlog.logon.type" AS logon_type, {ed("AuthenticationPackageName")} AS package
                FROM events
                WHERE ("event.code" IN ('4768', '4769') AND "event.outcome" = 'success')
                   OR ("event.code" = '4624' AND "user.id" LIKE 'S-1-5-21-%-500')
            )
            SELECT ts, eid, account, host, src, 'machine-name' AS kind, code || ' ' || raw_user AS detail,
                   NULL AS extra
            FROM k WHERE code IN ('4768', '4769') AND NOT ends_with(account, '$')
              AND account IN (SELECT name FROM computers)
            UNION ALL
            SELECT ts, eid, account, host, src, 'lowercase-realm', realm,
                   CASE WHEN (SELECT tgts FROM tgt_hosts t WHERE t.host = k.host) > 0
                         AND NOT EXISTS (SELECT 1 FROM tgt_accounts a WHERE a.host = k.host AND a.account = k.account)
                        THEN (SELECT tgts FROM tgt_hosts t WHERE t.host = k.host)::VARCHAR END
            FROM k WHERE code = '4769' AND realm IS NOT NULL AND realm <> upper(realm)
              AND NOT ends_with(account, '$')
            UNION ALL
            SELECT ts, eid, account, host, src, 'rid500', sid,
                   (SELECT array_to_string(list_filter(seen, lambda x: x <> k.account), ', ')
                    FROM sid_names n WHERE n.sid = k.sid)
            FROM k WHERE code = '4624' AND logon_type = 3 AND package = 'Kerberos'
              AND NOT list_contains({_ADMINISTRATOR_NAMES}, account)
              AND sid NOT IN (SELECT sid FROM renamed WHERE sid IS NOT NULL)
        """
# One row per account, host and burst with the signs found and what each names (gap in minutes bound first).
FORGED_TICKETS_SQL = (
    grouped(FORGED_TICKET_SIGNALS_SQL, "concat_ws('|', account, host)")
    + """
            SELECT min(account) AS account, min(host) AS host, list(DISTINCT src ORDER BY src) AS sources,
                   list(DISTINCT kind ORDER BY kind) AS kinds, list(DISTINCT detail ORDER BY detail) AS details,
                   list(DISTINCT extra ORDER BY extra) FILTER (WHERE extra IS NOT NULL AND extra <> '') AS extras,
                   count(*) AS n, min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids,
                   list(DISTINCT detail ORDER BY detail) FILTER (WHERE kind = 'lowercase-realm') AS realms,
                   list(DISTINCT extra ORDER BY extra) FILTER (WHERE kind = 'lowercase-realm' AND extra IS NOT NULL) AS tgts,
                   list(DISTINCT detail ORDER BY detail) FILTER (WHERE kind = 'rid500') AS sids,
                   list(DISTINCT extra ORDER BY extra) FILTER (WHERE kind = 'rid500' AND extra <> '') AS other_names,
                   list(DISTINCT detail ORDER BY detail) FILTER (WHERE kind = 'machine-name') AS machine_events
            FROM g GROUP BY gk, grp ORDER BY first
            """
)


class ForgedTicket(Detector):
    """Kerberos tickets whose names, realm or SID do not fit the domain (T1558.001, CVE-2021-42287)."""

    id: ClassVar[str] = "kerberos_ticket_anomaly"
    phrase: ClassVar[str] = "a forged Kerberos ticket"
    title: ClassVar[str] = "Forged or spoofed Kerberos ticket"
    tactics: ClassVar[tuple[str, ...]] = ("TA0006",)
    techniques: ClassVar[tuple[str, ...]] = ("T1558.001",)
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 60,
        "machine_name_score": 0.85,  # a ticket for a computer's name without its trailing $
        "lowercase_realm_score": 0.6,  # a service ticket whose client realm is not upper case
        "no_tgt_score": 0.4,  # ... and the DC logged TGTs, but none for that account
        "rid500_score": 0.55,  # a network logon with RID 500 under another name
        "sid_mismatch_score": 0.8,  # ... and the same SID is logged elsewhere under another name
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per account, host and burst, with every sign that fits it."""
        for r in self.rows(con, FORGED_TICKETS_SQL, [self.params["gap_minutes"]]):
            yield self._finding(r)

    def _finding(self, r: dict[str, Any]) -> Finding:
        """Scores and reasons for one burst, sign by sign."""
        kinds = set(r["kinds"])
        t = Tally()
        if "machine-name" in kinds:
            t.add(
                float(self.params["machine_name_score"]),
                f"Kerberos tickets issued for '{r['account']}', the name of a computer account without "
                f"its trailing $ ({names(r['machine_events'])}): a renamed account impersonating the "
                "computer to get a ticket as it (sAMAccountName spoofing, CVE-2021-42287/noPac)",
                "T1558",
            )
        if "lowercase-realm" in kinds:
            self._lowercase_realm(t, r)
        if "rid500" in kinds:
            self._rid500(t, r)
        src = uniq(r["sources"])
        entities = {"user": r["account"], "host": r["host"], "source": src[0] if src else ""}
        return t.finding(r, entities, r["eids"])

    def _lowercase_realm(self, t: Tally, r: dict[str, Any]) -> None:
        """A realm as the attacker typed it, worse when this DC issued no TGT for the account."""
        t.add(
            float(self.params["lowercase_realm_score"]),
            f"service tickets for '{r['account']}' carry the realm '{names(r['realms'])}' in lower "
            "case; Windows writes the realm of tickets it issued in upper case, forged tickets "
            "(Mimikatz golden/silver) carry it as the attacker typed it",
            "T1558.001",
        )
        if r["tgts"]:
            t.add(
                float(self.params["no_tgt_score"]),
                f"{r['host']} logged {r['tgts'][0]} TGT requests (4768) but none for "
                f"'{r['account']}': its TGT did not come from this DC",
            )

    def _rid500(self, t: Tally, r: dict[str, Any]) -> None:
        """The built-in Administrator's SID under another name: proven when other events name it otherwise."""
        other = uniq(r["other_names"] or [])
        said = (
            f"Kerberos network logon as '{r['account']}' with the SID {names(r['sids'])} of the "
            "built-in Administrator (RID 500)"
        )
        if other:
            t.add(
                float(self.params["sid_mismatch_score"]),
                f"{said}, which other events name {names(other)}: the name in the ticket does not match "
                "the account (golden ticket)",
                "T1558.001",
            )
        else:
            t.add(
                float(self.params["rid500_score"]),
                f"{said}; Mimikatz puts RID 500 into golden tickets by default, so check that this name "
                "really is the renamed Administrator",
                "T1558.001",
            )
