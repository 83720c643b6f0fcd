"""Credential attacks seen in authentication events: guessing, spraying, stuffing, enumeration.

All queries sessionize events into gap-based bursts: events of one key (an account or a
source) belong to the same burst while each follows the previous within ``gap_minutes``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from bluebench.detectors.base import Detector, Finding, duration, plural, saturating, top_list
from bluebench.detectors.winsql import grouped
from bluebench.engines import Db, as_engine

# Failures that mean "no such account": sshd invalid user, Windows 4625 sub-status
# 0xC0000064, Kerberos KDC_ERR_C_PRINCIPAL_UNKNOWN (0x6).
UNKNOWN_USER = (
    """("event.action" = 'invalid-user' OR "event.reason" IN ('invalid user', '0xc0000064', '0x6'))"""
)


def _bursts(source: str, key: str, where: str = "TRUE") -> str:
    """Gap-based bursts (``gk``, ``grp``) over ``source`` keyed by the SQL expression ``key``.

    The shared sessionizer (``grouped``) over authentication columns; the gap is bound as
    the first query parameter (minutes).
    """
    signals = f"""
        SELECT "@timestamp" AS ts, "event.id" AS eid, lower("user.name") AS u,
               coalesce("source.ip", "source.address") AS src, "host.name" AS host, *
        FROM {source}
        WHERE ({where}) AND ({key}) IS NOT NULL
    """
    return grouped(signals, key)


def _sorted_hist(hist: dict[Any, int] | None) -> tuple[list[Any], list[int]]:
    """A DuckDB histogram as (values, counts), most frequent first, then by value."""
    items = sorted((hist or {}).items(), key=lambda kv: (-kv[1], str(kv[0])))
    return [k for k, _ in items], [v for _, v in items]


def _data_days(con: Db) -> float:
    """Days covered by all stored events, the denominator of usual rates (0 when unknown)."""
    rows = as_engine(con).rows(
        """SELECT (epoch_us(max("@timestamp")) - epoch_us(min("@timestamp"))) / 86400e6 AS days FROM events"""
    )
    return float(rows[0]["days"] or 0.0)


class BruteForce(Detector):
    """Many failed logons against one account in a short burst (T1110.001)."""

    id: ClassVar[str] = "brute_force"
    phrase: ClassVar[str] = "brute force"
    title: ClassVar[str] = "Brute force against one account"
    tactics: ClassVar[tuple[str, ...]] = ("TA0006",)
    techniques: ClassVar[tuple[str, ...]] = ("T1110.001",)
    severity: ClassVar[str] = "medium"
    defaults: ClassVar[dict[str, Any]] = {"gap_minutes": 10, "min_failures": 5, "score_half": 20}

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per burst of failures for an account; score rises with the count."""
        p = self.params
        sql = (
            _bursts("auth_failures", 'lower("user.name")')
            + """
        , per_user AS (SELECT gk, count(*) AS total FROM g GROUP BY gk)
        SELECT g.gk AS account, count(*) AS n, min(ts) AS first, max(ts) AS last,
               list(eid ORDER BY ts, eid) AS eids, histogram(src) AS sources,
               histogram(host) AS hosts, any_value(per_user.total) AS total
        FROM g JOIN per_user USING (gk)
        GROUP BY g.gk, grp HAVING count(*) >= ?
        ORDER BY first
        """
        )
        days = _data_days(con)
        for r in self.rows(con, sql, [p["gap_minutes"], p["min_failures"]]):
            srcs, counts = _sorted_hist(r["sources"])
            hosts, _ = _sorted_hist(r["hosts"])
            others = r["total"] - r["n"]
            if days >= 1:
                usual = f"this account's usual rate is {others / days:.1f} a day"
            else:  # a rate per day would extrapolate from hours of data
                usual = f"this account had {others} other failures in the {days * 24:.1f} h of data"
            where = f" from {top_list(srcs, counts)}" if srcs else ""
            reasons = [
                f"{r['n']} failed logons for '{r['account']}'{where} in "
                f"{duration(r['first'], r['last'])}; {usual}",
            ]
            if hosts:
                reasons.append(f"failures were logged on {top_list(hosts)}")
            yield Finding(
                score=saturating(r["n"], p["score_half"]),
                entities={
                    "user": r["account"],
                    "source": srcs[0] if srcs else "",
                    "host": hosts[0] if hosts else "",
                },
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
                extra={"sources": srcs, "source_counts": counts},
            )


class PasswordSpray(Detector):
    """One source failing against many accounts, few tries each (T1110.003)."""

    id: ClassVar[str] = "password_spray"
    phrase: ClassVar[str] = "password spraying"
    title: ClassVar[str] = "Password spraying from one source"
    tactics: ClassVar[tuple[str, ...]] = ("TA0006",)
    techniques: ClassVar[tuple[str, ...]] = ("T1110.003",)
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 30,
        "min_accounts": 5,
        "max_tries_per_account": 3.0,
        "score_half": 10,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per burst of a source whose failures spread over many accounts."""
        p = self.params
        sql = (
            _bursts(
                "auth_failures",
                'coalesce("source.ip", "source.address")',
                '"user.name" IS NOT NULL',
            )
            + """
        SELECT gk AS source, count(*) AS n, count(DISTINCT u) AS accounts, min(ts) AS first,
               max(ts) AS last, list(eid ORDER BY ts, eid) AS eids, histogram(u) AS users,
               histogram(host) AS hosts
        FROM g GROUP BY gk, grp
        HAVING count(DISTINCT u) >= ? AND count(*) / count(DISTINCT u) <= ?
        ORDER BY first
        """
        )
        for r in self.rows(con, sql, [p["gap_minutes"], p["min_accounts"], p["max_tries_per_account"]]):
            users, _ = _sorted_hist(r["users"])
            hosts, _ = _sorted_hist(r["hosts"])
            reasons = [
                f"{r['n']} failed logons for {plural(r['accounts'], 'account')} from {r['source']} in "
                f"{duration(r['first'], r['last'])}, {r['n'] / r['accounts']:.1f} tries per account "
                f"(spraying keeps this low to avoid lockouts)",
                f"accounts tried: {top_list(users, limit=5)}",
            ]
            yield Finding(
                score=saturating(r["accounts"], p["score_half"]),
                entities={"source": r["source"], "host": hosts[0] if hosts else ""},
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
            )


class CredentialStuffing(Detector):
    """Many sources and many accounts failing against one host, with a low success rate (T1110.004)."""

    id: ClassVar[str] = "credential_stuffing"
    phrase: ClassVar[str] = "credential stuffing"
    title: ClassVar[str] = "Credential stuffing from many sources"
    tactics: ClassVar[tuple[str, ...]] = ("TA0006",)
    techniques: ClassVar[tuple[str, ...]] = ("T1110.004",)
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 30,
        "min_sources": 5,
        "min_accounts": 10,
        "max_success_rate": 0.1,
        "score_half": 20,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per burst of failures on a host spread over many sources and accounts."""
        p = self.params
        sql = (
            _bursts("auth_failures", '"host.name"', '"user.name" IS NOT NULL')
            + """
        , b AS (
            SELECT gk AS host, count(*) AS n, count(DISTINCT u) AS accounts, count(DISTINCT src) AS sources,
                   min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids,
                   histogram(src) AS src_hist
            FROM g GROUP BY gk, grp
            HAVING count(DISTINCT src) >= ? AND count(DISTINCT u) >= ?
        )
        SELECT b.*, (SELECT count(*) FROM auth_successes s
                     WHERE s."host.name" = b.host AND s."@timestamp" BETWEEN b.first AND b.last) AS ok
        FROM b ORDER BY first
        """
        )
        for r in self.rows(con, sql, [p["gap_minutes"], p["min_sources"], p["min_accounts"]]):
            rate = r["ok"] / (r["ok"] + r["n"])
            if rate > p["max_success_rate"]:
                continue
            srcs, counts = _sorted_hist(r["src_hist"])
            reasons = [
                f"{r['n']} failed logons for {plural(r['accounts'], 'account')} from "
                f"{plural(r['sources'], 'source')} against {r['host']} in {duration(r['first'], r['last'])}",
                f"success rate {rate:.1%} ({r['ok']} successes); stuffing with leaked lists rarely succeeds",
                f"most active sources: {top_list(srcs, counts)}",
            ]
            yield Finding(
                score=saturating(r["accounts"] * (1 - rate), p["score_half"]),
                entities={"host": r["host"], "source": srcs[0] if srcs else ""},
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
            )


class SuccessAfterFailures(Detector):
    """A successful logon right after many failures for the same account: likely compromise."""

    id: ClassVar[str] = "success_after_failures"
    phrase: ClassVar[str] = "a logon success after failures"
    title: ClassVar[str] = "Successful logon after repeated failures"
    tactics: ClassVar[tuple[str, ...]] = ("TA0006", "TA0001")
    techniques: ClassVar[tuple[str, ...]] = ("T1110", "T1078")
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {"window_minutes": 30, "min_failures": 5, "score_half": 10}

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per account and window: the first success preceded by enough failures."""
        p = self.params
        sql = """
        SELECT lower(s."user.name") AS account, s."@timestamp" AS ts, s."event.id" AS ok_id,
               coalesce(s."source.ip", s."source.address") AS ok_src, s."host.name" AS host,
               count(*) AS n, min(f."@timestamp") AS first, list(f."event.id" ORDER BY f."@timestamp") AS eids,
               histogram(coalesce(f."source.ip", f."source.address")) AS sources
        FROM auth_successes s JOIN auth_failures f
          ON lower(f."user.name") = lower(s."user.name")
         AND f."@timestamp" BETWEEN s."@timestamp" - to_minutes(CAST(? AS BIGINT)) AND s."@timestamp"
        WHERE s."user.name" IS NOT NULL
        GROUP BY ALL HAVING count(*) >= ?
        ORDER BY account, ts
        """
        last_alert: dict[str, Any] = {}
        for r in self.rows(con, sql, [p["window_minutes"], p["min_failures"]]):
            prev = last_alert.get(r["account"])
            if prev is not None and (r["ts"] - prev).total_seconds() <= p["window_minutes"] * 60:
                continue  # the same attack's later successes add nothing new
            last_alert[r["account"]] = r["ts"]
            srcs, counts = _sorted_hist(r["sources"])
            same = r["ok_src"] in srcs if r["ok_src"] else False
            reasons = [
                f"successful logon for '{r['account']}' from {r['ok_src'] or 'an unknown source'} at "
                f"{r['ts']:%Y-%m-%d %H:%M:%S} after {r['n']} failures in the preceding "
                f"{duration(r['first'], r['ts'])}",
                f"failures came from {top_list(srcs, counts)}"
                + ("; the success came from one of them" if same else ""),
            ]
            yield Finding(
                score=min(1.0, saturating(r["n"], p["score_half"]) + (0.2 if same else 0.0)),
                entities={
                    "user": r["account"],
                    "source": r["ok_src"] or "",
                    "host": r["host"] or "",
                },
                first_seen=r["first"],
                last_seen=r["ts"],
                event_ids=[*r["eids"], r["ok_id"]],
                reasons=reasons,
            )


class UserEnumeration(Detector):
    """One source trying many account names that do not exist (T1087, T1110)."""

    id: ClassVar[str] = "user_enumeration"
    phrase: ClassVar[str] = "username enumeration"
    title: ClassVar[str] = "Username enumeration"
    tactics: ClassVar[tuple[str, ...]] = ("TA0007", "TA0006")
    techniques: ClassVar[tuple[str, ...]] = ("T1087", "T1110")
    severity: ClassVar[str] = "medium"
    defaults: ClassVar[dict[str, Any]] = {"gap_minutes": 30, "min_names": 5, "score_half": 10}

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per burst of unknown-account failures from one source."""
        p = self.params
        sql = (
            _bursts(
                "auth_failures",
                'coalesce("source.ip", "source.address", "host.name")',
                f'"event.outcome" = \'failure\' AND "user.name" IS NOT NULL AND {UNKNOWN_USER}',
            )
            + """
        SELECT gk AS source, count(*) AS n, count(DISTINCT u) AS names, min(ts) AS first, max(ts) AS last,
               list(eid ORDER BY ts, eid) AS eids, histogram(u) AS users, histogram(host) AS hosts
        FROM g GROUP BY gk, grp HAVING count(DISTINCT u) >= ?
        ORDER BY first
        """
        )
        for r in self.rows(con, sql, [p["gap_minutes"], p["min_names"]]):
            users, _ = _sorted_hist(r["users"])
            hosts, _ = _sorted_hist(r["hosts"])
            reasons = [
                f"{r['source']} tried {plural(r['names'], 'account name')} that do not exist "
                f"({r['n']} attempts) in {duration(r['first'], r['last'])}",
                f"names tried: {top_list(users, limit=6)}",
            ]
            yield Finding(
                score=saturating(r["names"], p["score_half"]),
                entities={"source": r["source"], "host": hosts[0] if hosts else ""},
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
            )
