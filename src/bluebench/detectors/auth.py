"""Credential attacks seen in authentication events: guessing, spraying, stuffing, enumeration.

All queries sessionize events into gap-based bursts: events of one key (an account or a
source) belong to the same burst while each follows the previous within ``gap_minutes``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from bluebench.detectors.base import Detector, Finding, duration, plural, saturating, top_list
from bluebench.detectors.winsql import ed, grouped, names, sql_list
from bluebench.engines import Db, as_engine

# Failures that mean "no such account": sshd invalid user, Windows 4625 sub-status
# 0xC0000064, Kerberos KDC_ERR_C_PRINCIPAL_UNKNOWN (0x6).
UNKNOWN_USER = (
    """("event.action" = 'invalid-user' OR "event.reason" IN ('invalid user', '0xc0000064', '0x6'))"""
)


# Attempts in a group of failures: each Windows attempt is logged by the host tried and by the
# domain controller that checked the password, so the larger side counts, not the sum.
ATTEMPTS = "greatest(count(*) FILTER (WHERE side = 'host'), count(*) FILTER (WHERE side = 'dc'))"


def _bursts(source: str, key: str, where: str = "TRUE") -> str:
    """Gap-based bursts (``gk``, ``grp``) over ``source`` keyed by the SQL expression ``key``.

    The shared sessionizer (``grouped``) over authentication columns; the gap is bound as
    the first query parameter (minutes). ``src`` is the failure's origin (see ``auth_failures``).
    """
    signals = f"""
        SELECT "@timestamp" AS ts, "event.id" AS eid, lower("user.name") AS u,
               origin AS src, "host.name" AS host, *
        FROM {source}
        WHERE ({where}) AND ({key}) IS NOT NULL
    """
    return grouped(signals, key)


def _daily(key: str, value: str) -> str:
    """Per ``key`` and day: ``value`` over the failures of that day (the baseline a burst is compared to)."""
    return f"""
        SELECT {key} AS k, CAST("@timestamp" AS DATE) AS day, {value} AS v
        FROM auth_failures WHERE ({key}) IS NOT NULL AND "@timestamp" IS NOT NULL
        GROUP BY ALL
    """


# The largest daily value of the burst's key on the ``$lookback`` days before the burst's day,
# and on how many of those days it had failures at all. No look-ahead: later days never count.
_USUAL = """
    (SELECT coalesce(max(d.v), 0) FROM daily d WHERE d.k = b.key
        AND d.day < CAST(b.first AS DATE) AND d.day >= CAST(b.first AS DATE) - CAST(? AS INTEGER)) AS usual,
    (SELECT count(*) FROM daily d WHERE d.k = b.key
        AND d.day < CAST(b.first AS DATE) AND d.day >= CAST(b.first AS DATE) - CAST(? AS INTEGER)) AS usual_days
"""


def _sorted_hist(hist: dict[Any, int] | None) -> tuple[list[Any], list[int]]:
    """A DuckDB histogram as (values, counts), most frequent first, then by value."""
    items = sorted((hist or {}).items(), key=lambda kv: (-kv[1], str(kv[0])))
    return [k for k, _ in items], [v for _, v in items]


def _settled(r: dict[str, Any], min_days: int) -> int:
    """The usual daily level, once it rests on ``min_days`` earlier days; 0 before that.

    A level seen on a day or two may be an earlier attack from the same place: it is not a
    habit yet, so it does not hide the next one.
    """
    return int(r["usual"]) if int(r["usual_days"]) >= min_days else 0


def _above_usual(count: int, usual: int, factor: float, margin: int) -> bool:
    """A burst is news when it is ``margin`` above the usual day and ``factor`` times it."""
    return count - usual >= margin and count >= factor * usual


def _usual_text(r: dict[str, Any], usual: int, lookback: int, counted: str) -> str:
    """How a reason states the baseline a burst was compared to ('... at most 3 failed attempts a day')."""
    days = int(r["usual_days"])
    if days == 0:
        return f"no failures on the {lookback} days before, so no usual level to allow for"
    text = (
        f"on its {plural(days, 'earlier day')} with failures (of the {lookback} before) it had at most "
        f"{r['usual']} {counted} a day"
    )
    return text if usual else text + ", too few days to count as its habit"


class BruteForce(Detector):
    """Many failed attempts against one account in a burst, well above its own usual days (T1110.001).

    An attempt is counted once though Windows logs it twice (the host's 4625 and the domain
    controller's 4771/4776). The baseline is the account's largest number of failed attempts
    on one day of the ``lookback_days`` before, once failures were seen on ``min_usual_days`` of
    them: a service with a stale password failing all day, every day, is its own normal. A burst is a finding when it has ``min_failures`` attempts more
    than that day and ``usual_factor`` times as many. Score: the excess through
    ``saturating(excess, score_half)``; higher = more suspicious.
    """

    id: ClassVar[str] = "brute_force"
    phrase: ClassVar[str] = "brute force"
    title: ClassVar[str] = "Brute force against one account"
    tactics: ClassVar[tuple[str, ...]] = ("TA0006",)
    techniques: ClassVar[tuple[str, ...]] = ("T1110.001",)
    severity: ClassVar[str] = "medium"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 10,
        "min_failures": 5,
        "score_half": 20,
        "lookback_days": 28,
        "usual_factor": 2.0,
        "min_usual_days": 2,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per burst of failures for an account that stands out from its usual days."""
        p = self.params
        sql = (
            _bursts("auth_failures", 'lower("user.name")')
            + f"""
        , daily AS ({_daily('lower("user.name")', ATTEMPTS)})
        , b AS (
            SELECT gk AS key, count(*) AS n, {ATTEMPTS} AS attempts, min(ts) AS first, max(ts) AS last,
                   list(eid ORDER BY ts, eid) AS eids, histogram(src) AS sources, histogram(host) AS hosts
            FROM g GROUP BY gk, grp
        )
        SELECT b.*, {_USUAL}
        FROM b WHERE b.attempts >= ? ORDER BY first
        """
        )
        lookback = int(p["lookback_days"])
        params = [p["gap_minutes"], lookback, lookback, p["min_failures"]]
        for r in self.rows(con, sql, params):
            attempts, usual = int(r["attempts"]), _settled(r, int(p["min_usual_days"]))
            if not _above_usual(attempts, usual, float(p["usual_factor"]), int(p["min_failures"])):
                continue
            srcs, counts = _sorted_hist(r["sources"])
            hosts, _ = _sorted_hist(r["hosts"])
            where = f" from {top_list(srcs, counts)}" if srcs else ""
            twice = f" ({r['n']} events: the host and the domain controller each log an attempt)"
            reasons = [
                f"{attempts} failed logons for '{r['key']}'{where} in {duration(r['first'], r['last'])}"
                + (twice if r["n"] > attempts else ""),
                _usual_text(r, usual, lookback, "failed attempts"),
            ]
            if hosts:
                reasons.append(f"failures were logged on {top_list(hosts)}")
            yield Finding(
                score=saturating(attempts - usual, p["score_half"]),
                entities={
                    "user": r["key"],
                    "source": srcs[0] if srcs else "",
                    "host": hosts[0] if hosts else "",
                },
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
                extra={"sources": srcs, "source_counts": counts, "usual": usual},
            )


class PasswordSpray(Detector):
    """One origin failing against many accounts, few tries each, beyond its usual days (T1110.003).

    The origin is the remote address (or the host itself for local failures). Its baseline is
    the largest number of distinct accounts that failed from it on one of the ``lookback_days``
    before, once it failed on ``min_usual_days`` of them: a webmail reverse proxy or a VPN
    concentrator carries everyone's typos every day. Failures for accounts that do not exist
    are left to ``user_enumeration``: a spray guesses the passwords of real accounts. A
    burst is a finding with ``min_accounts`` accounts more than that day, ``usual_factor`` times
    as many, and at most ``max_tries_per_account`` attempts per account. Score: the excess
    through ``saturating(excess, score_half)``; higher = more suspicious.
    """

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
        "lookback_days": 28,
        "usual_factor": 2.0,
        "min_usual_days": 3,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per burst of an origin whose failures spread over more accounts than usual."""
        p = self.params
        sql = (
            _bursts(
                "auth_failures", "origin", f'"user.name" IS NOT NULL AND NOT coalesce({UNKNOWN_USER}, false)'
            )
            + f"""
        , daily AS ({_daily("origin", 'count(DISTINCT lower("user.name"))')})
        , b AS (
            SELECT gk AS key, count(*) AS n, {ATTEMPTS} AS attempts, count(DISTINCT u) AS accounts,
                   min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids,
                   histogram(u) AS users, histogram(host) AS hosts
            FROM g GROUP BY gk, grp
        )
        SELECT b.*, {_USUAL}
        FROM b WHERE b.accounts >= ? AND b.attempts / b.accounts <= ? ORDER BY first
        """
        )
        lookback = int(p["lookback_days"])
        params = [p["gap_minutes"], lookback, lookback, p["min_accounts"], p["max_tries_per_account"]]
        for r in self.rows(con, sql, params):
            accounts, usual = int(r["accounts"]), _settled(r, int(p["min_usual_days"]))
            if not _above_usual(accounts, usual, float(p["usual_factor"]), int(p["min_accounts"])):
                continue
            users, _ = _sorted_hist(r["users"])
            hosts, _ = _sorted_hist(r["hosts"])
            reasons = [
                f"{r['attempts']} failed logons for {plural(accounts, 'account')} from {r['key']} in "
                f"{duration(r['first'], r['last'])}, {r['attempts'] / accounts:.1f} tries per account "
                f"(spraying keeps this low to avoid lockouts)",
                _usual_text(r, usual, lookback, "accounts failing"),
                f"accounts tried: {top_list(users, limit=5)}",
            ]
            yield Finding(
                score=saturating(accounts - usual, p["score_half"]),
                entities={"source": r["key"], "host": hosts[0] if hosts else ""},
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
                extra={"usual": usual},
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
    """A successful logon right after many failed attempts for the same account: likely compromise.

    Attempts are counted once though Windows logs each twice (the host and the domain controller),
    so a person's few typos before the logon that works are not 'many failures'.
    """

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
               greatest(count(*) FILTER (WHERE f.side = 'host'), count(*) FILTER (WHERE f.side = 'dc')) AS n,
               min(f."@timestamp") AS first, list(f."event.id" ORDER BY f."@timestamp") AS eids,
               histogram(f.origin) AS sources
        FROM auth_successes s JOIN auth_failures f
          ON lower(f."user.name") = lower(s."user.name")
         AND f."@timestamp" BETWEEN s."@timestamp" - to_minutes(CAST(? AS BIGINT)) AND s."@timestamp"
        WHERE s."user.name" IS NOT NULL
        GROUP BY ALL
        HAVING greatest(count(*) FILTER (WHERE f.side = 'host'), count(*) FILTER (WHERE f.side = 'dc')) >= ?
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


# Logon processes Windows and its common components register (LogonProcessName of 4624/4625,
# trimmed, lower case). A program that calls LsaLogonUser registers a name of its own.
KNOWN_LOGON_PROCESSES = (
    "user32", "advapi", "negotiat", "negotiate", "ntlmssp", "kerberos", "schannel", "seclogo", "credpro",
    "authz", "iis", "winlogon", "sshd", "ias", "http.sys", "msv1_0", "secur32", "lsa", "c", "-",
)  # fmt: skip
_LOGON_PROCESS = f"""lower(trim({ed("LogonProcessName")}))"""
# Logons and failed logons through a logon process that is not Windows' own and that this host
# did not see on ``$routine_days`` days before (within ``$lookback`` days), nor for
# ``$routine_accounts`` other accounts before or within ``$window`` hours after (the day's
# other kiosk users say it is the host's software).
LOGON_PROCESS_SQL = f"""
    WITH l AS (
        SELECT "@timestamp" AS ts, "event.id" AS eid, "host.name" AS host,
               lower(split_part("host.name", '.', 1)) AS hkey, lower("user.name") AS account,
               "event.outcome" AS outcome, "winlog.logon.type" AS ltype, {_LOGON_PROCESS} AS lp,
               "process.name" AS proc
        FROM events
        WHERE "event.code" IN ('4624', '4625') AND {ed("LogonProcessName")} IS NOT NULL
          AND "user.name" IS NOT NULL AND "@timestamp" IS NOT NULL
          AND NOT list_contains({sql_list(KNOWN_LOGON_PROCESSES)}, {_LOGON_PROCESS})
    ), days AS (SELECT DISTINCT hkey, lp, CAST(ts AS DATE) AS day FROM l)
    , users AS (SELECT hkey, lp, account, min(ts) AS since FROM l GROUP BY ALL)
    , c AS (
        SELECT l.*, (SELECT count(*) FROM days d WHERE d.hkey = l.hkey AND d.lp = l.lp
                        AND d.day < CAST(l.ts AS DATE)
                        AND d.day >= CAST(l.ts AS DATE) - CAST($lookback AS INTEGER)) AS earlier_days,
                    (SELECT count(*) FROM users x WHERE x.hkey = l.hkey AND x.lp = l.lp
                        AND x.since < l.ts + to_hours(CAST($window AS BIGINT)) AND x.account <> l.account
                        AND CAST(x.since AS DATE) >= CAST(l.ts AS DATE) - CAST($lookback AS INTEGER)) AS earlier_users
        FROM l
    )
    , s AS (
        SELECT ts, eid, host, hkey, account, outcome, ltype, lp, proc FROM c
        WHERE earlier_days < $routine_days AND earlier_users < $routine_accounts
    )
    , keyed AS (SELECT *, hkey || '|' || account AS gk FROM s)
    , lagged AS (SELECT *, lag(ts) OVER (PARTITION BY gk ORDER BY ts, eid) AS prev FROM keyed)
    , g AS (SELECT *, sum(CASE WHEN prev IS NULL OR ts - prev > to_minutes(CAST($gap AS BIGINT)) THEN 1 ELSE 0 END)
                      OVER (PARTITION BY gk ORDER BY ts, eid) AS grp FROM lagged)
    SELECT min(host) AS host, min(account) AS account, list(DISTINCT lp ORDER BY lp) AS processes,
           list(DISTINCT proc ORDER BY proc) FILTER (WHERE proc IS NOT NULL) AS programs,
           list(DISTINCT ltype ORDER BY ltype) AS types,
           count(*) FILTER (WHERE outcome = 'failure') AS failures,
           count(*) FILTER (WHERE outcome = 'success') AS successes,
           max(ts) FILTER (WHERE outcome = 'success') AS success_at,
           min(ts) FILTER (WHERE outcome = 'failure') AS first_failure,
           min(ts) AS first, max(ts) AS last, list(eid ORDER BY ts, eid) AS eids
    FROM g GROUP BY gk, grp ORDER BY first
"""


class UnusualLogonProcess(Detector):
    """Logons through a logon process Windows does not register, new on the host, after failures (T1110, T1078).

    Windows' logon paths register a handful of logon process names (User32, Advapi, NtLmSsp,
    Kerberos, seclogo, ...). A program that calls LsaLogonUser itself registers its own name:
    tools that try harvested passwords (from a browser's store, a dump) through the local
    logon API do, and a burst of failures followed by a success through such a name is a
    password being guessed or checked, not a person typing. A name the host saw on
    ``routine_days`` days before (within ``lookback_days``), or for ``routine_accounts`` other
    accounts before or within ``window_hours`` after, is that host's software (a kiosk or
    terminal-server client). Score: ``unknown_score``, plus ``failures_score`` with failures,
    ``success_score`` when one then succeeded and ``interactive_score`` for an interactive
    (type 2) logon; higher = more suspicious.
    """

    id: ClassVar[str] = "unusual_logon_process"
    phrase: ClassVar[str] = "an unusual logon process"
    title: ClassVar[str] = "Logons through an unusual logon process"
    tactics: ClassVar[tuple[str, ...]] = ("TA0006", "TA0001")
    techniques: ClassVar[tuple[str, ...]] = ("T1110", "T1078")
    severity: ClassVar[str] = "medium"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 30,
        "unknown_score": 0.4,  # a logon process Windows does not register, new on this host
        "failures_score": 0.3,  # ... with failed logons through it
        "success_score": 0.2,  # ... and a success after them
        "interactive_score": 0.1,  # ... as an interactive logon (type 2)
        "routine_days": 2,  # earlier days the host saw the name that make it the host's own software
        "routine_accounts": 2,  # ... or other accounts it saw log on through it (before, or within
        "window_hours": 12,  # ... this many hours after)
        "lookback_days": 28,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host, account and burst of logons through such a logon process."""
        p = self.params
        params = {
            "lookback": int(p["lookback_days"]),
            "routine_days": int(p["routine_days"]),
            "routine_accounts": int(p["routine_accounts"]),
            "window": int(p["window_hours"]),
            "gap": p["gap_minutes"],
        }
        for r in as_engine(con).rows(LOGON_PROCESS_SQL, params):
            scores = [float(p["unknown_score"])]
            reasons = [
                f"{plural(r['failures'] + r['successes'], 'logon')} of '{r['account']}' on {r['host']} through the logon "
                f"process {names(r['processes'])}, which Windows does not register and this host did not see on the "
                f"{p['lookback_days']} days before"
                + (f" (by {names(r['programs'])})" if r["programs"] else "")
            ]
            if r["failures"]:
                scores.append(float(p["failures_score"]))
                reasons.append(f"{plural(r['failures'], 'failed logon')} through it")
            if r["successes"] and r["failures"] and r["success_at"] > r["first_failure"]:
                scores.append(float(p["success_score"]))
                reasons.append(
                    f"then a success at {r['success_at']:%H:%M:%S}: a password that was being tried worked "
                    "(tools checking passwords harvested from a browser or a dump do this)"
                )
            if 2 in (r["types"] or []):
                scores.append(float(p["interactive_score"]))
                reasons.append("as interactive logons (type 2), which a person makes at the console")
            score = 1.0
            for x in scores:
                score *= 1.0 - x
            yield Finding(
                score=1.0 - score,
                entities={"user": r["account"], "host": r["host"]},
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=r["eids"],
                reasons=reasons,
                techniques=["T1110", "T1078"] if r["successes"] else ["T1110"],
            )
