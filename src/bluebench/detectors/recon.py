"""Scans and logins over the network: port scans, brute force on login services, unusual inbound access.

**Port scans** are read from connection states: probes that got no conversation (S0 unanswered,
REJ refused, a reset before any data). Per scanner and burst of probes, a *vertical* scan tries
many ports on one target, a *horizontal* scan one port on many targets. From the Internet it is
reconnaissance (TA0043, T1595); inside the network, discovery (TA0007, T1046).

**Brute force** is many short conversations from one source to a login service (SSH, RDP, SMB,
Telnet, FTP, VNC) of one target, plus Zeek's ssh.log attempts where it was logged; a login that
succeeds after them (ssh.log says so, or a session that lasted) raises it.

**Unusual inbound access** needs history (no baseline, no judgement): a service reached on one
day by many sources it never saw before, or a monitored host answering on a port it never
served on the days before.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from bluebench.detectors.base import Detector, Finding, plural, saturating, top_list
from bluebench.detectors.netsql import (
    AUTH_PORTS,
    CONNECTIONS,
    FLOWS,
    LOCAL_HOSTS,
    failed,
    note_lacking,
    port_list,
    seconds_text,
)
from bluebench.detectors.winsql import combine, severity_for, uniq
from bluebench.engines import Db

SCAN_SQL = (
    "WITH conns AS NOT MATERIALIZED ("
    + CONNECTIONS
    + "),"
    + LOCAL_HOSTS
    + f""",
probes AS (
    SELECT eid, t, ts, src, dst, dport, transport, state FROM conns
    WHERE transport IN ('tcp', 'udp') AND dport IS NOT NULL AND {failed()}
),
-- Conversations each source held on each port: a port it mostly talks on is not being swept.
answered AS (
    SELECT src, dport, count(*) AS answered FROM conns
    WHERE transport IN ('tcp', 'udp') AND dport IS NOT NULL AND NOT {failed()}
    GROUP BY src, dport
),
lagged AS (SELECT *, lag(t) OVER (PARTITION BY src ORDER BY t, eid) AS prev FROM probes),
bursts AS (
    SELECT *, sum(CASE WHEN prev IS NULL OR t - prev > $gap THEN 1 ELSE 0 END)
              OVER (PARTITION BY src ORDER BY t, eid) AS burst
    FROM lagged
),
per_target AS (
    SELECT src, burst, dst, count(DISTINCT dport) AS ports FROM bursts GROUP BY ALL
),
per_port AS (
    SELECT src, burst, dport, count(DISTINCT dst) AS targets FROM bursts GROUP BY ALL
),
-- The widest target and the widest port of each burst, each one grouping (not a lookup per burst);
-- a tie goes to the lowest address or port, so the same input always names the same one.
by_target AS (
    SELECT src, burst, max(ports) AS max_ports, first(dst ORDER BY ports DESC, dst) AS most_probed
    FROM per_target GROUP BY ALL
),
by_port AS (
    SELECT src, burst, max(targets) AS max_targets, first(dport ORDER BY targets DESC, dport) AS top_port
    FROM per_port GROUP BY ALL
),
widest AS (
    SELECT * FROM by_target JOIN by_port USING (src, burst)
    WHERE max_ports >= $min_ports OR max_targets >= $min_targets
)
SELECT b.src, b.burst, min(b.ts) AS first, max(b.ts) AS last, count(*) AS probes,
       count(DISTINCT b.dst) AS targets, count(DISTINCT b.dport) AS ports,
       histogram(b.dport) AS port_hist, list(DISTINCT b.dst ORDER BY b.dst) AS target_list, histogram(b.state) AS states,
       bool_or(b.src IN (SELECT ip FROM local_hosts)) AS src_local,
       count(DISTINCT b.dst) FILTER (WHERE b.dst IN (SELECT ip FROM local_hosts)) AS local_targets,
       count(*) FILTER (WHERE b.dst IN (SELECT ip FROM local_hosts)) AS local_probes,
       any_value(w.max_ports) AS max_ports, any_value(w.most_probed) AS most_probed,
       any_value(w.max_targets) AS max_targets, any_value(w.top_port) AS top_port,
       any_value(k.answered) AS top_port_answered, list(b.eid ORDER BY b.t, b.eid) AS eids
FROM bursts b JOIN widest w USING (src, burst)
     LEFT JOIN answered k ON k.src = b.src AND k.dport = w.top_port
GROUP BY b.src, b.burst
ORDER BY first, b.src
"""
)


def _networks(targets: list[str], limit: int = 3) -> str:
    """'10.0.2.0/24 (254), 192.168.1.0/24 (12)': where a horizontal scan went, by /24 (or /64)."""
    nets: Counter[str] = Counter()
    for t in targets:
        try:
            ip = ipaddress.ip_address(t)
        except ValueError:
            continue
        prefix = 24 if ip.version == 4 else 64
        nets[str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))] += 1
    items = sorted(nets.items(), key=lambda kv: (-kv[1], kv[0]))
    return top_list([k for k, _ in items], [v for _, v in items], limit)


def _ports(hist: Mapping[Any, int] | None, limit: int = 12) -> str:
    """Ports tried, most probed first, then by number: '22, 80, 443 and 997 more'."""
    items = sorted((hist or {}).items(), key=lambda kv: (-kv[1], kv[0]))
    return top_list([k for k, _ in items], limit=limit)


class PortScan(Detector):
    """Probes to many ports of one host, or one port of many hosts (T1595, T1046)."""

    spark_ready: ClassVar[bool] = False  # flow windows in DuckDB SQL; not translated for Spark

    id: ClassVar[str] = "port_scan"
    phrase: ClassVar[str] = "a port scan"
    title: ClassVar[str] = "Port scan"
    tactics: ClassVar[tuple[str, ...]] = ("TA0043", "TA0007")
    techniques: ClassVar[tuple[str, ...]] = ("T1595", "T1046")
    severity: ClassVar[str] = "medium"
    defaults: ClassVar[dict[str, Any]] = {
        "gap_minutes": 30.0,
        "min_ports": 15,
        "min_targets": 15,
        "score_half": 50,
        "min_port_share": 0.5,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per scanner and burst of probes wide enough to be a scan; read-only."""
        note_lacking(self, con, FLOWS, "no connection states, so no scan can be seen")
        p = self.params
        rows = self.rows(
            con,
            SCAN_SQL,
            {
                "gap": float(p["gap_minutes"]) * 60.0,
                "min_ports": int(p["min_ports"]),
                "min_targets": int(p["min_targets"]),
            },
        )
        for r in rows:
            yield self._finding(r)

    def _finding(self, r: Mapping[str, Any]) -> Finding:
        p = self.params
        vertical = r["max_ports"] >= int(p["min_ports"])
        horizontal = r["max_targets"] >= int(p["min_targets"])
        kind = (
            "vertical and horizontal" if vertical and horizontal else "vertical" if vertical else "horizontal"
        )
        # Inside when a local scanner's probes are (nearly all) to local targets: a stray outside
        # address (a resolver, an update server) in the same burst does not make it reconnaissance.
        inside = bool(r["src_local"]) and r["local_probes"] >= 0.9 * r["probes"]
        tactics, techniques = (["TA0007"], ["T1046"]) if inside else (["TA0043"], ["T1595"])
        where = (
            "inside the network"
            if inside
            else "from the Internet"
            if not r["src_local"]
            else "to the Internet"
        )
        span = duration_text(r)
        states = ", ".join(
            f"{n} {STATE_WORDS.get(s, s)} ({s})"
            for s, n in sorted(r["states"].items(), key=lambda kv: -kv[1])
        )
        reasons = [
            f"{r['src']} probed {plural(r['targets'], 'target')} on {plural(r['ports'], 'port')} "
            f"({r['probes']} probes) in {span}, {where}: a {kind} scan",
            f"ports: {_ports(r['port_hist'])}",
            f"answers: {states}",
        ]
        if vertical:
            reasons.append(f"most probed target: {r['most_probed']} on {r['max_ports']} ports")
        if horizontal or r["targets"] > 1:
            reasons.append(f"targets: {_networks(r['target_list'])}")
        breadth = max(r["max_ports"], r["max_targets"])
        score = saturating(breadth, float(p["score_half"]))
        # A scanner sweeps its port over the targets; a peer-to-peer client tries each peer on
        # the peer's own port, so its busiest port reaches only a few of the hosts it tried.
        answered = int(r["top_port_answered"] or 0)
        if horizontal and not vertical and answered > r["max_targets"]:
            factor = r["max_targets"] / (r["max_targets"] + answered)
            score *= factor
            reasons.append(
                f"{r['src']} held {answered} conversations on port {r['top_port']} besides these "
                f"{r['max_targets']} failures: its own traffic on that port, more than a sweep (score x {factor:.2f})"
            )
        share = r["max_targets"] / r["targets"] if r["targets"] else 1.0
        if horizontal and not vertical and share < float(p["min_port_share"]):
            score *= share / float(p["min_port_share"])
            reasons.append(
                f"the busiest port reached only {r['max_targets']} of the {r['targets']} targets: "
                f"peer-to-peer traffic tries each peer on its own port, a sweep keeps one "
                f"(score x {share / float(p['min_port_share']):.2f})"
            )
        return Finding(
            score=score,
            entities={
                "source": r["src"],
                "host": r["most_probed"] if r["targets"] == 1 or vertical else "",
            },
            first_seen=r["first"],
            last_seen=r["last"],
            event_ids=list(r["eids"]),
            reasons=reasons,
            severity=severity_for(score) if inside else "low" if score < 0.8 else "medium",
            techniques=techniques,
            tactics=tactics,
            extra={"targets": r["targets"], "ports": r["ports"], "kind": kind},
        )


STATE_WORDS = {
    "S0": "unanswered",
    "REJ": "refused",
    "RSTO": "reset by the scanner",
    "RSTR": "reset by the target",
    "RSTOS0": "reset by the scanner before an answer",
    "RSTRH": "reset by the target",
    "SH": "half-open",
    "SHR": "half-open",
    "OTH": "partly seen",
}


def duration_text(r: Mapping[str, Any]) -> str:
    """The span of a finding's rows (``first``, ``last``) as a person says it."""
    return seconds_text(max((r["last"] - r["first"]).total_seconds(), 0.0))


BRUTE_SQL = (
    "WITH conns AS NOT MATERIALIZED ("
    + CONNECTIONS
    + "),"
    + LOCAL_HOSTS
    + f""",
tries AS (
    SELECT eid, t, ts, src, dst, dport, dur, sent, recv, {failed()} AS unanswered FROM conns
    WHERE transport = 'tcp' AND list_contains($ports, dport) AND dur <= $max_seconds
),
logins AS (
    SELECT "event.id" AS eid, epoch_us("@timestamp") / 1e6 AS t, "@timestamp" AS ts, "source.ip" AS src,
           "destination.ip" AS dst, "destination.port" AS dport, "event.outcome" AS outcome,
           coalesce(try_cast(json_extract_string("winlog.event_data", '$.auth_attempts') AS INTEGER), 0) AS attempts
    FROM events WHERE "event.code" = 'ssh' AND "source.ip" IS NOT NULL AND "@timestamp" IS NOT NULL
),
failures AS (
    SELECT eid, t, ts, src, dst, dport, CASE WHEN unanswered THEN 'unanswered' ELSE 'conn' END AS kind, 1 AS n
    FROM tries
    WHERE NOT EXISTS (SELECT 1 FROM logins l WHERE l.src = tries.src AND l.dst = tries.dst)
    UNION ALL
    SELECT eid, t, ts, src, dst, dport, 'ssh', greatest(attempts - CASE WHEN outcome = 'success' THEN 1 ELSE 0 END, 0)
    FROM logins WHERE coalesce(outcome, '') <> 'success' OR attempts > 1
),
lagged AS (SELECT *, lag(t) OVER (PARTITION BY src, dst, dport ORDER BY t, eid) AS prev FROM failures),
bursts AS (
    SELECT *, sum(CASE WHEN prev IS NULL OR t - prev > $gap THEN 1 ELSE 0 END)
              OVER (PARTITION BY src, dst, dport ORDER BY t, eid) AS burst
    FROM lagged
),
found AS (
    SELECT src, dst, dport, burst, min(t) AS first_t, max(t) AS last_t, min(ts) AS first, max(ts) AS last,
           count(*) AS records, sum(n) AS attempts, sum(CASE WHEN kind = 'ssh' THEN n ELSE 0 END) AS ssh_attempts,
           sum(CASE WHEN kind = 'unanswered' THEN n ELSE 0 END) AS unanswered
    FROM bursts GROUP BY src, dst, dport, burst HAVING sum(n) >= $min_attempts
),
-- The event ids of the kept bursts only (probed by a hash of the burst's key; a collision lists
-- a burst the join below drops): listing every burst's ids, nearly all of them a record or two
-- that reach no threshold, cost more than the rest of the query.
kept_eids AS (
    SELECT src, dst, dport, burst, list(eid ORDER BY t, eid) AS eids FROM bursts
    WHERE hash(src, dst, dport, burst) IN (SELECT hash(src, dst, dport, burst) FROM found)
    GROUP BY src, dst, dport, burst
)
SELECT f.*, e.eids,
       (SELECT arg_min(l.eid, l.t) FROM logins l WHERE l.src = f.src AND l.dst = f.dst AND l.outcome = 'success'
          AND l.t BETWEEN f.first_t AND f.last_t + $after) AS success_eid,
       (SELECT arg_min(c.eid, c.t) FROM conns c WHERE c.src = f.src AND c.dst = f.dst AND c.dport = f.dport
          AND c.dur > $session_seconds AND coalesce(c.recv, 0) > 0
          AND c.t BETWEEN f.first_t AND f.last_t + $after) AS session_eid,
       (SELECT max(c.dur) FROM conns c WHERE c.src = f.src AND c.dst = f.dst AND c.dport = f.dport
          AND c.dur > $session_seconds AND c.t BETWEEN f.first_t AND f.last_t + $after) AS session_s,
       f.src IN (SELECT ip FROM local_hosts) AS src_local
FROM found f JOIN kept_eids e
     ON e.src = f.src AND e.dst = f.dst AND e.dport IS NOT DISTINCT FROM f.dport AND e.burst = f.burst
ORDER BY f.first_t, f.src, f.dst, f.dport
"""
)


class NetworkBruteForce(Detector):
    """Many short logins tried from one source on one login service (T1110)."""

    spark_ready: ClassVar[bool] = False  # flow windows in DuckDB SQL; not translated for Spark

    id: ClassVar[str] = "network_brute_force"
    phrase: ClassVar[str] = "brute force over the network"
    title: ClassVar[str] = "Brute force against a login service"
    tactics: ClassVar[tuple[str, ...]] = ("TA0006",)
    techniques: ClassVar[tuple[str, ...]] = ("T1110",)
    severity: ClassVar[str] = "medium"
    defaults: ClassVar[dict[str, Any]] = {
        "ports": sorted(AUTH_PORTS),
        "gap_minutes": 30.0,
        "max_seconds": 30.0,
        "min_attempts": 10,
        "score_half": 30,
        "session_seconds": 60.0,
        "within_minutes": 30.0,
    }

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per source, target and service with a burst of short logins; read-only."""
        note_lacking(
            self, con, (*FLOWS, "ssh"), "no sessions or login attempts, so no brute force can be seen"
        )
        p = self.params
        rows = self.rows(
            con,
            BRUTE_SQL,
            {
                "ports": port_list(p["ports"]),
                "gap": float(p["gap_minutes"]) * 60.0,
                "max_seconds": float(p["max_seconds"]),
                "min_attempts": int(p["min_attempts"]),
                "session_seconds": float(p["session_seconds"]),
                "after": float(p["within_minutes"]) * 60.0,
            },
        )
        for r in rows:
            yield self._finding(r)

    def _finding(self, r: Mapping[str, Any]) -> Finding:
        p = self.params
        service = AUTH_PORTS.get(int(r["dport"]), f"port {r['dport']}")
        span = duration_text(r)
        answered = r["attempts"] - r["unanswered"]
        parts = []
        if r["ssh_attempts"]:
            parts.append(f"{r['ssh_attempts']} failed SSH authentications (ssh.log)")
        if answered - r["ssh_attempts"] > 0:
            parts.append(
                f"{answered - r['ssh_attempts']} short {service} sessions (each under "
                f"{seconds_text(float(p['max_seconds']))})"
            )
        if r["unanswered"]:
            parts.append(f"{r['unanswered']} attempts the service never answered (a guessing bot knocking)")
        reasons = [f"{r['src']} -> {r['dst']}:{r['dport']} ({service}): {'; '.join(parts)} in {span}"]
        # Unanswered attempts show intent but could not guess anything: they weigh half.
        scores = [saturating(answered + 0.5 * r["unanswered"], float(p["score_half"]))]
        eids = list(r["eids"])
        if r["success_eid"]:
            scores.append(0.6)
            reasons.append("then a login succeeded (ssh.log auth_success)")
            eids.append(r["success_eid"])
        elif r["session_eid"]:
            scores.append(0.4)
            reasons.append(
                f"then a {service} session lasted {seconds_text(r['session_s'])}: a login that worked?"
            )
            eids.append(r["session_eid"])
        score = combine(scores)
        return Finding(
            score=score,
            entities={"source": r["src"], "host": r["dst"], "port": str(r["dport"])},
            first_seen=r["first"],
            last_seen=r["last"],
            event_ids=uniq(eids),
            reasons=reasons,
            severity=severity_for(score),
            techniques=["T1110"],
        )


INBOUND_SQL = (
    "WITH conns AS NOT MATERIALIZED ("
    + CONNECTIONS
    + "),"
    + LOCAL_HOSTS
    + f""",
answered AS NOT MATERIALIZED (
    SELECT eid, t, ts, CAST(ts AS DATE) AS day, src, dst AS server, dport, transport FROM conns
    WHERE dst IN (SELECT ip FROM local_hosts) AND NOT {failed()} AND coalesce(recv, 0) > 0
      AND dport IS NOT NULL
),
first_seen AS (
    SELECT server, dport, src, min(day) AS first_day FROM answered GROUP BY ALL
),
service_days AS (
    SELECT a.server, a.dport, a.day, count(DISTINCT a.src) AS sources,
           count(DISTINCT a.src) FILTER (WHERE f.first_day = a.day) AS new_sources,
           list(DISTINCT a.src) FILTER (WHERE f.first_day = a.day) AS new_list,
           min(a.ts) AS first, max(a.ts) AS last
    FROM answered a JOIN first_seen f USING (server, dport, src)
    GROUP BY a.server, a.dport, a.day
),
-- What each host and service had on the days before: counts and medians over earlier rows.
server_days AS (
    SELECT server, day, row_number() OVER (PARTITION BY server ORDER BY day) - 1 AS server_days
    FROM (SELECT server, day FROM answered GROUP BY ALL)
),
history AS (
    SELECT d.server, d.dport, d.day, s.server_days,
           row_number() OVER earlier - 1 AS port_days,
           median(d.new_sources) OVER (earlier ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS usual_new
    FROM service_days d JOIN server_days s USING (server, day)
    WINDOW earlier AS (PARTITION BY d.server, d.dport ORDER BY d.day)
),
kept AS (
    SELECT d.*, h.server_days, h.port_days, h.usual_new FROM service_days d JOIN history h USING (server, dport, day)
    WHERE h.server_days >= $min_days
      AND ((h.port_days = 0) OR (d.new_sources >= $min_new AND d.new_sources >= $factor * greatest(h.usual_new, 1)))
),
-- Evidence (the new sources' connections) for the kept service days alone: lists for every
-- service day of every host cost most of the query's time and memory and were thrown away.
evidence AS (
    SELECT a.server, a.dport, a.day, list(a.eid ORDER BY a.t, a.eid) AS eids
    FROM answered a JOIN first_seen f USING (server, dport, src)
         JOIN kept k ON k.server = a.server AND k.dport = a.dport AND k.day = a.day
    WHERE f.first_day = a.day
    GROUP BY a.server, a.dport, a.day
)
SELECT k.*, e.eids FROM kept k LEFT JOIN evidence e USING (server, dport, day)
ORDER BY k.day, k.server, k.dport
"""
)


class UnusualInbound(Detector):
    """A monitored host reached by many new sources, or answering on a port it never served (T1133)."""

    spark_ready: ClassVar[bool] = False  # flow windows in DuckDB SQL; not translated for Spark

    id: ClassVar[str] = "unusual_inbound"
    phrase: ClassVar[str] = "unusual inbound access"
    title: ClassVar[str] = "Unusual inbound access to a host"
    tactics: ClassVar[tuple[str, ...]] = ("TA0001",)
    techniques: ClassVar[tuple[str, ...]] = ("T1133",)
    severity: ClassVar[str] = "medium"
    defaults: ClassVar[dict[str, Any]] = {"min_days": 3, "min_new": 10, "factor": 5.0, "score_half": 20}

    def score(self, con: Db) -> Iterable[Finding]:
        """One finding per host, port and day against the host's earlier days; read-only."""
        note_lacking(self, con, FLOWS, "no answered connections, so no new service can be seen")
        p = self.params
        rows = self.rows(
            con,
            INBOUND_SQL,
            {"min_days": int(p["min_days"]), "min_new": int(p["min_new"]), "factor": float(p["factor"])},
        )
        for r in rows:
            new_port = r["port_days"] == 0
            if new_port:
                score = combine([0.5, saturating(r["sources"], float(p["score_half"])) * 0.5])
                reasons = [
                    f"{r['server']} answered on port {r['dport']} on {r['day']}, a port it never served in its "
                    f"{r['server_days']} earlier days; {plural(r['sources'], 'source')} reached it"
                ]
            else:
                score = saturating(r["new_sources"], float(p["score_half"]))
                reasons = [
                    f"{r['server']}:{r['dport']} was reached by {plural(r['new_sources'], 'new source')} on "
                    f"{r['day']}, against {r['usual_new'] or 0:g} new a day before ({r['port_days']} days seen)"
                ]
            reasons.append(f"new sources: {top_list(sorted(r['new_list'] or []), limit=5)}")
            eids = uniq(r["eids"])
            if not eids:
                continue
            yield Finding(
                score=score,
                entities={"host": r["server"], "port": str(r["dport"]), "source": (r["new_list"] or [""])[0]},
                first_seen=r["first"],
                last_seen=r["last"],
                event_ids=eids,
                reasons=reasons,
                severity=severity_for(score),
                techniques=["T1133"],
            )
