"""Group alerts into incidents: shared entities within a time window, and attack progressions.

Two rules link alerts; an incident is a connected component of the links.

* **Same entity.** Per entity value (a user, a source address, a host), alerts sorted by
  start time form chains while the gap between the chain's latest end and the next
  alert's start stays within ``window_minutes``. Every alert joins its chain.
* **Progression.** Per entity value, an alert joins the most recent earlier alert of each
  *lower* ATT&CK stage (credential access before initial access before lateral movement,
  see :data:`STAGE_OF_TACTIC`) within ``progression_window_minutes``. Spraying from an
  address, a success from that address, then admin shares by the account that got in
  become one incident.

Values that name nobody (``ignore_values``) never link, and shared infrastructure (a host
seen with many users, or an asset marked ``hub``) is listed but does not link, so one
domain controller does not merge a day's alerts.

An incident needs an alert that may open one: its calibrated confidence (the measured share
of that detector's alerts at that score that were real, ``detectors.calibration``) is at
least ``open_min_confidence``, or it was never measured. Alerts of detectors whose
precision stays low are contributing signals: they join an incident another alert opened,
and alone they stay stored alerts, held back from the queue and counted in the report. Both rules are window functions in
DuckDB over (entity, time)-sorted rows and the components come from scipy's sparse
connected components: near-linear, no Python per alert.

An incident's id hashes its anchor alert (earliest by first_seen, then id), so re-running
grouping over the same alerts gives the same ids and stored verdicts keep their incident.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from bluebench.attack import N_STAGES, STAGE_OF_TACTIC
from bluebench.detectors import DETECTORS
from bluebench.incidents.config import ENTITY_KINDS, AssetList, GroupingParams, load_grouping_params
from bluebench.incidents.store import ensure_schema
from bluebench.schema import SEVERITIES

# Steps whose place is best said by where they came from, and those by where they landed.
_FROM_SOURCE = {"password_spray", "credential_stuffing", "user_enumeration", "brute_force"}


@dataclass(frozen=True)
class GroupingReport:
    """What grouping did: alerts in, incidents out (the noise an analyst was spared)."""

    alerts_in: int
    incidents_out: int
    multi_alert_incidents: int
    largest_incident: int
    seconds: float
    #: Alerts that opened no incident: only low-confidence signals, with nothing to join.
    held_back: int = 0

    @property
    def reduction(self) -> float | None:
        """Alerts per incident; None when there are no incidents."""
        return self.alerts_in / self.incidents_out if self.incidents_out else None

    def text(self) -> str:
        held = (
            f" ({self.held_back:,} low-confidence alerts held back: they open no incident alone)"
            if self.held_back
            else ""
        )
        return f"{self.alerts_in:,} alerts -> {self.incidents_out:,} incidents{held}"

    def to_json(self) -> dict[str, Any]:
        return {
            "alerts_in": self.alerts_in,
            "incidents_out": self.incidents_out,
            "multi_alert_incidents": self.multi_alert_incidents,
            "largest_incident": self.largest_incident,
            "alerts_per_incident": self.reduction,
            "held_back": self.held_back,
            "seconds": self.seconds,
        }


def incident_id(anchor_alert_id: str) -> str:
    """Stable incident id from its anchor alert; changing the recipe orphans stored verdicts."""
    return "inc-" + hashlib.sha256(anchor_alert_id.encode("utf-8")).hexdigest()[:16]


_STAGE_SQL = (
    "coalesce(list_max(list_transform(tactics, lambda t: CASE t "
    + " ".join(f"WHEN '{t}' THEN {s}" for t, s in STAGE_OF_TACTIC.items())
    + " ELSE 0 END)), 0)"
)
_SEV_SQL = "CASE severity " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SEVERITIES)) + " END"
_ENTITY_PATHS: dict[str, tuple[str, ...]] = {
    "user": ("$.user",),
    "host": ("$.host",),
    "source.ip": ('$."source.ip"', "$.source"),
}


def _entity_sql() -> str:
    parts = []
    for kind in ENTITY_KINDS:
        paths = ", ".join(f"json_extract_string(entities, '{p}')" for p in _ENTITY_PATHS[kind])
        expr = f"coalesce({paths})" if len(_ENTITY_PATHS[kind]) > 1 else paths
        parts.append(
            f"SELECT idx, '{kind}' AS kind, {expr} AS value, first_seen, last_seen, stage FROM _bb_a"
        )
    return " UNION ALL ".join(parts)


def _drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    for t in ("_bb_a", "_bb_e", "_bb_l", "_bb_c", "_bb_inc"):
        con.execute(f"DROP TABLE IF EXISTS {t}")


def _components(con: duckdb.DuckDBPyConnection, n: int, p: GroupingParams) -> np.ndarray[Any, Any]:
    """Component label per alert index, from chain membership and progression edges."""
    window = p.window_minutes * 60.0
    chains = con.execute(
        """SELECT idx, dense_rank() OVER (ORDER BY kind, key, chain) - 1 AS node FROM (
             SELECT idx, kind, key,
                    sum(brk) OVER (PARTITION BY kind, key ORDER BY first_seen, idx
                                   ROWS UNBOUNDED PRECEDING) AS chain
             FROM (SELECT idx, kind, key, first_seen,
                          CASE WHEN epoch(first_seen) > max(epoch(last_seen)) OVER (
                                   PARTITION BY kind, key ORDER BY first_seen, idx
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + ?
                               THEN 1 ELSE 0 END AS brk
                   FROM _bb_l))""",
        [window],
    ).fetchnumpy()
    a_idx = np.asarray(chains["idx"], dtype=np.int64)
    c_node = np.asarray(chains["node"], dtype=np.int64) + n
    n_nodes = n + (int(c_node.max()) - n + 1 if len(c_node) else 0)

    cols = ", ".join(
        f"last_value(CASE WHEN stage = {s} THEN idx END IGNORE NULLS) OVER w AS p{s}_i, "
        f"last_value(CASE WHEN stage = {s} THEN epoch(last_seen) END IGNORE NULLS) OVER w AS p{s}_t"
        for s in range(N_STAGES - 1)
    )
    edges = " UNION ALL ".join(
        f"SELECT idx AS a, p{s}_i AS b FROM prev WHERE stage > {s} AND p{s}_i IS NOT NULL "
        f"AND f <= p{s}_t + $prog"
        for s in range(N_STAGES - 1)
    )
    prog = con.execute(
        f"""WITH prev AS (
              SELECT idx, stage, epoch(first_seen) AS f, {cols} FROM _bb_l
              WINDOW w AS (PARTITION BY kind, key ORDER BY first_seen, idx
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))
            {edges}""",
        {"prog": p.progression_window_minutes * 60.0},
    ).fetchnumpy()
    pa_ = np.asarray(prog["a"], dtype=np.int64)
    pb_ = np.asarray(prog["b"], dtype=np.int64)

    rows = np.concatenate([a_idx, pa_])
    cols_ = np.concatenate([c_node, pb_])
    size = max(n_nodes, n)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols_)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    out: np.ndarray[Any, Any] = labels[:n]
    return out


def _title(steps: list[dict[str, Any]]) -> str:
    """'Password spraying from 203.0.113.7 then admin shares on 3 hosts' from the ordered steps."""

    def phrase(s: dict[str, Any]) -> str:
        cls = DETECTORS.get(s["detector"]) if s["detector"] in DETECTORS else None
        if cls is not None and not cls.rule_driven:  # a Sigma alert is named by its rule's title
            return cls.phrase
        title = str(s["title"])
        return title[:1].lower() + title[1:]

    def where(s: dict[str, Any], first: bool) -> str:
        if first and s["detector"] in _FROM_SOURCE:
            order = [("source", "from", "sources"), ("user", "against", "users"), ("host", "on", "hosts")]
        elif first:
            order = [("user", "by", "users"), ("host", "on", "hosts"), ("source", "from", "sources")]
        else:
            order = [("host", "on", "hosts"), ("user", "by", "users"), ("source", "from", "sources")]
        for kind, prep, many in order:
            n, v = s[f"n_{kind}"], s[kind]
            if n == 1:
                return f" {prep} {v}"
            if n > 1:
                return f" {prep} {n} {many}"
        return ""

    head = steps[0]
    text = phrase(head)
    text = text[:1].upper() + text[1:] + where(head, True)
    if len(steps) > 1:
        last = steps[-1]
        text += " then " + phrase(last) + where(last, False)
        if len(steps) > 2:
            text += f" ({len(steps)} steps)"
    return text


def group_alerts(
    con: duckdb.DuckDBPyConnection,
    params: GroupingParams | None = None,
    assets: AssetList | None = None,
) -> GroupingReport:
    """Replace the workspace's incidents with a fresh grouping of its alerts, in one transaction."""
    started = time.perf_counter()
    p = params or load_grouping_params()
    assets = assets or AssetList()
    ensure_schema(con)
    _drop_temp(con)
    try:
        con.execute(
            f"""CREATE TEMP TABLE _bb_a AS
                SELECT row_number() OVER (ORDER BY first_seen, id) - 1 AS idx, id, detector, title,
                       severity, {_SEV_SQL} AS sev, score, tactics, techniques, entities,
                       first_seen, last_seen, event_count, {_STAGE_SQL} AS stage, confidence AS conf
                FROM alerts"""
        )
        n = int(con.execute("SELECT count(*) FROM _bb_a").fetchall()[0][0])
        con.execute(
            f"""CREATE TEMP TABLE _bb_e AS
                SELECT idx, kind, trim(value) AS value, lower(trim(value)) AS key, first_seen, last_seen, stage
                FROM ({_entity_sql()})
                WHERE value IS NOT NULL AND NOT list_contains(?, lower(trim(value)))""",
            [[v.strip().lower() for v in p.ignore_values]],
        )
        hubs = pa.table(
            {
                "kind": pa.array([k for k, _ in assets.hubs()], pa.string()),
                "key": pa.array([v for _, v in assets.hubs()], pa.string()),
            }
        )
        con.register("_bb_asset_hubs", hubs)
        try:
            con.execute(
                """CREATE TEMP TABLE _bb_l AS
                   WITH hub AS (
                     SELECT e.kind, e.key FROM _bb_e e
                     LEFT JOIN _bb_e u ON u.idx = e.idx AND u.kind = 'user'
                     WHERE list_contains($hub_kinds, e.kind)
                     GROUP BY e.kind, e.key HAVING count(DISTINCT u.key) >= $hub_min
                     UNION SELECT kind, key FROM _bb_asset_hubs)
                   SELECT e.* FROM _bb_e e
                   WHERE list_contains($link_on, e.kind)
                     AND NOT EXISTS (SELECT 1 FROM hub h WHERE h.kind = e.kind AND h.key = e.key)""",
                {"hub_kinds": list(p.hub_kinds), "hub_min": p.hub_min_users, "link_on": list(p.link_on)},
            )
        finally:
            con.unregister("_bb_asset_hubs")
        labels = _components(con, n, p) if n else np.zeros(0, dtype=np.int64)
        con.register("_bb_comp", pa.table({"idx": np.arange(n, dtype=np.int64), "comp": labels}))
        try:
            con.execute(
                "CREATE TEMP TABLE _bb_c AS SELECT a.*, c.comp FROM _bb_a a JOIN _bb_comp c USING (idx)"
            )
        finally:
            con.unregister("_bb_comp")
        held_back = _hold_back(con, p.open_min_confidence)
        _build(con, p, assets)
        _store(con)
        n_inc, multi, largest = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE alert_count > 1), coalesce(max(alert_count), 0) FROM _bb_inc"
        ).fetchall()[0]
    finally:
        _drop_temp(con)
    return GroupingReport(
        alerts_in=n,
        incidents_out=int(n_inc),
        multi_alert_incidents=int(multi),
        largest_incident=int(largest),
        seconds=time.perf_counter() - started,
        held_back=held_back,
    )


def _hold_back(con: duckdb.DuckDBPyConnection, open_min: float) -> int:
    """Drop from ``_bb_c`` the components with no alert that may open an incident; how many alerts."""
    opening = "bool_or(conf IS NULL OR conf >= ?)"
    n = int(
        con.execute(
            f"SELECT count(*) FROM _bb_c WHERE comp IN (SELECT comp FROM _bb_c GROUP BY comp HAVING NOT {opening})",
            [open_min],
        ).fetchall()[0][0]
    )
    if n:
        con.execute(
            f"DELETE FROM _bb_c WHERE comp IN (SELECT comp FROM _bb_c GROUP BY comp HAVING NOT {opening})",
            [open_min],
        )
    return n


def _titles(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """(comp, title) per incident, from its steps: one row per detector in order of first alert."""
    rows = con.execute(
        """SELECT c.comp, c.detector, min(c.idx) AS first, any_value(c.title) AS title,
                  count(DISTINCT e.key) FILTER (WHERE e.kind = 'host') AS n_host,
                  min(e.value) FILTER (WHERE e.kind = 'host') AS host,
                  count(DISTINCT e.key) FILTER (WHERE e.kind = 'user') AS n_user,
                  min(e.value) FILTER (WHERE e.kind = 'user') AS user,
                  count(DISTINCT e.key) FILTER (WHERE e.kind = 'source.ip') AS n_source,
                  min(e.value) FILTER (WHERE e.kind = 'source.ip') AS source
           FROM _bb_c c LEFT JOIN _bb_e e ON e.idx = c.idx
           GROUP BY c.comp, c.detector ORDER BY c.comp, first"""
    ).fetchall()
    comps: list[int] = []
    titles: list[str] = []
    i = 0
    keys = ("comp", "detector", "first", "title", "n_host", "host", "n_user", "user", "n_source", "source")
    while i < len(rows):
        j = i
        while j < len(rows) and rows[j][0] == rows[i][0]:
            j += 1
        comps.append(int(rows[i][0]))
        titles.append(_title([dict(zip(keys, r, strict=True)) for r in rows[i:j]]))
        i = j
    return pa.table({"comp": pa.array(comps, pa.int64()), "title": pa.array(titles, pa.string())})


def _risk_sql(weights: dict[str, float]) -> tuple[str, dict[str, float]]:
    """SQL for each risk part (weight x factor 0..1) over the per-incident aggregate columns."""
    factors = {
        "severity": f"sev / {len(SEVERITIES) - 1}.0",
        "max_score": "max_score",
        "techniques": "least(greatest(len(techniques) - 1, 0), 4) / 4.0",
        "tactics": "least(greatest(len(tactics) - 1, 0), 3) / 3.0",
        "alerts": "least(log2(greatest(alert_count, 1)), 5.0) / 5.0",
        "criticality": "crit",
        "confidence": "coalesce(max_conf, 0.0)",
    }
    params = {f"w_{k}": float(weights.get(k, 0.0)) for k in factors}
    parts = {k: f"round($w_{k} * ({f}), 2)" for k, f in factors.items()}
    return ", ".join(f"{v} AS p_{k}" for k, v in parts.items()), params


def _build(con: duckdb.DuckDBPyConnection, p: GroupingParams, assets: AssetList) -> None:
    """The incidents as a temp table ``_bb_inc``: every stored column, computed in SQL."""
    crit = pa.table(
        {
            "kind": pa.array([k for k, _ in assets.assets], pa.string()),
            "key": pa.array([v for _, v in assets.assets], pa.string()),
            "crit": pa.array([a.criticality for a in assets.assets.values()], pa.float64()),
        }
    )
    parts_sql, params = _risk_sql(p.risk_weights)
    part_names = ("severity", "max_score", "techniques", "tactics", "alerts", "criticality", "confidence")
    con.register("_bb_crit", crit)
    con.register("_bb_titles", _titles(con))
    try:
        con.execute(
            f"""CREATE TEMP TABLE _bb_inc AS
            WITH agg AS (
              SELECT comp, arg_min(id, idx) AS anchor, max(sev) AS sev, max(score) AS max_score,
                     max(conf) AS max_conf,
                     min(first_seen) AS first_seen, max(last_seen) AS last_seen,
                     list_sort(list_distinct(flatten(list(techniques)))) AS techniques,
                     list_sort(list_distinct(flatten(list(tactics)))) AS tactics,
                     list_sort(list_distinct(list(detector))) AS detectors,
                     count(*)::INTEGER AS alert_count, sum(event_count) AS event_sum
              FROM _bb_c GROUP BY comp),
            ev AS (
              SELECT c.comp, count(DISTINCT l.event_id) AS n FROM _bb_c c
              JOIN alert_events l ON l.alert_id = c.id GROUP BY c.comp),
            ent AS (
              SELECT comp, kind, list(value ORDER BY value) AS vals FROM (
                SELECT c.comp, e.kind, e.key, min(e.value) AS value
                FROM _bb_c c JOIN _bb_e e ON e.idx = c.idx GROUP BY c.comp, e.kind, e.key)
              GROUP BY comp, kind),
            ents AS (
              SELECT comp,
                     json_object({", ".join(f"'{k}', coalesce(list(vals) FILTER (WHERE kind = '{k}')[1], [])" for k in ENTITY_KINDS)}) AS entities
              FROM ent GROUP BY comp),
            cr AS (
              SELECT c.comp, max(k.crit) AS crit FROM _bb_c c
              JOIN _bb_e e ON e.idx = c.idx JOIN _bb_crit k ON k.kind = e.kind AND k.key = e.key
              GROUP BY c.comp),
            scored AS (
              SELECT agg.*, coalesce(cr.crit, 0.0) AS crit, coalesce(ev.n, 0) AS ev_n,
                     coalesce(ents.entities, json_object({", ".join(f"'{k}', []" for k in ENTITY_KINDS)})) AS entities
              FROM agg LEFT JOIN ev USING (comp) LEFT JOIN cr USING (comp) LEFT JOIN ents USING (comp)),
            parts AS (SELECT *, {parts_sql} FROM scored)
            SELECT parts.comp,
                   'inc-' || left(sha256(anchor), 16) AS id,
                   t.title,
                   round(least({" + ".join(f"p_{k}" for k in part_names)}, 100.0), 2) AS risk,
                   json_object({", ".join(f"'{k}', p_{k}" for k in part_names)}) AS risk_parts,
                   CASE sev {" ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(SEVERITIES))} END AS severity,
                   first_seen, last_seen, entities, techniques, tactics, detectors, alert_count,
                   (CASE WHEN ev_n > 0 THEN ev_n ELSE coalesce(event_sum, 0) END)::INTEGER AS event_count
            FROM parts JOIN _bb_titles t USING (comp)""",
            params,
        )
    finally:
        con.unregister("_bb_crit")
        con.unregister("_bb_titles")


def _store(con: duckdb.DuckDBPyConnection) -> None:
    """Replace both incident tables from ``_bb_inc`` in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM incident_alerts")
        con.execute("DELETE FROM incidents")
        con.execute(
            """INSERT INTO incidents SELECT id, title, risk, risk_parts, severity, first_seen,
                      last_seen, entities, techniques, tactics, detectors, alert_count, event_count
               FROM _bb_inc"""
        )
        con.execute(
            """INSERT INTO incident_alerts
               SELECT i.id, c.id FROM _bb_c c JOIN _bb_inc i USING (comp) ORDER BY c.idx"""
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
