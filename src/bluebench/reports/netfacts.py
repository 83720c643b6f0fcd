"""Network facts: connections stored, network alerts per 1,000 connections, stored DNS name model evaluations.

Sources (resolved by ``reports.facts.FactResolver`` under the ``network`` prefix):

==================================================  ==========================================
``network/connections``                             connection events (Zeek conn records, Argus flows)
``network/detectors``                               detectors whose alerts cite network events
``network/detector/D/alerts``                       D's alerts that cite network events
``network/detector/D/per_1000``                     those alerts per 1,000 stored connections
``network/dns/ID/tests/T/M``                        a stored DNS name model test ``T``
                                                    (``cross_tool_dns2tcp_to_dnscapy``, ``author``):
                                                    ``M`` in recall, fpr, precision, accuracy,
                                                    recomputed from the stored counts
``network/dns/ID/trained/T/tunnel|plain``           names the test's model was trained on
``network/dns/ID/author/M``                         the data author's own ``metrics.txt`` figure
==================================================  ==========================================

Fact keys name a DNS evaluation by its data folder (``network/dns_eval/netrack_learn_dns_tunnel/...``),
the latest stored for that folder, so keys stay the same when ``network dns-eval --store`` runs again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from bluebench.network.store import stored_dns_evaluations
from bluebench.stats import Rate

TEST_METRICS = ("recall", "fpr", "precision", "accuracy")
CONNECTIONS_SQL = """SELECT count(*) FROM events WHERE "event.action" = 'connection'"""
#: Alerts per detector that cite at least one network event (Zeek or Argus records).
NETWORK_ALERTS_SQL = """SELECT a.detector, count(DISTINCT a.id) FROM alerts a
    JOIN alert_events ae ON ae.alert_id = a.id JOIN events e ON e."event.id" = ae.event_id
    WHERE e."event.category" = 'network' GROUP BY 1 ORDER BY 1"""


def slug(name: str) -> str:
    """'cross_tool/dns2tcp_to_dnscapy' -> 'cross_tool_dns2tcp_to_dnscapy': one path segment."""
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", name.lower())).strip("_")


def connections(con: duckdb.DuckDBPyConnection) -> int:
    """Connection events stored: the denominator of alerts per 1,000 connections."""
    return int(con.execute(CONNECTIONS_SQL).fetchall()[0][0])


def network_alerts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Detector -> its alerts that cite network events."""
    return {str(d): int(n) for d, n in con.execute(NETWORK_ALERTS_SQL).fetchall()}


def _rate(counts: dict[str, int], metric: str) -> Rate:
    tp, fn, fp, tn = (int(counts[k]) for k in ("tp", "fn", "fp", "tn"))
    return {
        "recall": Rate(tp, tp + fn),
        "fpr": Rate(fp, fp + tn),
        "precision": Rate(tp, tp + fp),
        "accuracy": Rate(tp + tn, tp + fn + fp + tn),
    }[metric]


def node(con: duckdb.DuckDBPyConnection, parts: list[str]) -> tuple[Any, str]:
    """The value a ``network/...`` source names (a Rate is recomputed from counts), and its unit."""
    if parts == ["connections"]:
        return connections(con), "connection"
    if parts == ["detectors"]:
        return len(network_alerts(con)), "detector"
    if len(parts) == 3 and parts[0] == "detector" and parts[2] in ("alerts", "per_1000"):
        n = network_alerts(con)[parts[1]]
        if parts[2] == "alerts":
            return n, "alert"
        total = connections(con)
        if not total:
            raise KeyError("no connections stored")
        return 1000.0 * n / total, "alert per 1,000 connections"
    if len(parts) < 4 or parts[0] != "dns":
        raise KeyError("/".join(parts))
    ev = stored_dns_evaluations(con)[parts[1]]
    rest = parts[2:]
    if rest[0] == "tests" and len(rest) == 3 and rest[2] in TEST_METRICS:
        test = next(v for k, v in ev["tests"].items() if slug(k) == rest[1])
        rate = _rate(test["counts"], rest[2])
        return {"k": rate.k, "n": rate.n}, str(ev.get("unit", "query name"))
    if rest[0] == "trained" and len(rest) == 3 and rest[2] in ("tunnel", "plain"):
        trained = next(v for k, v in ev["trained"].items() if slug(k) == rest[1])
        return int(trained[rest[2]]), "query name"
    if rest[0] == "author" and len(rest) == 2:
        return float(ev["author_metrics"][rest[1]]), ""
    raise KeyError("/".join(parts))


def latest_dns(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, dict[str, Any]]]:
    """Data folder name -> (id, result) of the latest stored DNS evaluation on it."""
    latest: dict[str, tuple[str, dict[str, Any]]] = {}
    for eid, ev in stored_dns_evaluations(con).items():  # oldest first: the last one per folder wins
        latest[slug(Path(str(ev.get("data", ""))).name) or "dns"] = (eid, ev)
    return latest


def identifiers(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Names a report may show in code for the stored DNS evaluations: data folders and test names."""
    out: set[str] = set()
    for ev in stored_dns_evaluations(con).values():
        data = str(ev.get("data", ""))
        out |= {data, Path(data).name, *ev.get("tests", {})}
    return out


def sources(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[str, str]]:
    """(fact key, source) of every network number the workspace holds."""
    if connections(con):
        yield "network/connections", "network/connections"
    alerted = network_alerts(con)
    if alerted:
        yield "network/detectors", "network/detectors"
    for det in alerted:
        if "/" not in det:
            for what in ("alerts", "per_1000"):
                yield f"network/detector/{det}/{what}", f"network/detector/{det}/{what}"
    for name, (eid, ev) in sorted(latest_dns(con).items()):
        key, src = f"network/dns_eval/{name}", f"network/dns/{eid}"
        for test in ev.get("tests", {}):
            for metric in TEST_METRICS:
                yield f"{key}/tests/{slug(test)}/{metric}", f"{src}/tests/{slug(test)}/{metric}"
        for test in ev.get("trained", {}):
            for what in ("tunnel", "plain"):
                yield f"{key}/trained/{slug(test)}/{what}", f"{src}/trained/{slug(test)}/{what}"
        for metric in ev.get("author_metrics", {}):
            yield f"{key}/author/{metric}", f"{src}/author/{metric}"
