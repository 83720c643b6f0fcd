"""Command and control over the network: beaconing and long connections (RITA's two C2 signs).

**Beaconing.** Malware calls home on a timer. Per source host and destination (the server name
or HTTP host where Zeek logged one, else the address, and the port), connection attempts are
counted once per session and their start times compared: a beacon's gaps between starts have
a small robust dispersion (median absolute deviation against the median gap) and no skew
(Bowley's quartile skewness), its request sizes repeat, and it keeps going through the host's
whole observed time. Ordinary periodic services (time sync, update checks, certificate status,
telemetry) look the same, so the shape alone only *ranks*: what raises a beacon is what
separates it from them, each a named reason with its number: a port no standard service uses,
every attempt refused or unanswered, a TLS session without a server name or with a self-signed
certificate, HTTP without a User-Agent or with an odd one, a destination no other host talks to.
A destination many hosts use lowers it. Users keep their own allow list (``allow``).

**Long connections.** A session open for hours, summed over the records Zeek cut it into.
Duration alone is common (push channels, SSH, VPN) and scores below the default threshold;
a non-standard port, a missing TLS name or a rare destination raises it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from bluebench.detectors.base import Detector, Finding, plural, saturating
from bluebench.detectors.netsql import (
    CHUNK_ROWS,
    CONNECTIONS,
    DESTINATION_HOSTS_SQL,
    FLOWS,
    LOCAL_HOSTS,
    RunTables,
    bytes_text,
    destination_hosts,
    evidence_rows,
    in_pass,
    in_passes,
    note_lacking,
    outbound_sessions,
    pair_hosts_sql,
    port_list,
    seconds_text,
    session_tables,
    two_way_discount,
    with_evidence,
)
from bluebench.detectors.winsql import combine, severity_for
from bluebench.engines import Db

# Ports of services that are expected to be contacted periodically or for long.
# Ports of IANA-registered services that clients poll or hold open: mail, web, DNS, time, VPN,
# messaging and push (XMPP 5222, Apple 5223, Google 5228, MQTT 1883/8883), STUN/TURN.
STANDARD_PORTS = (
    20, 21, 22, 25, 53, 80, 110, 123, 143, 389, 443, 465, 500, 587, 636, 853, 993, 995, 1194, 1883,
    3478, 4500, 5222, 5223, 5228, 5349, 8080, 8443, 8883,
)  # fmt: skip
KEYED = """
keyed AS (
    SELECT *, coalesce(name, dst) AS target FROM attempts
    WHERE src IN (SELECT ip FROM local_hosts) AND dst NOT IN (SELECT ip FROM local_hosts)
      AND NOT EXISTS (SELECT 1 FROM unnest($allow) AS a(x)
                      WHERE coalesce(name, dst) = x OR ends_with(coalesce(name, ''), '.' || x) OR dst = x)
)"""
# Whether any ssl or http record was read (else beaconing and long connections skip the join).
NAMES_READ_SQL = """SELECT count(*) > 0 AS read FROM (SELECT 1 FROM events WHERE "event.code" IN ('ssl', 'http') LIMIT 1)"""
# What Zeek names the TLS and HTTP records of one connection, with what makes them odd.
NAMES_WITH_EIDS = """
named AS (
    SELECT "zeek.session_id" AS uid, min(epoch_us("@timestamp")) / 1e6 AS t,
           any_value("source.ip") AS src, any_value("destination.ip") AS dst,
           any_value("destination.port") AS dport,
           lower(min(coalesce("tls.server_name", "url.domain"))) AS name,
           bool_or("event.code" = 'ssl') AS tls, bool_or("event.code" = 'http') AS http,
           bool_or("event.code" = 'ssl') AND bool_and("event.code" <> 'ssl' OR "tls.server_name" IS NULL) AS no_sni,
           bool_or(json_extract_string("winlog.event_data", '$.validation_status') LIKE '%self signed%') AS self_signed,
           bool_or("event.code" = 'http' AND "user_agent.original" IS NULL) AS no_ua,
           bool_or(regexp_matches("user_agent.original", $odd_ua)) AS odd_ua,
           min("user_agent.original") AS ua, list("event.id" ORDER BY "event.id") AS name_eids
    FROM events
    WHERE "event.code" IN ('ssl', 'http') AND "zeek.session_id" IS NOT NULL AND "@timestamp" IS NOT NULL
    GROUP BY 1
)"""
NAMES = NAMES_WITH_EIDS.replace(', list("event.id" ORDER BY "event.id") AS name_eids', "")
# A User-Agent too short to name a client, or a browser retired long before the traffic (MSIE 1-6).
ODD_USER_AGENT = r"^.{0,9}$|MSIE [1-6]\."


# The TLS and HTTP columns of an attempt when the workspace holds no ssl or http record: the
# same columns, without joining every session to an empty table.
NO_NAMES = """NULL::VARCHAR AS name, NULL::BOOLEAN AS tls, NULL::BOOLEAN AS http, NULL::BOOLEAN AS no_sni,
           NULL::BOOLEAN AS self_signed, NULL::BOOLEAN AS no_ua, NULL::BOOLEAN AS odd_ua, NULL::VARCHAR AS ua"""


def _beacon_attempts(evidence: bool, names: bool = True, table: RunTables | None = None) -> str:
    """CTEs up to ``keyed``: every outbound attempt with its target (name or address); see BEACON_SQL.

    Without ``names`` (no ssl or http record was read) the attempts are the sessions alone;
    ``table`` is the run's pair of session tables (:func:`session_tables`), if any.
    """
    if not names:
        attempts = f"""
attempts AS (
    SELECT src, dst, dport, t, t_end, sent, recv, failed, service, {"eids, " if evidence else ""}{NO_NAMES}
    FROM sessions
)"""
        return "WITH " + outbound_sessions(evidence, table) + "," + attempts + "," + KEYED
    s_eids, n_eids = (
        ("list_concat(s.eids, coalesce(n.name_eids, [])) AS eids, ", "n.name_eids, ")
        if evidence
        else ("", "")
    )
    return (
        "WITH "
        + outbound_sessions(evidence, table)
        + ","
        + (NAMES_WITH_EIDS if evidence else NAMES)
        + f""",
attempts AS (
    SELECT s.src, s.dst, s.dport, s.t, s.t_end, s.sent, s.recv, s.failed, s.service,
           {s_eids}n.name, n.tls, n.http, n.no_sni, n.self_signed, n.no_ua, n.odd_ua, n.ua
    FROM sessions s LEFT JOIN named n USING (uid)
    UNION ALL
    SELECT n.src, n.dst, n.dport, n.t, n.t, NULL, NULL, false, NULL, {n_eids}n.name, n.tls, n.http,
           n.no_sni, n.self_signed, n.no_ua, n.odd_ua, n.ua
    FROM named n
    WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e."event.action" = 'connection' AND e."zeek.session_id" = n.uid)
      AND {"list_contains($hosts, n.src)" if evidence else in_pass("n.src")}
),"""
        + KEYED
    )


CANDIDATES = """,
spans AS (SELECT src, min(t) AS t0, greatest(max(t_end) - min(t), 1) AS span FROM keyed GROUP BY src),
-- Only pairs seen often enough reach the window and the quantiles (the costly part). They are
-- probed by a hash of the pair: a table of integers to look up, where a join on the pair itself
-- built its table of every attempt with all its columns. A collision only lets a rare pair into
-- the window, and the HAVING below drops it: the findings are exact.
frequent AS (SELECT hash(src, target, dport) AS h FROM keyed GROUP BY ALL HAVING count(*) >= $min_attempts),
gaps AS (
    SELECT k.*, t - lag(t) OVER (PARTITION BY k.src, k.target, k.dport ORDER BY t) AS d,
           floor((t - s.t0) / (s.span / $bins)) AS bin
    FROM keyed k JOIN spans s USING (src)
    WHERE hash(k.src, k.target, k.dport) IN (SELECT h FROM frequent)
),
candidates AS (
SELECT g.src, g.target, g.dport, count(*) AS n, min(t) AS first_t, max(t_end) AS last_t,
       to_timestamp(min(t))::TIMESTAMP AS first, to_timestamp(max(t_end))::TIMESTAMP AS last,
       quantile_cont(d, [0.25, 0.5, 0.75]) AS dq, mad(d) AS d_mad,
       quantile_cont(sent, [0.25, 0.5, 0.75]) AS sq, mad(sent) AS s_mad, median(recv) AS recv_median,
       count(DISTINCT bin) AS bins_hit, sum(CASE WHEN failed THEN 1 ELSE 0 END) AS failed,
       list(DISTINCT dst ORDER BY dst) AS dsts, min(service) AS service,
       bool_or(tls) AS tls, bool_or(http) AS http, sum(CASE WHEN no_sni THEN 1 ELSE 0 END) AS no_sni,
       sum(CASE WHEN tls THEN 1 ELSE 0 END) AS tls_n,
       bool_or(self_signed) AS self_signed, sum(CASE WHEN no_ua THEN 1 ELSE 0 END) AS no_ua,
       bool_or(odd_ua) AS odd_ua, min(ua) FILTER (WHERE odd_ua) AS an_odd_ua
FROM gaps g
GROUP BY g.src, g.target, g.dport
HAVING count(*) >= $min_attempts
)
SELECT *, sum(CASE WHEN list_contains($standard, dport) THEN 0 ELSE 1 END) OVER (PARTITION BY src) AS odd_port_pairs
FROM candidates
ORDER BY first_t, src, target, dport
"""
# The event ids of every (source, target, port) of the sources in ``$hosts``: the same attempts.
EVIDENCE = """
SELECT src, target, dport, flatten(list(eids ORDER BY t)) AS eids FROM keyed
GROUP BY src, target, dport HAVING count(*) >= $min_attempts
"""
#: Beaconing's candidates and their evidence, with (True) and without (False) ssl/http records.
BEACON_SQL = {names: _beacon_attempts(False, names) + CANDIDATES for names in (True, False)}
BEACON_EVIDENCE_SQL = {names: _beacon_attempts(True, names) + EVIDENCE for names in (True, False)}


# Hosts per beacon target (server name or address) over every pass: rarity is about all hosts.
TARGET_HOSTS_SQL = (
    "WITH conns AS NOT MATERIALIZED ("
    + CONNECTIONS
    + "),"
    + NAMES
    + ","
    + LOCAL_HOSTS
    + """,
pairs AS (
    SELECT DISTINCT c.src, c.dst, n.name FROM conns c LEFT JOIN named n USING (uid)
    WHERE c.src IN (SELECT ip FROM local_hosts) AND c.dst NOT IN (SELECT ip FROM local_hosts)
    UNION
    SELECT DISTINCT n.src, n.dst, n.name FROM named n
    WHERE n.src IN (SELECT ip FROM local_hosts) AND n.dst NOT IN (SELECT ip FROM local_hosts)
      AND NOT EXISTS (SELECT 1 FROM events e WHERE e."event.action" = 'connection' AND e."zeek.session_id" = n.uid)
),
kept AS (
    SELECT src, coalesce(name, dst) AS target FROM pairs
    WHERE NOT EXISTS (SELECT 1 FROM unnest($allow) AS a(x)
                      WHERE coalesce(name, dst) = x OR ends_with(coalesce(name, ''), '.' || x) OR dst = x)
)
SELECT target AS dst, count(DISTINCT src) AS hosts, (SELECT count(DISTINCT src) FROM kept) AS all_hosts
FROM kept GROUP BY target
"""
)


def bowley(q: list[float] | None) -> float:
    """Quartile skewness (q3 + q1 - 2 q2) / (q3 - q1): 0 for a symmetric spread, +-1 at most."""
    if not q or q[2] == q[0]:
        return 0.0
    return (q[2] + q[0] - 2 * q[1]) / (q[2] - q[0])


def regularity(q: list[float] | None, mad: float | None) -> float | None:
    """RITA's two scores averaged: 1 - |skew| and 1 - MAD/median (a constant series scores 1).

    Skew is weighed by how wide the middle half is against a tenth of the median: when the
    quartiles lie milliseconds apart, their order says nothing about the rhythm.
    """
    if not q or mad is None:
        return None
    median = q[1]
    if median <= 0:
        dispersion, weight = (0.0 if mad == 0 else 1.0), 1.0
    else:
        dispersion, weight = min(mad / median, 1.0), min((q[2] - q[0]) / (0.1 * median), 1.0)
    return ((1.0 - weight * abs(bowley(q))) + (1.0 - dispersion)) / 2.0


class Beaconing(Detector):
    """Connections to one destination at regular times and sizes: malware calling home (T1071)."""

    spark_ready: ClassVar[bool] = False  # flow windows in DuckDB SQL; not translated for Spark
    merges_sessions: ClassVar[bool] = True  # reads a run's merged sessions (netsql.shared_sessions)

    id: ClassVar[str] = "beaconing"
    phrase: ClassVar[str] = "beaconing"
    title: ClassVar[str] = "Beaconing to one destination"
    tactics: ClassVar[tuple[str, ...]] = ("TA0011",)
    techniques: ClassVar[tuple[str, ...]] = ("T1071",)
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "merge_gap_seconds": 30.0,
        "min_attempts": 12,
        "bins": 24,
        "count_half": 24,
        "standard_ports": list(STANDARD_PORTS),
        "allow": [],
        "min_hosts_for_rarity": 5,
        "max_peers": 5,
        "chunk_rows": CHUNK_ROWS,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per (source, destination, port) whose attempt times repeat; read-only."""
        note_lacking(
            self,
            con,
            FLOWS,
            "sizes, refusals and sessions are unknown; timing is read from ssl/http records alone",
        )
        p = self.params
        names = bool(self.rows(con, NAMES_READ_SQL)[0]["read"])
        params = self.query_params(names)
        # Without names a target is the address, and the run's pairs say who talks to it.
        counted = None if names else pair_hosts_sql(con, float(p["merge_gap_seconds"]), tcp_udp=False)
        sql, extra = (counted, {}) if counted else (TARGET_HOSTS_SQL, {"odd_ua": ODD_USER_AGENT})
        hosts, all_hosts = destination_hosts(lambda q, b: self.rows(con, q, b), params["allow"], sql, extra)
        table = session_tables(con, float(p["merge_gap_seconds"]))
        rows = in_passes(
            con,
            self.rows,
            _beacon_attempts(False, names, table) + CANDIDATES if table else BEACON_SQL[names],
            params,
            int(p["chunk_rows"]),
            ("first_t", "src", "target", "dport"),
        )
        for r in rows:
            r["hosts"], r["all_hosts"] = hosts.get(str(r["target"]), 1), all_hosts
        standard = set(port_list(p["standard_ports"]))
        found = [(r, f) for r in rows if (f := self._finding(r, standard)) is not None]
        yield from with_evidence(
            found,
            self.reaches,
            lambda hosts: evidence_rows(
                lambda sql, q: self.rows(con, sql, q),
                BEACON_EVIDENCE_SQL[names],
                params,
                hosts,
                ("src", "target", "dport"),
            ),
            ("src", "target", "dport"),
        )

    def query_params(self, names: bool) -> dict[str, Any]:
        """The values the candidate and evidence queries bind (``names``: ssl or http records were read)."""
        p = self.params
        return {
            "merge_gap": float(p["merge_gap_seconds"]),
            "min_attempts": int(p["min_attempts"]),
            "bins": int(p["bins"]),
            "allow": [str(a).lower() for a in p["allow"]],
            "standard": port_list(p["standard_ports"]),
            **({"odd_ua": ODD_USER_AGENT} if names else {}),
        }

    def _finding(self, r: Mapping[str, Any], standard: set[int]) -> Finding | None:
        ts_score = regularity(r["dq"], r["d_mad"])
        if ts_score is None:
            return None
        size_score = regularity(r["sq"], r["s_mad"])
        coverage = min(r["bins_hit"] / float(self.params["bins"]), 1.0)
        count_score = saturating(r["n"], float(self.params["count_half"]))
        # Timing is what makes a beacon: the rest (coverage, count, sizes) can only halve it.
        parts = [(0.5, coverage), (0.25, count_score)]
        if size_score is not None:
            parts.append((0.25, size_score))
        rest = sum(w * s for w, s in parts) / sum(w for w, _ in parts)
        shape = ts_score * (0.5 + 0.5 * rest)
        signals, reasons = self._signals(r, standard)
        score = shape * (0.4 + 0.6 * combine(signals))
        if r["all_hosts"] >= self.params["min_hosts_for_rarity"] and r["hosts"] / r["all_hosts"] >= 0.5:
            score *= 0.5
            reasons.append(
                f"{r['hosts']} of {r['all_hosts']} hosts talk to {r['target']}: a shared service (score halved)"
            )
        if r["odd_port_pairs"] > self.params["max_peers"]:
            score *= 0.5
            reasons.append(
                f"{r['src']} repeats connections to {r['odd_port_pairs']} destinations on non-standard ports: "
                "peer-to-peer software keeps many peers this way, a C2 channel few (score halved)"
            )
        period, jitter = r["dq"][1], r["d_mad"]
        where = str(r["target"]) + ("" if r["dport"] is None else f":{r['dport']}")
        if r["target"] not in r["dsts"]:
            where += f" (at {', '.join(str(d) for d in r['dsts'][:3])})"
        lead = (
            f"{r['src']} connected to {where} {r['n']} times in {seconds_text(r['last_t'] - r['first_t'])}, "
            f"every {seconds_text(period)} (median gap) with a jitter of {seconds_text(jitter)} "
            f"(median absolute deviation), skew {bowley(r['dq']):+.2f}; "
            f"present in {r['bins_hit']} of {self.params['bins']} slices of the host's observed time"
        )
        sizes = (
            f"sizes: {bytes_text(r['sq'][1])} sent (deviation {bytes_text(r['s_mad'])}), "
            f"{bytes_text(r['recv_median'])} received per session"
            if r["sq"]
            else "sizes unknown: no conn.log record for these sessions"
        )
        techniques = ["T1071.001"] if r["http"] else ["T1071"]
        if r["dport"] is not None and int(r["dport"]) not in standard:
            techniques.append("T1571")
        return Finding(
            score=min(score, 1.0),
            entities={
                "host": r["src"],
                "source": r["src"],
                "destination": str(r["target"]),
                "port": "" if r["dport"] is None else str(r["dport"]),
            },
            first_seen=r["first"],
            last_seen=r["last"],
            event_ids=[],
            reasons=[
                lead,
                sizes,
                f"beacon shape {shape:.2f} (timing {ts_score:.2f}, coverage {coverage:.2f}, count "
                f"{count_score:.2f}{'' if size_score is None else f', sizes {size_score:.2f}'})",
                *reasons,
            ],
            severity=severity_for(score),
            techniques=techniques,
            extra={"period": period, "jitter": jitter},
        )

    def _signals(self, r: Mapping[str, Any], standard: set[int]) -> tuple[list[float], list[str]]:
        """What separates a beacon from an ordinary periodic service, each with its reason."""
        signals: list[float] = []
        reasons: list[str] = []

        def add(weight: float, reason: str) -> None:
            signals.append(weight)
            reasons.append(reason)

        if r["dport"] is not None and int(r["dport"]) not in standard:
            add(0.5, f"port {r['dport']} is not a standard service port")
        if r["failed"] >= 0.8 * r["n"]:
            add(0.4, f"{r['failed']} of {r['n']} attempts were refused or unanswered, yet they kept coming")
        if r["tls_n"] and r["no_sni"] == r["tls_n"]:
            add(0.3, f"none of its {plural(r['tls_n'], 'TLS session')} named a server")
        if r["self_signed"]:
            add(0.5, "the server's certificate is self-signed")
        if r["http"] and r["no_ua"]:
            add(0.3, f"{plural(r['no_ua'], 'HTTP request')} without a User-Agent")
        if r["odd_ua"]:
            add(0.4, f"an odd User-Agent: {str(r['an_odd_ua'])[:80]!r}")
        if r["all_hosts"] >= self.params["min_hosts_for_rarity"] and r["hosts"] == 1:
            add(0.4, f"no other of the {r['all_hosts']} hosts talks to {r['target']}")
        return signals, reasons


def _long_stretches(evidence: bool, names: bool = True, table: RunTables | None = None) -> str:
    """CTEs up to ``stretches``: outbound sessions numbered by the stretch of being connected.

    Without ``names`` (no ssl or http record was read) the sessions are not joined to them;
    ``table`` is the run's pair of session tables (:func:`session_tables`), if any.
    """
    named = NAMED_SESSIONS if names else NO_NAMED_SESSIONS
    return "WITH " + outbound_sessions(evidence, table) + "," + named + STRETCHES


NAMED_SESSIONS = """
names AS (
    SELECT "zeek.session_id" AS uid, lower(min(coalesce("tls.server_name", "url.domain"))) AS name,
           bool_or("event.code" = 'ssl') AS tls,
           bool_or("event.code" = 'ssl') AND bool_and("event.code" <> 'ssl' OR "tls.server_name" IS NULL) AS no_sni,
           bool_or(json_extract_string("winlog.event_data", '$.validation_status') LIKE '%self signed%') AS self_signed
    FROM events WHERE "event.code" IN ('ssl', 'http') AND "zeek.session_id" IS NOT NULL GROUP BY 1
),
outbound AS (
    SELECT s.*, n.name, n.tls, n.no_sni, n.self_signed FROM sessions s LEFT JOIN names n USING (uid)
    WHERE s.transport IN ('tcp', 'udp') AND s.src IN (SELECT ip FROM local_hosts)
      AND s.dst NOT IN (SELECT ip FROM local_hosts)
)"""
NO_NAMED_SESSIONS = """
outbound AS (
    SELECT *, NULL::VARCHAR AS name, NULL::BOOLEAN AS tls, NULL::BOOLEAN AS no_sni, NULL::BOOLEAN AS self_signed
    FROM sessions
    WHERE transport IN ('tcp', 'udp') AND src IN (SELECT ip FROM local_hosts)
      AND dst NOT IN (SELECT ip FROM local_hosts)
)"""
STRETCHES = """,
-- Only pairs that could stay connected for $min_seconds reach the windows (the costly part).
-- Cut time into slices of half that: a stretch so long covers a whole slice with its sessions,
-- each stretched by the gap. A session shorter than a slice covers at most its own slice and
-- the next, so a pair whose sessions never add up to a slice over two neighbouring slices,
-- and that has no session of a slice's length, cannot hold one (NTP every 17 min, an update
-- check every hour): an exact test, not a sample.
slices AS (
    SELECT src, dst, dport, floor(t / $slice) AS k, sum(least(dur, $slice) + $merge_gap) AS cover,
           max(dur) AS longest
    FROM outbound GROUP BY ALL
),
may_last AS (
    SELECT DISTINCT a.src, a.dst, a.dport FROM slices a
    LEFT JOIN slices b ON b.src = a.src AND b.dst = a.dst AND b.dport IS NOT DISTINCT FROM a.dport AND b.k = a.k - 1
    WHERE a.longest + $merge_gap >= $slice OR a.cover + coalesce(b.cover, 0) >= $slice
),
-- Sessions of one pair that overlap or follow within the gap are one stretch of being connected:
-- a channel that reconnects at once is still open.
reach AS (
    SELECT o.*, max(t_end) OVER (PARTITION BY o.src, o.dst, o.dport ORDER BY t, t_end
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
    FROM outbound o SEMI JOIN may_last m
         ON o.src = m.src AND o.dst = m.dst AND o.dport IS NOT DISTINCT FROM m.dport
),
stretches AS (
    SELECT *, sum(CASE WHEN reach IS NULL OR t > reach + $merge_gap THEN 1 ELSE 0 END)
              OVER (PARTITION BY src, dst, dport ORDER BY t, t_end ROWS UNBOUNDED PRECEDING) AS run
    FROM reach
)"""


RUNS = """,
runs AS (
    SELECT src, dst, dport, run, max(t_end) - min(t) AS open_s, min(t) AS first_t, max(t_end) AS last_t,
           count(*) AS n, sum(frags) AS frags, max(dur) AS longest, sum(sent) AS sent, sum(recv) AS recv,
           min(service) AS service, min(name) AS name, bool_or(tls) AS tls,
           coalesce(bool_and(no_sni) FILTER (WHERE tls), false) AS no_sni, bool_or(self_signed) AS self_signed
    FROM stretches GROUP BY src, dst, dport, run
    HAVING max(t_end) - min(t) >= $min_seconds
)
SELECT r.*, to_timestamp(first_t)::TIMESTAMP AS first, to_timestamp(last_t)::TIMESTAMP AS last
FROM runs r
WHERE NOT EXISTS (SELECT 1 FROM unnest($allow) AS a(x)
                  WHERE r.dst = x OR r.name = x OR ends_with(coalesce(r.name, ''), '.' || x))
ORDER BY first_t, r.src, r.dst, r.dport
"""
# The event ids of every stretch of the sources in ``$hosts`` (a stretch is a fact about one pair).
RUN_EVIDENCE = """
SELECT src, dst, dport, run, flatten(list(eids ORDER BY t)) AS eids FROM stretches
GROUP BY src, dst, dport, run HAVING max(t_end) - min(t) >= $min_seconds
"""
#: Long connections and their evidence, with (True) and without (False) ssl/http records.
LONG_SQL = {names: _long_stretches(False, names) + RUNS for names in (True, False)}
LONG_EVIDENCE_SQL = {names: _long_stretches(True, names) + RUN_EVIDENCE for names in (True, False)}


class LongConnection(Detector):
    """Sessions open for hours to one destination: a C2 channel kept open (T1571, T1573)."""

    spark_ready: ClassVar[bool] = False  # flow windows in DuckDB SQL; not translated for Spark
    merges_sessions: ClassVar[bool] = True  # reads a run's merged sessions (netsql.shared_sessions)

    id: ClassVar[str] = "long_connection"
    phrase: ClassVar[str] = "a long connection"
    title: ClassVar[str] = "Long connection to one destination"
    tactics: ClassVar[tuple[str, ...]] = ("TA0011",)
    techniques: ClassVar[tuple[str, ...]] = ("T1571", "T1573")
    severity: ClassVar[str] = "medium"
    defaults: ClassVar[dict[str, Any]] = {
        "merge_gap_seconds": 120.0,
        "min_hours": 1.0,
        "hours_half": 1.0,
        "duration_weight": 0.45,
        "two_way_bytes": 1_000_000,
        "standard_ports": list(STANDARD_PORTS),
        "allow": [],
        "min_hosts_for_rarity": 5,
        "chunk_rows": CHUNK_ROWS,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per (source, destination, port) open at least ``min_hours``; read-only."""
        note_lacking(self, con, FLOWS, "no session durations, so no long connection can be seen")
        p = self.params
        counted = pair_hosts_sql(con, float(p["merge_gap_seconds"]), tcp_udp=True) or DESTINATION_HOSTS_SQL
        hosts, all_hosts = destination_hosts(lambda sql, q: self.rows(con, sql, q), [], counted)
        params = {
            "merge_gap": float(p["merge_gap_seconds"]),
            "min_seconds": float(p["min_hours"]) * 3600.0,
            "slice": max(float(p["min_hours"]) * 1800.0, 1.0),
            "allow": [str(a).lower() for a in p["allow"]],
        }
        names = bool(self.rows(con, NAMES_READ_SQL)[0]["read"])
        table = session_tables(con, float(p["merge_gap_seconds"]))
        sql = _long_stretches(False, names, table) + RUNS if table else LONG_SQL[names]
        rows = in_passes(
            con, self.rows, sql, params, int(p["chunk_rows"]), ("first_t", "src", "dst", "dport")
        )
        for r in rows:
            r["hosts"], r["all_hosts"] = hosts.get(str(r["dst"]), 1), all_hosts
        standard = set(port_list(p["standard_ports"]))
        key = ("src", "dst", "dport", "run")
        yield from with_evidence(
            [(r, self._finding(r, standard)) for r in rows],
            self.reaches,
            lambda hosts: evidence_rows(
                lambda sql, q: self.rows(con, sql, q), LONG_EVIDENCE_SQL[names], params, hosts, key
            ),
            key,
        )

    def _finding(self, r: Mapping[str, Any], standard: set[int]) -> Finding:
        p = self.params
        hours = r["open_s"] / 3600.0
        duration_score = float(p["duration_weight"]) * (1.0 - math.pow(0.5, hours / float(p["hours_half"])))
        scores = [duration_score]
        target = f"{r['dst']}:{r['dport']}" + (f" ({r['name']})" if r["name"] else "")
        reasons = [
            f"{r['src']} kept {target} open for {hours:.1f} h without a break over "
            f"{seconds_text(float(p['merge_gap_seconds']))} ({plural(r['n'], 'session')} in {r['frags']} records, "
            f"the longest {seconds_text(r['longest'])}); "
            f"{bytes_text(r['sent'])} sent, {bytes_text(r['recv'])} received"
        ]
        techniques = ["T1573"] if r["service"] == "ssl" else []
        if r["dport"] is not None and int(r["dport"]) not in standard:
            scores.append(0.5)
            reasons.append(f"port {r['dport']} is not a standard service port")
            techniques.insert(0, "T1571")
        if r["service"] is None and (r["sent"] or 0) + (r["recv"] or 0) > 0:
            reasons.append("Zeek recognised no protocol in the data it carried")
        if r["tls"] and r["no_sni"]:
            scores.append(0.3)
            reasons.append("TLS without a server name")
        if r["self_signed"]:
            scores.append(0.4)
            reasons.append("the server's certificate is self-signed")
        if r["all_hosts"] >= p["min_hosts_for_rarity"] and r["hosts"] == 1:
            scores.append(0.3)
            reasons.append(f"no other of the {r['all_hosts']} hosts talks to {r['dst']}")
        if len(scores) == 1:
            reasons.append("a long session alone is common (push channels, SSH, VPN): nothing else is odd")
        score = two_way_discount(
            combine(scores), r["sent"] or 0, r["recv"] or 0, float(p["two_way_bytes"]), reasons
        )
        return Finding(
            score=score,
            entities={
                "host": r["src"],
                "source": r["src"],
                "destination": str(r["dst"]),
                "port": str(r["dport"]),
            },
            first_seen=r["first"],
            last_seen=r["last"],
            event_ids=[],
            reasons=reasons,
            severity=severity_for(score),
            techniques=techniques or ["T1571" if int(r["dport"] or 0) not in standard else "T1573"],
        )
