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


# Weak (RC4/DES) service tickets, one row each; ``computer`` when the service is a computer
# account (NAME$), which only a legacy client asks RC4 for: Kerberoasting tools ask it for the
# user accounts that run services, whose passwords are worth cracking.
_ENC = f"lower({ed('TicketEncryptionType')})"
WEAK_TICKETS_SQL = f"""
    SELECT "@timestamp" AS ts, "event.id" AS eid, {short_name('"user.name"')} AS account,
           coalesce("source.ip", "source.address", '') AS src, "host.name" AS host,
           "service.name" AS svc, {_ENC} AS enc, ends_with("service.name", '$') AS computer
    FROM events
    WHERE "event.code" = '4769' AND "event.outcome" = 'success'
      AND list_contains({sql_list(WEAK_ENCRYPTION)}, {_ENC})
      AND "service.name" IS NOT NULL AND lower("service.name") <> 'krbtgt'
      AND "user.name" IS NOT NULL
"""
# One row per account and burst of weak tickets for user services, with what the account did
# before: the services it already got weak tickets for on earlier days (``$lookback``), and
# whether it asked RC4 for a computer account up to the burst's day (a legacy client).
KERBEROAST_BURSTS_SQL = (
    grouped(f"SELECT * FROM ({WEAK_TICKETS_SQL}) WHERE NOT computer", "account")
    + f"""
    , weak AS ({WEAK_TICKETS_SQL})
    , b AS (
        SELECT min(account) AS account, list(DISTINCT src ORDER BY src) AS srcs,
               list(DISTINCT host ORDER BY host) AS hosts, count(*) AS n,
               list(DISTINCT svc ORDER BY svc) AS services, list(DISTINCT enc ORDER BY enc) AS encs,
               min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids
        FROM g GROUP BY gk, grp
    )
    SELECT b.*,
           (SELECT list(DISTINCT w.svc ORDER BY w.svc) FROM weak w
            WHERE w.account = b.account AND NOT w.computer AND CAST(w.ts AS DATE) < CAST(b.first AS DATE)
              AND CAST(w.ts AS DATE) >= CAST(b.first AS DATE) - CAST(? AS INTEGER)) AS known,
           (SELECT list(DISTINCT w.svc ORDER BY w.svc) FROM weak w
            WHERE w.account = b.account AND w.computer AND CAST(w.ts AS DATE) <= CAST(b.last AS DATE)
              AND CAST(w.ts AS DATE) >= CAST(b.first AS DATE) - CAST(? AS INTEGER)) AS legacy
    FROM b ORDER BY first
    """
)


class Kerberoasting(Detector):
    """Service tickets with RC4/DES encryption for user service accounts, new for the client (T1558.003).

    A client that asks RC4 even for computer accounts (``NAME$``) is a legacy client: its weak
    tickets are how it works, and it is reported only when a burst asks for
    ``legacy_min_services`` services it never got weak tickets for on the ``lookback_days``
    before. Any other client is reported for weak tickets for user services new to it (a single
    targeted service counts: roasting one account is enough). Services the account already got
    weak tickets for on earlier days are routine. Score: ``base_score`` for one new service,
    rising by ``services_half``; higher = more suspicious.
    """

    id: ClassVar[str] = "kerberoasting"
    phrase: ClassVar[str] = "Kerberoasting"
    title: ClassVar[str] = "Kerberoasting: crackable service tickets requested"
    tactics: ClassVar[tuple[str, ...]] = ("TA0006",)
    techniques: ClassVar[tuple[str, ...]] = ("T1558.003",)
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 60,  # requests further apart start a new finding
        "base_score": 0.5,  # the score of one weak ticket for one new user service
        "services_half": 3,  # more new services in one burst raise the score by this half-life
        "lookback_days": 28,  # earlier days whose weak tickets make a service routine for the account
        "legacy_min_services": 3,  # new services a legacy (RC4-everywhere) client must ask for at once
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per requesting account and burst with weak tickets for services new to it."""
        p = self.params
        lookback = int(p["lookback_days"])
        base, half = float(p["base_score"]), float(p["services_half"])
        for r in self.rows(con, KERBEROAST_BURSTS_SQL, [p["gap_minutes"], lookback, lookback]):
            services, known, legacy = r["services"], set(r["known"] or []), uniq(r["legacy"])
            new = [x for x in services if x not in known]
            if not new or (legacy and len(new) < int(p["legacy_min_services"])):
                continue
            extra = 1.0 - 0.5 ** ((len(new) - 1) / half) if half > 0 else 0.0
            score = base + (1.0 - base) * extra
            encs = ", ".join(_enc_name(e) for e in sorted(r["encs"]))
            srcs = uniq(r["srcs"])
            src = f" from {names(srcs)}" if srcs else ""
            reasons = [
                f"'{r['account']}'{src} requested {plural(r['n'], 'service ticket')} encrypted with {encs} "
                f"for {plural(len(services), 'user service account')}: {names(services)}"
                + (f" in {duration(r['first'], r['last'])}" if r["n"] > 1 else ""),
                "tickets for user accounts encrypted with RC4/DES can be cracked offline to recover the "
                "service account's password; current Windows clients ask for AES",
            ]
            if known:
                reasons.append(
                    f"{plural(len(new), 'of them is', 'of them are')} new for '{r['account']}': it got weak "
                    f"tickets only for {names(sorted(known))} on the {lookback} days before"
                )
            if legacy:
                reasons.append(
                    f"'{r['account']}' also asks RC4 for computer accounts ({names(legacy)}), as a legacy "
                    f"client does, so only many new services at once count: {len(new)} here"
                )
            if len(new) > 1:
                reasons.append(f"{len(new)} different services from one account raise the score")
            yield Finding(
                score=score,
                entities={
                    "user": r["account"],
                    "source": srcs[0] if srcs else "",
                    "host": names(r["hosts"], 1),
                },
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
                severity=severity_for(score),
                extra={"services": services, "new_services": new},
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
                -- names told apart first: a few thousand to reduce, not a string function per event
                SELECT DISTINCT lower(rtrim(name, '$')) AS name FROM (
                    SELECT DISTINCT "service.name" AS name FROM events
                    WHERE "event.code" IN ('4768', '4769') AND ends_with("service.name", '$')
                    UNION ALL SELECT {short_name("name")} FROM (
                        SELECT DISTINCT "user.name" AS name FROM events WHERE ends_with("user.name", '$'))
                    UNION ALL SELECT split_part(lower(name), '.', 1) FROM (SELECT DISTINCT "host.name" AS name FROM events))
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
