"""Exfiltration over the network: volume out of proportion, and attempts that will not stop.

Per monitored host and outside destination, over the sessions the host started:

* **volume**: bytes sent far above what came back (an upload, not a download), far above the
  host's own usual volume to a destination (a robust z of log-bytes against its other
  destinations), on a port no standard service uses, to a destination no other host talks to;
* **attempts**: many connection attempts to one destination, refused or unanswered, kept up
  (malware retrying its drop server).

Cloud backups and telemetry uploads are exfiltration-shaped too: they rank by the same numbers,
stay below the threshold unless large, and users may allow-list them (``allow``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from bluebench.detectors.base import Detector, Finding, saturating
from bluebench.detectors.c2 import STANDARD_PORTS
from bluebench.detectors.netsql import (
    CHUNK_ROWS,
    CONNECTION_COUNT_SQL,
    DESTINATION_HOSTS_SQL,
    FLOWS,
    bytes_text,
    destination_hosts,
    evidence_rows,
    in_pass,
    in_passes,
    note_lacking,
    outbound_sessions,
    pair_hosts_sql,
    pair_sums,
    port_list,
    seconds_text,
    two_way_discount,
    with_evidence,
)
from bluebench.detectors.winsql import combine, severity_for
from bluebench.engines import Db


def _outbound(evidence: bool) -> str:
    """CTEs up to ``outbound``: the sessions a monitored host started to an outside destination."""
    return (
        "WITH "
        + outbound_sessions(evidence)
        + f""",
outbound AS (
    SELECT src AS host, dst AS peer, dport, t, t_end, coalesce(sent, 0) AS out_b, coalesce(recv, 0) AS in_b,
           failed{", eids" if evidence else ""}
    FROM sessions
    WHERE transport IN ('tcp', 'udp') AND src IN (SELECT ip FROM local_hosts)
      AND dst NOT IN (SELECT ip FROM local_hosts)
      AND NOT EXISTS (SELECT 1 FROM unnest($allow) AS a(x) WHERE dst = x)
)"""
    )


RETRIES = """,
-- One grouping of the sessions, by destination port; the pairs are its sums (same figures).
retries AS (
    SELECT host, peer, dport, count(*) AS tries, sum(CASE WHEN failed THEN 1 ELSE 0 END) AS fails,
           max(t_end) - min(t) AS span, sum(out_b) AS out_b, sum(in_b) AS in_b, min(t) AS first_t,
           max(t_end) AS last_t
    FROM outbound GROUP BY host, peer, dport
),"""


def _retries_from(pairs: str) -> str:
    """CTE ``retries`` of this pass's sources from a run's sums per outbound pair (:func:`netsql.pair_sums`).

    The same figures as grouping the sessions (sums of sums, the least first and the greatest
    last), without reading every connection again in each pass. The pairs are outbound already.
    """
    return f"""WITH retries AS (
    SELECT src AS host, dst AS peer, dport, sum(n) AS tries, sum(fails) AS fails,
           max(last_t) - min(first_t) AS span, sum(sent) AS out_b, sum(recv) AS in_b,
           min(first_t) AS first_t, max(last_t) AS last_t
    FROM {pairs}
    WHERE transport IN ('tcp', 'udp') AND {in_pass("src")}
      AND NOT EXISTS (SELECT 1 FROM unnest($allow) AS a(x) WHERE dst = x)
    GROUP BY src, dst, dport
),"""


SCORING = """
pairs AS (
    SELECT host, peer, sum(tries) AS n, sum(out_b) AS out_b, sum(in_b) AS in_b, sum(fails) AS fails,
           list(dport ORDER BY dport) AS ports, min(first_t) AS first_t, max(last_t) AS last_t
    FROM retries GROUP BY host, peer
),
base AS (
    SELECT host, count(*) AS peers, median(log10(out_b + 1)) AS med, mad(log10(out_b + 1)) AS spread
    FROM pairs GROUP BY host
),
-- Retries: one port of one destination, refused or unanswered, kept up for a while (a scan
-- tries many ports in seconds; malware retries its server for minutes).
most_retried AS (
    SELECT host, peer, arg_max(dport, fails) AS retry_port, max(fails) AS retry_fails,
           arg_max(tries, fails) AS retry_tries, arg_max(span, fails) AS retry_span
    FROM retries WHERE fails >= $min_attempts AND fails >= 0.8 * tries AND span >= $min_retry_seconds
    GROUP BY host, peer
)
SELECT p.*, to_timestamp(first_t)::TIMESTAMP AS first, to_timestamp(last_t)::TIMESTAMP AS last,
       b.peers, b.med, b.spread,
       m.retry_port, coalesce(m.retry_fails, 0) AS retry_fails, m.retry_tries, m.retry_span
FROM pairs p JOIN base b USING (host) LEFT JOIN most_retried m USING (host, peer)
WHERE (p.out_b >= $min_bytes AND p.out_b >= $min_ratio * p.in_b)
   OR (p.out_b >= $min_bytes AND b.peers >= $min_peers
       AND log10(p.out_b + 1) >= b.med + $min_z * greatest(1.4826 * b.spread, 0.1))
   OR m.retry_fails IS NOT NULL
ORDER BY first_t, p.host, p.peer
"""
EXFIL_SQL = _outbound(evidence=False) + RETRIES + SCORING

# The event ids of every (host, destination) of the sources in ``$hosts``.
EXFIL_EVIDENCE_SQL = (
    _outbound(evidence=True)
    + """
SELECT host, peer, flatten(list(eids ORDER BY t)) AS eids FROM outbound GROUP BY host, peer
"""
)


class Exfiltration(Detector):
    """A host sending far more than it gets back, or retrying one destination without end (T1041, T1048)."""

    spark_ready: ClassVar[bool] = False  # flow windows in DuckDB SQL; not translated for Spark
    merges_sessions: ClassVar[bool] = True  # reads a run's merged sessions (netsql.shared_sessions)

    id: ClassVar[str] = "exfiltration"
    phrase: ClassVar[str] = "exfiltration"
    title: ClassVar[str] = "Exfiltration to one destination"
    tactics: ClassVar[tuple[str, ...]] = ("TA0010",)
    techniques: ClassVar[tuple[str, ...]] = ("T1041", "T1048")
    severity: ClassVar[str] = "high"
    defaults: ClassVar[dict[str, Any]] = {
        "merge_gap_seconds": 30.0,
        "min_bytes": 10_000_000,
        "bytes_half": 50_000_000,
        "min_ratio": 10.0,
        "min_peers": 5,
        "min_z": 3.0,
        "min_attempts": 20,
        "min_retry_minutes": 2.0,
        "attempts_half": 50,
        "min_hosts_for_rarity": 5,
        "two_way_bytes": 1_000_000,
        "standard_ports": list(STANDARD_PORTS),
        "allow": [],
        "chunk_rows": CHUNK_ROWS,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per (host, destination) that sent out of proportion or kept retrying; read-only."""
        note_lacking(self, con, FLOWS, "no byte counts, so no volume can be judged")
        p = self.params
        allow = [str(a).lower() for a in p["allow"]]
        gap = float(p["merge_gap_seconds"])
        counted = pair_hosts_sql(con, gap, tcp_udp=True) or DESTINATION_HOSTS_SQL
        hosts, all_hosts = destination_hosts(lambda sql, q: self.rows(con, sql, q), allow, counted)
        params = {
            "merge_gap": float(p["merge_gap_seconds"]),
            "min_bytes": float(p["min_bytes"]),
            "min_ratio": float(p["min_ratio"]),
            "min_peers": int(p["min_peers"]),
            "min_z": float(p["min_z"]),
            "min_attempts": int(p["min_attempts"]),
            "min_retry_seconds": float(p["min_retry_minutes"]) * 60.0,
            "allow": allow,
        }
        pairs = pair_sums(con, gap)
        sql = _retries_from(pairs) + SCORING if pairs else EXFIL_SQL
        # Over the run's sums a pass holds pairs, not connections: as many passes as those need.
        counted_rows = f"SELECT count(*) AS n FROM {pairs}" if pairs else CONNECTION_COUNT_SQL
        order = ("first_t", "host", "peer")
        rows = in_passes(con, self.rows, sql, params, int(p["chunk_rows"]), order, counted_rows)
        for r in rows:
            r["hosts"], r["all_hosts"] = hosts.get(str(r["peer"]), 1), all_hosts
        standard = set(port_list(p["standard_ports"]))
        key = ("host", "peer")
        yield from with_evidence(
            [(r, self._finding(r, standard)) for r in rows],
            self.reaches,
            lambda hosts: evidence_rows(
                lambda sql, q: self.rows(con, sql, q), EXFIL_EVIDENCE_SQL, params, hosts, key
            ),
            key,
        )

    def _finding(self, r: Mapping[str, Any], standard: set[int]) -> Finding:
        p = self.params
        scores: list[float] = []
        reasons: list[str] = []
        ports = ", ".join(str(x) for x in r["ports"][:5])
        span = seconds_text(r["last_t"] - r["first_t"])
        ratio, z = r["out_b"] / max(r["in_b"], 1), self._baseline_z(r)
        lopsided = r["out_b"] >= float(p["min_ratio"]) * r["in_b"]
        unusual = z is not None and z >= float(p["min_z"])
        if r["out_b"] >= float(p["min_bytes"]) and (lopsided or unusual):
            # The volume drives the score; why it stands out (against what came back, against the
            # host's other destinations) is said, not counted twice.
            scores.append(0.35 + 0.5 * saturating(r["out_b"], float(p["bytes_half"])))
            reasons.append(
                f"{r['host']} sent {bytes_text(r['out_b'])} to {r['peer']} (port {ports}) in {r['n']} sessions "
                f"over {span} and received {bytes_text(r['in_b'])}"
            )
            if lopsided:
                reasons.append(f"{ratio:,.0f} times more went out than came back: an upload, not a download")
            if unusual:
                reasons.append(
                    f"{z:.1f} robust deviations above this host's usual volume to one destination "
                    f"({bytes_text(10 ** r['med'])}, median of {r['peers']} destinations)"
                )
        if r["retry_fails"]:
            scores.append(0.7 * saturating(r["retry_fails"], float(p["attempts_half"])))
            reasons.append(
                f"{r['host']} tried {r['peer']}:{r['retry_port']} {r['retry_tries']} times in "
                f"{seconds_text(r['retry_span'])}; {r['retry_fails']} attempts were refused or unanswered, "
                "and it kept trying"
            )
        odd = [x for x in r["ports"] if x is not None and int(x) not in standard]
        if odd:
            scores.append(0.3)
            reasons.append(f"port {', '.join(str(x) for x in odd[:5])} is not a standard service port")
        if r["all_hosts"] >= p["min_hosts_for_rarity"] and r["hosts"] == 1:
            scores.append(0.3)
            reasons.append(f"no other of the {r['all_hosts']} hosts talks to {r['peer']}")
        score = two_way_discount(combine(scores), r["out_b"], r["in_b"], float(p["two_way_bytes"]), reasons)
        return Finding(
            score=score,
            entities={
                "host": r["host"],
                "source": r["host"],
                "destination": str(r["peer"]),
                "port": str(r["ports"][0]) if len(r["ports"]) == 1 else "",
            },
            first_seen=r["first"],
            last_seen=r["last"],
            event_ids=[],
            reasons=reasons,
            severity=severity_for(score),
            # Over its C2 channel (T1041) or another protocol (T1048): flows alone cannot tell.
            techniques=list(self.techniques),
        )

    def _baseline_z(self, r: Mapping[str, Any]) -> float | None:
        """How far this destination's log-volume lies above the host's median, in robust deviations."""
        if r["peers"] < int(self.params["min_peers"]) or r["med"] is None:
            return None
        spread = max(1.4826 * float(r["spread"] or 0.0), 0.1)
        return (math.log10(r["out_b"] + 1) - float(r["med"])) / spread
