"""Behaviour anomalies learned from the data itself: each account against its own history.

Four detectors: a logon at an hour the account rarely uses, a logon from a new source or to
a new host, the first use of a logon type (here), and an IsolationForest over per-user-day
features (``user_day.py``).

Shared rules, which are what keep them quiet and repeatable:

- **No look-ahead.** A logon is judged against the account's days strictly before its own
  (window frames ``ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING`` over one row per
  account and day), and a user-day against a model fit on earlier days only. Results are a
  function of the stored events alone: the same whether they arrived at once or in parts,
  and a judgement never changes when later data arrives.
- **Days, not logons, are the unit of a baseline.** One session repeats its source, host and
  hour many times; counting days keeps a busy account from looking more certain than it is.
- **No baseline, no judgement.** An account needs ``min_logons`` earlier logons on
  ``min_days`` distinct days (and the probabilities below need more) before anything about
  it is called unusual: a single-attack EVTX file or a short recording gives no alert.
- **Who is judged.** Accounts are keyed by lower-cased ``user.name`` without a realm or
  domain (``alice@CORP.EXAMPLE.COM``, ``CORP\\alice`` and ``alice`` are one); machine accounts
  (``NAME$``) and Windows' own identities (SYSTEM, LOCAL SERVICE, DWM-1, ...) are left out
  by ``ignore_users`` (a regular expression), since they log on everywhere at all hours.
- **Hours** are read on the clock of ``timezone`` (default UTC: events are stored in UTC and
  carry no zone of their own).
- Scores run 0..1 and **higher = more suspicious**; scoring reads events and changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import duckdb

from bluebench.detectors.base import (
    Detector,
    Finding,
    bound_params,
    plural,
    saturating,
    shared_table,
    top_list,
)
from bluebench.engines import Db, as_engine

# Machine accounts and Windows' own service identities: they authenticate from and to
# everywhere around the clock, so per-account habits say nothing about them.
IGNORE_USERS = (
    r"(\$$)|^(system|local service|network service|anonymous logon|(dwm|umfd)-\d+"
    r"|font driver host|window manager)$"
)

# One key per account however Windows spells it: 4769 logs "alice@CORP.EXAMPLE.COM", others
# "alice" with the domain apart, some tools "CORP\alice".
USER_KEY_SQL = """lower(regexp_replace(regexp_replace("user.name", '@[^@]*$', ''), '^.*\\\\', ''))"""


def user_keys(where: str) -> str:
    """SQL: a table of (name, u), the key of each account judged among the events ``where`` holds.

    The expressions run once per distinct name, not once per event: a few thousand names stand
    for a million authentications. Joined on ``"user.name"``, it keys the events and leaves out
    the accounts ``$ignore_users`` matches (and events without a name), as filtering each would.
    """
    key = USER_KEY_SQL.replace('"user.name"', "name")
    return f"""(
        SELECT name, u FROM (
            SELECT name, {key} AS u
            FROM (SELECT DISTINCT "user.name" AS name FROM events WHERE ({where}) AND "user.name" IS NOT NULL))
        WHERE NOT regexp_matches(u, $ignore_users))"""


# Addresses that mean "this same machine".
LOCAL_SOURCES = ("127.0.0.1", "::1", "localhost", "-")
_LOCAL = ", ".join("'" + s + "'" for s in LOCAL_SOURCES)
# The remote address of an event, or NULL when the logon came from the machine itself.
SOURCE_SQL = f"""CASE WHEN lower(coalesce("source.ip", "source.address")) IN ({_LOCAL})
      OR lower(coalesce("source.ip", "source.address")) = split_part(lower("host.name"), '.', 1)
    THEN NULL ELSE lower(coalesce("source.ip", "source.address")) END"""
# Hours on the configured clock ($tz); "@timestamp" is naive UTC. UTC skips the zone lookup,
# which is most of the cost of reading millions of timestamps.
LOCAL_TIME_SQL = (
    """CASE WHEN $tz = 'UTC' THEN "@timestamp" ELSE timezone($tz, timezone('UTC', "@timestamp")) END"""
)
SUCCESS_SQL = """"event.outcome" = 'success' AND "event.action" IN ('logon', 'ntlm-credential-validation')"""

LOGON_TYPE_NAMES: dict[int, str] = {
    0: "system",
    2: "interactive",
    3: "network",
    4: "batch",
    5: "service",
    7: "unlock",
    8: "network cleartext",
    9: "new credentials, runas /netonly",
    10: "remote interactive, RDP",
    11: "cached interactive",
    12: "cached remote interactive, RDP",
    13: "cached unlock",
}
# Logon types whose first use by an account is a medium alert, and what they usually mean:
# 9 is runas /netonly and pass-the-hash (mimikatz sekurlsa::pth), 10 and 12 are RDP,
# 8 sends the password in clear (IIS basic auth, PowerShell with CredSSP).
SENSITIVE_LOGON_TYPES: dict[int, tuple[str, ...]] = {
    8: ("T1078",),
    9: ("T1550.002", "T1078"),
    10: ("T1021.001", "T1078"),
    12: ("T1021.001", "T1078"),
}

# Successful authentications of the accounts judged, one row per event. Named parameters:
# $tz (zone of the clock hours are read on) and $ignore_users (regular expression).
LOGONS_SELECT = f"""
    SELECT "event.id" AS eid, "@timestamp" AS ts, {LOCAL_TIME_SQL} AS lt,
           CAST({LOCAL_TIME_SQL} AS DATE) AS day,
           k.u, lower("host.name") AS host, "event.action" AS action,
           "winlog.logon.type" AS ltype,
           CASE WHEN "source.ip" IS NOT NULL THEN 'address' ELSE 'workstation' END AS src_kind,
           {SOURCE_SQL} AS src
    FROM events JOIN {user_keys(SUCCESS_SQL)} k ON k.name = events."user.name"
    WHERE {SUCCESS_SQL} AND "@timestamp" IS NOT NULL
"""
LOGONS_CTE = f"logons AS ({LOGONS_SELECT})"
PRIOR_DAYS = "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"

# IPv4 /16 of an address ('10.200'), '' for anything else: the network a dynamic pool hands out.
_NET16 = "regexp_extract(src, '^(\\d+\\.\\d+)\\.\\d+\\.\\d+$', 1)"
# Shared infrastructure, learned per day from the days before it (no look-ahead): an address
# that ``$shared_accounts`` accounts logged on from (a webmail proxy, an RD gateway, a jump
# host), or a /16 network used by as many accounts where new addresses keep appearing, on
# average ``$pool_rate`` per account and day over the ``$pool_window`` days before (after the
# network's first ``$pool_learn`` days, when every address is new): a VPN pool or DHCP range
# hands out addresses, a server LAN does not. A first use of such a source says nothing about
# the account. Adds ``pooled``: ``logons`` with ``infra`` ('shared', 'pool' or NULL).
POOLED_CTES = f"""
, addr_first AS (SELECT src, u, min(day) AS d FROM logons WHERE src IS NOT NULL GROUP BY src, u)
, addr_new AS (SELECT src, d, count(*) AS accounts FROM addr_first GROUP BY src, d)
, net_accounts AS (
    SELECT net, d, count(*) AS accounts
    FROM (SELECT {_NET16} AS net, u, min(d) AS d FROM addr_first GROUP BY ALL) WHERE net <> '' GROUP BY net, d
)
, net_addresses AS (
    SELECT net, d, count(*) AS addresses
    FROM (SELECT {_NET16} AS net, src, min(d) AS d FROM addr_first GROUP BY ALL) WHERE net <> '' GROUP BY net, d
)
, net_start AS (SELECT net, min(d) AS d0 FROM net_addresses GROUP BY net)
, src_days AS (SELECT DISTINCT src, day, {_NET16} AS net FROM logons WHERE src IS NOT NULL)
, infra AS (
    SELECT s.src, s.day,
           coalesce((SELECT sum(a.accounts) FROM addr_new a WHERE a.src = s.src AND a.d < s.day), 0) AS src_accounts,
           coalesce((SELECT sum(n.accounts) FROM net_accounts n WHERE n.net = s.net AND n.d < s.day), 0) AS net_accounts,
           coalesce((SELECT sum(n.addresses) FROM net_addresses n JOIN net_start t USING (net)
                     WHERE n.net = s.net AND n.d < s.day AND n.d >= s.day - CAST($pool_window AS INTEGER)
                       AND n.d >= t.d0 + CAST($pool_learn AS INTEGER)), 0) / $pool_window AS new_per_day
    FROM src_days s
)
, pooled AS (
    SELECT l.*,
           CASE WHEN i.src_accounts >= $shared_accounts THEN 'shared'
                WHEN i.net_accounts >= $shared_accounts AND i.new_per_day >= $pool_rate * i.net_accounts THEN 'pool'
           END AS infra
    FROM logons l LEFT JOIN infra i ON i.src = l.src AND i.day = l.day
)
"""


class BehaviourDetector(Detector):
    """A detector judging accounts against their own history; checks its zone and account filter."""

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        # Both are handed to DuckDB as values; a typo should fail here, naming the detector,
        # not half-way through a run.
        try:
            with duckdb.connect() as con:
                con.execute(
                    "SELECT timezone($tz, TIMESTAMPTZ '2020-01-01 00:00:00+00'), regexp_matches('x', $ignore_users)",
                    _base_params(self.params),
                ).fetchall()
        except duckdb.Error as exc:
            raise ValueError(f"{self.id}: bad timezone or ignore_users: {exc}") from exc


def _rows(con: Db, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows as dicts for a query with named parameters (few rows: candidates only)."""
    return as_engine(con).rows(sql, params)


def _with_logons(con: Db, ctes: str, params: dict[str, Any], pooled: bool = False) -> str:
    """The query of ``ctes`` (what follows ``logons``, or ``pooled`` with ``pooled``) with its head.

    In a detect run (:func:`~bluebench.detectors.base.shared_scans`) the head reads the run's
    tables of those logons, selected once for every behaviour detector with the same clock and
    account filter; otherwise it selects them from the events. Both give the same rows.
    """
    logons = shared_table(con, LOGONS_SELECT, params)
    if logons is None:
        return f"WITH {LOGONS_CTE}{POOLED_CTES if pooled else ''}{ctes}"
    head = f"WITH logons AS (SELECT * FROM {logons})"
    if pooled:
        pooled_table = shared_table(con, f"{head}{POOLED_CTES} SELECT * FROM pooled", params)
        head = f"WITH pooled AS (SELECT * FROM {pooled_table})"
    return head + ctes


def _logon_rows(con: Db, ctes: str, params: dict[str, Any], pooled: bool = False) -> list[dict[str, Any]]:
    """Rows of the query of ``ctes`` over the successful logons (:func:`_with_logons`)."""
    sql = _with_logons(con, ctes, params, pooled)
    return _rows(con, sql, bound_params(sql, params))


def _base_params(p: dict[str, Any]) -> dict[str, Any]:
    return {"tz": str(p["timezone"]), "ignore_users": str(p["ignore_users"])}


def _infra_params(p: dict[str, Any]) -> dict[str, Any]:
    """The shared-infrastructure thresholds of ``POOLED_CTES`` as query parameters."""
    return {
        "shared_accounts": int(p["shared_accounts"]),
        "pool_rate": float(p["pool_rate"]),
        "pool_window": max(int(p["pool_window_days"]), 1),
        "pool_learn": int(p["pool_learn_days"]),
    }


INFRA_DEFAULTS: dict[str, Any] = {
    "shared_accounts": 10,
    "pool_rate": 0.01,
    "pool_window_days": 14,
    "pool_learn_days": 7,
}


def _surprise_score(probabilities: Iterable[float], half_bits: float) -> float:
    """Surprisal in bits (``-log2 p``, summed over separate surprises) mapped onto 0..1."""
    bits = sum(-math.log2(min(max(p, 1e-12), 1.0)) for p in probabilities)
    return saturating(bits, half_bits)


def _hour_ranges(hour_days: Sequence[int], days: int, min_share: float = 0.1) -> str:
    """Hours used on at least ``min_share`` of the days, as ranges: '07-18', '09, 22-01'."""
    chosen = {h for h in range(24) if days and hour_days[h] >= min_share * days}
    if not chosen:
        return "none"
    if len(chosen) == 24:
        return "00-23"
    # Start each run at an hour whose predecessor is not chosen, so runs wrap past midnight.
    runs = []
    for s in sorted(h for h in chosen if (h - 1) % 24 not in chosen):
        e = s
        while (e + 1) % 24 in chosen:
            e = (e + 1) % 24
        runs.append(f"{s:02d}" if s == e else f"{s:02d}-{e:02d}")
    return ", ".join(runs)


def _group(rows: list[dict[str, Any]], gap_minutes: float) -> list[list[dict[str, Any]]]:
    """Candidate rows sorted by (u, ts) split into runs of one account with gaps under the limit."""
    groups: list[list[dict[str, Any]]] = []
    for r in rows:
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and last["u"] == r["u"]
            and (r["ts"] - last["ts"]).total_seconds() <= gap_minutes * 60
        ):
            groups[-1].append(r)
        else:
            groups.append([r])
    return groups


# ------------------------------------------------------------- unusual hour ----

# Per account and day: a 24-bit mask of the hours with a logon. Over the account's earlier
# days: on how many each hour was used, and on how many each band of hours (centre c,
# +- $radius, masks bound as $band_masks) was used.
_HOUR_DAYS = "[" + ", ".join(f"coalesce(sum((mask >> {h}) & 1) OVER prior, 0)" for h in range(24)) + "]"
_BAND_DAYS = (
    "["
    + ", ".join(
        f"coalesce(sum(((mask & ($band_masks)[{c + 1}]) <> 0)::INTEGER) OVER prior, 0)" for c in range(24)
    )
    + "]"
)

# What follows ``pooled`` (see :func:`_with_logons`).
UNUSUAL_HOUR_CTES = f"""
, hourly AS (
    -- fresh: from a source (or, for a local logon, at a host) the account did not use on an earlier
    -- day, and not shared infrastructure; min(day) over the pair is never later than this day
    SELECT *, hour(lt) AS hr,
           infra IS NULL AND min(day) OVER (PARTITION BY u, coalesce(src, 'local|' || host)) = day AS fresh
    FROM pooled
)
, daily AS (
    SELECT u, day, bit_or(1::BIGINT << hr) AS mask, count(*) AS logons FROM hourly GROUP BY u, day
), baseline AS (
    SELECT u, day, count(*) OVER prior AS days, coalesce(sum(logons) OVER prior, 0) AS n,
           min(day) OVER prior AS since, {_HOUR_DAYS} AS hour_days, {_BAND_DAYS} AS band_days
    FROM daily
    WINDOW prior AS (PARTITION BY u ORDER BY day {PRIOR_DAYS})
), judged AS (
    SELECT h.u, h.eid, h.ts, h.lt, h.hr, h.host, h.src, h.fresh, b.days, b.n, b.since, b.hour_days,
           b.band_days[h.hr + 1] AS band,
           (b.band_days[h.hr + 1] + $alpha * (2 * $radius + 1)) / (b.days + 24 * $alpha) AS p
    FROM hourly h JOIN baseline b USING (u, day)
    WHERE b.days >= $min_days AND b.n >= $min_logons
)
SELECT * FROM judged WHERE p <= $max_probability ORDER BY u, ts, eid
"""


class UnusualLogonHour(BehaviourDetector):
    """A successful logon at an hour the account rarely or never used on its earlier days (T1078).

    For each earlier day of the account we know which hours had a logon. The evidence for the
    hour of this logon is the number of earlier days with a logon within ``hour_radius``
    hours of it (circular: 23 h is next to 00 h), smoothed with ``alpha`` pseudo-days per
    hour so that an empty band is rare, not impossible:
    ``p = (band days + alpha (2 r + 1)) / (days + 24 alpha)``. A logon is a candidate when
    ``p <= max_probability`` and the account has ``min_logons`` earlier logons on
    ``min_days`` days; with the defaults an empty band needs 26 earlier days. Logons before
    that are not judged. Candidates of one account no more than ``gap_minutes`` apart form
    one finding, reported (with ``require_new_source``) only when one of its logons comes from a
    source the account did not use on an earlier day that is not shared infrastructure (see
    ``POOLED_CTES``): a person working late at the usual desk, or travelling through the VPN
    pool everyone uses, keeps the hours of a new time zone, not the habits of an intruder.
    Score: surprisal ``-log2 p`` through ``saturating(bits, score_half_bits)``; higher = more
    suspicious.
    """

    id: ClassVar[str] = "unusual_logon_hour"
    phrase: ClassVar[str] = "a logon at an unusual hour"
    title: ClassVar[str] = "Logon at an unusual hour for the account"
    tactics: ClassVar[tuple[str, ...]] = ("TA0001", "TA0005")
    techniques: ClassVar[tuple[str, ...]] = ("T1078",)
    severity: ClassVar[str] = "low"
    defaults: ClassVar[dict[str, Any]] = {
        "min_logons": 30,
        "min_days": 20,
        "hour_radius": 2,
        "alpha": 0.25,
        "max_probability": 0.04,
        "gap_minutes": 120,
        "score_half_bits": 6.0,
        "require_new_source": True,
        **INFRA_DEFAULTS,
        "timezone": "UTC",
        "ignore_users": IGNORE_USERS,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per account and burst of logons at hours rare on its earlier days."""
        p = self.params
        r_h = int(p["hour_radius"])
        masks = [sum(1 << ((c + d) % 24) for d in range(-r_h, r_h + 1)) for c in range(24)]
        params = {
            **_base_params(p),
            "band_masks": masks,
            "radius": r_h,
            "alpha": float(p["alpha"]),
            "min_logons": int(p["min_logons"]),
            "min_days": int(p["min_days"]),
            "max_probability": float(p["max_probability"]),
            **_infra_params(p),
        }
        tz = str(p["timezone"])
        for g in _group(_logon_rows(con, UNUSUAL_HOUR_CTES, params, pooled=True), float(p["gap_minutes"])):
            fresh = [r for r in g if r["fresh"]]
            if p["require_new_source"] and not fresh:
                continue  # usual sources or shared infrastructure only: a shifted day, not an intruder
            first = g[0]
            lo, hi = (first["hr"] - r_h) % 24, (first["hr"] + r_h) % 24
            when = (
                f"logon at {first['lt']:%H:%M} {tz} on {first['lt']:%Y-%m-%d}"
                if len(g) == 1
                else f"{len(g)} logons between {first['lt']:%H:%M} and {g[-1]['lt']:%H:%M} {tz} "
                f"on {first['lt']:%Y-%m-%d}"
            )
            hosts = sorted({r["host"] for r in g if r["host"]})
            srcs = sorted({r["src"] for r in g if r["src"]})
            where = (f" to {top_list(hosts)}" if hosts else "") + (f" from {top_list(srcs)}" if srcs else "")
            reasons = [
                f"{when}{where}",
                f"'{first['u']}' logged on between {lo:02d}:00 and {hi:02d}:59 on {first['band']} of "
                f"{plural(first['days'], 'earlier day')} ({plural(first['n'], 'logon')} since "
                f"{first['since']:%Y-%m-%d}); smoothed chance of that {tz} hour on a day: {first['p']:.1%}",
                f"usual hours (used on 10% of days or more): {_hour_ranges(first['hour_days'], first['days'])} {tz}",
            ]
            if fresh:
                what = sorted({r["src"] or f"a local logon at {r['host']}" for r in fresh})
                reasons.append(
                    f"{plural(len(what), 'source')} new for '{first['u']}' and not shared infrastructure: "
                    f"{top_list(what)}"
                )
            yield Finding(
                score=_surprise_score([min(r["p"] for r in g)], float(p["score_half_bits"])),
                entities={
                    "user": first["u"],
                    "host": hosts[0] if hosts else "",
                    "source": srcs[0] if srcs else "",
                },
                first_seen=first["ts"],
                last_seen=g[-1]["ts"],
                event_ids=[r["eid"] for r in g],
                reasons=reasons,
                extra={"probability": first["p"], "baseline_days": first["days"]},
            )


# ------------------------------------------------------------------ novelty ----


def _novelty_sql(value: str, kind: str, where: str, base: str = "logons") -> str:
    """First uses of a value (``value``, a constant SQL expression) by an account, with the baseline.

    The chance that a day brings a value the account never used is estimated from its own
    history, the days on which a new value appeared counted after its first ``$learn_days``
    days (when everything is new), with one added for the present day, and shrunk towards the
    population's rate ``r0`` (all accounts' days with a new value over their settled days,
    before this day) with the weight of ``$prior_days`` days: ``p_new = (days with a new value +
    prior_days r0 + 1) / (days after learning + prior_days + 1)``. An account with a short
    history is judged mostly by its peers, one with a long history by itself; ``prior_days`` 0
    is the account alone. ``base`` is ``logons`` or ``pooled`` (logons with
    shared infrastructure marked, see ``POOLED_CTES``). Returns what follows ``base`` (see
    :func:`_with_logons`).
    """
    return f"""
, aspect AS (
    SELECT *, {value} AS val, {kind} AS kind,
           row_number() OVER (PARTITION BY u, {kind}, {value} ORDER BY ts, eid) AS seq
    FROM {base} WHERE {value} IS NOT NULL AND ({where})
), daily AS (
    SELECT u, kind, day, count(*) AS logons, bool_or(seq = 1) AS had_new,
           row_number() OVER (PARTITION BY u, kind ORDER BY day) AS day_no
    FROM aspect GROUP BY u, kind, day
), baseline AS (
    SELECT *, count(*) OVER prior AS days, coalesce(sum(logons) OVER prior, 0) AS n,
           min(day) OVER prior AS since,
           coalesce(sum((day_no > $learn_days)::INTEGER) OVER prior, 0) AS settled,
           coalesce(sum((day_no > $learn_days AND had_new)::INTEGER) OVER prior, 0) AS new_days
    FROM daily
    WINDOW prior AS (PARTITION BY u, kind ORDER BY day {PRIOR_DAYS})
), population AS (
    -- every account's settled days and days with a new value, summed over the days before
    SELECT kind, day,
           (coalesce(sum(sum((day_no > $learn_days AND had_new)::INTEGER)) OVER pop, 0) + 1.0)
             / (coalesce(sum(sum((day_no > $learn_days)::INTEGER)) OVER pop, 0) + 1.0) AS r0
    FROM daily GROUP BY kind, day
    WINDOW pop AS (PARTITION BY kind ORDER BY day {PRIOR_DAYS})
), judged AS (
    SELECT a.u, a.eid, a.ts, a.lt, a.day, a.host, a.src, a.ltype, a.kind, a.val,
           b.days, b.n, b.since, b.settled, b.new_days, r.r0,
           (b.new_days + $prior_days * r.r0 + 1.0) / (b.settled + $prior_days + 1.0) AS p
    FROM aspect a JOIN baseline b USING (u, kind, day) JOIN population r USING (kind, day)
    WHERE a.seq = 1 AND b.days >= $min_days AND b.n >= $min_logons
), novel AS (
    SELECT * FROM judged WHERE p <= $max_probability
)
SELECT n.*,
       -- the account's values of this kind on earlier days, to show what was usual
       (SELECT histogram(a.val) FROM aspect a WHERE a.u = n.u AND a.kind = n.kind AND a.day < n.day) AS before
FROM novel n
ORDER BY n.u, n.ts, n.eid
"""


def _sorted_hist(hist: dict[Any, int] | None) -> tuple[list[Any], list[int]]:
    items = sorted((hist or {}).items(), key=lambda kv: (-kv[1], str(kv[0])))
    return [k for k, _ in items], [v for _, v in items]


# Shared infrastructure (proxies, gateways, VPN pools) is neither new nor counted in the baseline.
NEW_SOURCE_CTES = _novelty_sql("src", "src_kind", "infra IS NULL", base="pooled")
# Only logon events name the machine logged on to; NTLM validation is logged by the DC.
NEW_HOST_CTES = _novelty_sql("host", "'host'", "action = 'logon'")
NEW_TYPE_CTES = _novelty_sql("ltype", "'logon type'", "TRUE")

# kind: (singular, plural), as reasons say it
_KIND_WORDS = {
    "address": ("source address", "source addresses"),
    "workstation": ("source workstation", "source workstations"),
    "host": ("host", "hosts"),
    "logon type": ("logon type", "logon types"),
}

NOVELTY_DEFAULTS: dict[str, Any] = {
    "min_logons": 20,
    "min_days": 14,
    "learn_days": 7,
    "max_probability": 0.05,
    "prior_days": 0,
    "score_half_bits": 6.0,
    "timezone": "UTC",
    "ignore_users": IGNORE_USERS,
}


def _novelty_params(p: dict[str, Any], infra: bool = False) -> dict[str, Any]:
    return {
        **_base_params(p),
        **(_infra_params(p) if infra else {}),
        "min_logons": int(p["min_logons"]),
        "min_days": int(p["min_days"]),
        "learn_days": int(p["learn_days"]),
        "max_probability": float(p["max_probability"]),
        "prior_days": float(p["prior_days"]),
    }


def _novelty_reason(r: dict[str, Any], shown: str, learn_days: int) -> str:
    values, counts = _sorted_hist(r["before"])
    kind, kinds = _KIND_WORDS[r["kind"]]
    return (
        f"first logon of '{r['u']}' with {kind} {shown} at {r['lt']:%Y-%m-%d %H:%M}; before it, "
        f"{plural(r['n'], 'logon')} on {plural(r['days'], 'day')} since {r['since']:%Y-%m-%d} used "
        f"{plural(len(values), kind, kinds)}: {top_list(values, counts)}; after the first {learn_days} "
        f"days a new one appeared on {r['new_days']} of {plural(r['settled'], 'day')} (all accounts: "
        f"{r['r0']:.1%} of days), so the chance of one today was {r['p']:.1%}"
    )


class NewSourceOrHost(BehaviourDetector):
    """An account logs on from a source, or to a host, new to a settled history (T1078, T1021).

    Sources are compared within their kind (IP addresses with addresses, workstation names
    with names: Windows logs one or the other); local logons (loopback, the host's own name)
    have no source. Hosts come from logon events only (4624, sshd), where ``host.name`` is
    the machine logged on to. A first use is a candidate when the account has ``min_logons``
    earlier logons of that kind on ``min_days`` days, and the chance of a new value on a day,
    learned from the account's own days after its first ``learn_days`` and shrunk towards all
    accounts' rate with the weight of ``prior_days`` days (``_novelty_sql``), is at most
    ``max_probability``: an account that roams is not surprised by one more address, a steady
    one is, and a short history borrows its peers' habits. Shared infrastructure is
    neither new nor part of the baseline: an address ``shared_accounts`` accounts came from, or
    a /16 where new addresses keep appearing, ``pool_rate`` per account and day (a VPN pool),
    learned from the days before (``POOLED_CTES``). First uses of one account on
    one day form one finding; new hosts reached from known sources need ``min_new_hosts`` of
    them that day (one more file server is everyday work; several is lateral movement).
    Score is the summed surprisal ``-log2 p_new`` through
    ``saturating(bits, score_half_bits)``, so several new hosts at once (lateral movement)
    rank above one. Higher = more suspicious.
    """

    id: ClassVar[str] = "new_source_or_host"
    phrase: ClassVar[str] = "a logon from a new source"
    title: ClassVar[str] = "Logon from a new source or to a new host for the account"
    tactics: ClassVar[tuple[str, ...]] = ("TA0001", "TA0008")
    techniques: ClassVar[tuple[str, ...]] = ("T1078", "T1021")
    severity: ClassVar[str] = "low"
    defaults: ClassVar[dict[str, Any]] = {
        **NOVELTY_DEFAULTS,
        "min_new_hosts": 2,
        "prior_days": 20,
        **INFRA_DEFAULTS,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per account and day with first uses of a source or host."""
        p = self.params
        params = _novelty_params(p)
        rows = _logon_rows(con, NEW_SOURCE_CTES, _novelty_params(p, infra=True), pooled=True)
        rows += _logon_rows(con, NEW_HOST_CTES, params)
        by_day: dict[tuple[str, Any], list[dict[str, Any]]] = {}
        for r in sorted(rows, key=lambda r: (r["u"], r["ts"], r["eid"], r["kind"])):
            by_day.setdefault((r["u"], r["day"]), []).append(r)
        for (user, _), g in by_day.items():
            new_hosts = list(dict.fromkeys(r["val"] for r in g if r["kind"] == "host"))
            new_srcs = list(dict.fromkeys(r["val"] for r in g if r["kind"] != "host"))
            if not new_srcs and len(new_hosts) < int(p["min_new_hosts"]):
                continue  # one more server from a known source is everyday work
            parts = [
                f"{plural(len(new_srcs), 'new source')} ({top_list(new_srcs)})" if new_srcs else "",
                f"{plural(len(new_hosts), 'new host')} ({top_list(new_hosts)})" if new_hosts else "",
            ]
            reasons = [f"'{user}' logged on with {' and '.join(x for x in parts if x)}"]
            for r in g[:4]:
                reasons.append(_novelty_reason(r, str(r["val"]), int(p["learn_days"])))
            if len(g) > 4:
                reasons.append(f"and {plural(len(g) - 4, 'more first use')}")
            yield Finding(
                score=_surprise_score([r["p"] for r in g], float(p["score_half_bits"])),
                entities={
                    "user": user,
                    "host": new_hosts[0] if new_hosts else (g[0]["host"] or ""),
                    "source": new_srcs[0] if new_srcs else (g[0]["src"] or ""),
                },
                first_seen=g[0]["ts"],
                last_seen=g[-1]["ts"],
                event_ids=list(dict.fromkeys(r["eid"] for r in g)),
                reasons=reasons,
                # A new source reaching new hosts, or several new things at once, is how
                # lateral movement and a taken-over account look.
                severity="medium"
                if (new_hosts and new_srcs) or len(new_hosts) + len(new_srcs) >= 3
                else None,
                # a first use over the network (or RDP) is a remote service used: lateral movement's step
                techniques=["T1078", "T1021"]
                if new_hosts or any(r["ltype"] in (3, 10) for r in g)
                else ["T1078"],
                extra={"new_sources": new_srcs, "new_hosts": new_hosts},
            )


class NewLogonType(BehaviourDetector):
    """The first logon of a type an account never used: first RDP (10), first runas/PtH (9) (T1078).

    Same baseline rule as ``new_source_or_host``, over the Windows logon type
    (``winlog.logon.type``; events without one, such as sshd, are not judged). First uses
    of types 8, 9, 10 and 12 are medium severity and carry the technique they usually mean
    (T1550.002 pass-the-hash for 9, T1021.001 RDP for 10 and 12); others are low. Score:
    surprisal ``-log2 p_new`` through ``saturating(bits, score_half_bits)``; higher = more
    suspicious.
    """

    id: ClassVar[str] = "new_logon_type"
    phrase: ClassVar[str] = "a new logon type"
    title: ClassVar[str] = "First use of a logon type by the account"
    tactics: ClassVar[tuple[str, ...]] = ("TA0001", "TA0005", "TA0008")
    techniques: ClassVar[tuple[str, ...]] = ("T1078",)
    severity: ClassVar[str] = "low"
    defaults: ClassVar[dict[str, Any]] = dict(NOVELTY_DEFAULTS)

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per account and logon type used for the first time after a baseline."""
        p = self.params
        for r in _logon_rows(con, NEW_TYPE_CTES, _novelty_params(p)):
            t = int(r["val"])
            name = f"{t} ({LOGON_TYPE_NAMES.get(t, 'unknown')})"
            before = {
                f"{k} ({LOGON_TYPE_NAMES.get(int(k), 'unknown')})": v for k, v in (r["before"] or {}).items()
            }
            where = (f" on {r['host']}" if r["host"] else "") + (f" from {r['src']}" if r["src"] else "")
            sensitive = SENSITIVE_LOGON_TYPES.get(t)
            yield Finding(
                score=_surprise_score([r["p"]], float(p["score_half_bits"])),
                entities={
                    "user": r["u"],
                    "host": r["host"] or "",
                    "source": r["src"] or "",
                    "logon_type": str(t),
                },
                first_seen=r["ts"],
                last_seen=r["ts"],
                event_ids=[r["eid"]],
                reasons=[
                    f"first logon of type {name} for '{r['u']}'{where}",
                    _novelty_reason({**r, "before": before}, name, int(p["learn_days"])),
                ],
                severity="medium" if sensitive else None,
                techniques=list(sensitive) if sensitive else None,
                extra={"probability": r["p"], "logon_type": t},
            )
