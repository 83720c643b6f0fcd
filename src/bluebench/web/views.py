"""What each page shows, gathered from the stages; the routes in ``web.routes`` only render it.

Read-only with respect to the workspace (DuckDB is opened read-only by the app); every
decision a person makes goes to the review store. Values from the request reach SQL only as
bound parameters.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from bluebench.alerts.store import load_alerts
from bluebench.detectors import DETECTORS, load_config
from bluebench.evaluation.metrics import Measure
from bluebench.evaluation.tune import choose_threshold, event_span, verdict_measure
from bluebench.incidents import Incident, incident_count, load_incident, load_incidents
from bluebench.review import ReviewStore
from bluebench.schema import Alert

STATUSES = ("open", "closed", "all")
TIMELINE_EVENTS = 500  # events listed on an incident page; the rest are counted


def attack_url(technique: str) -> str:
    """T1110.003 -> https://attack.mitre.org/techniques/T1110/003/ (technique ids only)."""
    base, _, sub = technique.partition(".")
    if not (base.startswith("T") and base[1:].isdigit() and (not sub or sub.isdigit())):
        return ""
    return f"https://attack.mitre.org/techniques/{base}/" + (f"{sub}/" if sub else "")


# ------------------------------------------------------------------ queue


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters as the user set them (every field may be empty)."""

    status: str = "open"
    detector: str = ""
    technique: str = ""
    entity: str = ""
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class QueueRow:
    """One incident with its review state."""

    incident: Incident
    status: str
    verdict: str | None
    assignee: str | None


@dataclass
class QueuePage:
    """One page of the ranked queue, with the counts that frame it."""

    rows: list[QueueRow]
    total: int  # incidents matching every filter
    page: int
    pages: int
    page_size: int
    by_status: dict[str, int]  # incidents matching the other filters, by status
    alerts: int  # alerts in the workspace
    incidents: int  # incidents in the workspace
    detectors: list[str]


def queue_page(
    con: duckdb.DuckDBPyConnection, store: ReviewStore, f: QueueFilters, page: int, page_size: int
) -> QueuePage:
    """The open (or chosen) incidents ranked by risk, one page of them, and counts by status.

    The review status lives in the review store, so it reaches ``load_incidents`` as data:
    a predicate that sees every incident the other filters keep, in rank order, counts them
    by status and keeps only the chosen status's incidents that fall on the page asked for.
    So a page costs the same whichever page it is: only its own incidents are built.
    """
    states = store.states()

    def run(page: int) -> tuple[list[Incident], Counter[str]]:
        by_status: Counter[str] = Counter()
        first, last = (page - 1) * page_size, page * page_size
        seen = 0

        def keep(incident_id: str) -> bool:
            nonlocal seen
            st = states.get(incident_id)
            status = st.status if st else "open"
            by_status[status] += 1
            if f.status not in ("all", status):
                return False
            seen += 1
            return first < seen <= last

        found = load_incidents(
            con,
            status_filter=keep,
            detector=f.detector or None,
            technique=f.technique or None,
            entity=f.entity or None,
            since=f.since,
            until=f.until,
        )
        return found, by_status

    found, by_status = run(page)
    total = sum(by_status.values()) if f.status == "all" else by_status.get(f.status, 0)
    pages = max(1, -(-total // page_size))
    if page > pages:  # asked past the end: the last page instead
        page = pages
        found, by_status = run(page)
    rows = []
    for inc in found:
        st = states.get(inc.id)
        rows.append(
            QueueRow(
                inc, st.status if st else "open", st.verdict if st else None, st.assignee if st else None
            )
        )
    alerts = con.execute("SELECT count(*) FROM alerts").fetchall()[0][0]
    detectors = [r[0] for r in con.execute("SELECT DISTINCT detector FROM alerts ORDER BY 1").fetchall()]
    return QueuePage(
        rows, total, page, pages, page_size, dict(by_status), int(alerts), incident_count(con), detectors
    )


# ------------------------------------------------------------------ incident


@dataclass
class EventRow:
    """One event behind an incident's alerts, with where it came from (all text untrusted)."""

    event_id: str
    time: datetime | None
    code: str | None
    action: str | None
    outcome: str | None
    user: str | None
    host: str | None
    source: str | None
    file: str
    record: int
    original: str | None
    alert_ids: list[str] = field(default_factory=list)
    #: The network fields of a connection, DNS, HTTP or TLS record (empty for other events).
    net: dict[str, Any] = field(default_factory=dict)

    @property
    def network(self) -> str:
        """'to 203.0.113.5:443 tcp/ssl, 1,200 B out, 40,000 B in, 0.5 s, SF; name example.org; user agent curl/8'."""
        n = self.net
        parts = []
        if n.get("dst"):
            parts.append(f"to {n['dst']}" + (f":{n['dport']}" if n.get("dport") is not None else ""))
        proto = "/".join(str(x) for x in (n.get("transport"), n.get("protocol")) if x)
        if proto:
            parts.append(proto)
        if n.get("sent") is not None or n.get("recv") is not None:
            parts.append(f"{n.get('sent') or 0:,} B out, {n.get('recv') or 0:,} B in")
        if n.get("duration") is not None:
            parts.append(f"{n['duration'] / 1e9:.1f} s")
        if n.get("state"):
            parts.append(str(n["state"]))
        name, agent = n.get("name"), n.get("agent")
        return (
            ", ".join(parts) + (f"; name {name}" if name else "") + (f"; user agent {agent}" if agent else "")
        )


@dataclass
class TimelineItem:
    """An alert raised or an event seen, in time order."""

    time: datetime | None
    kind: str  # "alert" | "event"
    alert: Alert | None = None
    event: EventRow | None = None


@dataclass
class IncidentPage:
    """Everything the incident page shows."""

    incident: Incident
    state: Any
    alerts: list[Alert]
    events: list[EventRow]
    events_total: int
    timeline: list[TimelineItem]
    comments: list[Any]
    audit: list[Any]
    users: list[Any]


def incident_events(
    con: duckdb.DuckDBPyConnection, alert_ids: Sequence[str], limit: int = TIMELINE_EVENTS
) -> tuple[list[EventRow], int]:
    """The distinct events behind ``alert_ids``, oldest first (at most ``limit``), and their total."""
    ids = list(alert_ids)
    total = con.execute(
        "SELECT count(DISTINCT event_id) FROM alert_events WHERE list_contains(?, alert_id)", [ids]
    ).fetchall()[0][0]
    rows = con.execute(
        """SELECT e."event.id", any_value(e."@timestamp"), any_value(e."event.code"),
                  any_value(e."event.action"), any_value(e."event.outcome"), any_value(e."user.name"),
                  any_value(e."host.name"), any_value(coalesce(e."source.ip", e."source.address")),
                  any_value(e."log.file.path"), any_value(e."log.record"), any_value(e."event.original"),
                  list(DISTINCT l.alert_id ORDER BY l.alert_id),
                  any_value(e."destination.ip"), any_value(e."destination.port"),
                  any_value(e."network.transport"), any_value(e."network.protocol"),
                  any_value(e."source.bytes"), any_value(e."destination.bytes"),
                  any_value(e."event.duration"), any_value(e."zeek.connection.state"),
                  any_value(coalesce(e."dns.question.name", e."tls.server_name", e."url.domain")),
                  any_value(e."user_agent.original")
           FROM alert_events l JOIN events e ON e."event.id" = l.event_id
           WHERE list_contains(?, l.alert_id)
           GROUP BY e."event.id"
           ORDER BY 2 NULLS LAST, 9, 10
           LIMIT ?""",
        [ids, int(limit)],
    ).fetchall()
    keys = ("dst", "dport", "transport", "protocol", "sent", "recv", "duration", "state", "name", "agent")
    events = [
        EventRow(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            int(r[9]),
            r[10],
            list(r[11]),
            {k: v for k, v in zip(keys, r[12:], strict=True) if v is not None},
        )
        for r in rows
    ]
    return events, int(total)


def incident_page(
    con: duckdb.DuckDBPyConnection, store: ReviewStore, incident_id: str
) -> IncidentPage | None:
    """The incident, its alerts with reasons and evidence, its events, review state and history."""
    inc = load_incident(con, incident_id)
    if inc is None:
        return None
    alerts = load_alerts(con, ids=list(inc.alert_ids))
    events, total = incident_events(con, inc.alert_ids)
    timeline = [TimelineItem(a.first_seen, "alert", alert=a) for a in alerts]
    timeline += [TimelineItem(e.time, "event", event=e) for e in events]
    timeline.sort(key=lambda t: (t.time or datetime.max, 0 if t.kind == "alert" else 1))
    return IncidentPage(
        inc,
        store.incident_state(incident_id),
        alerts,
        events,
        total,
        timeline,
        store.comments(incident_id),
        store.audit(incident_id),
        store.users(),
    )


def review_alerts(incident: Incident, con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(alert id, detector id) of the incident's alerts, as the store records them with a verdict."""
    rows = con.execute(
        "SELECT id, detector FROM alerts WHERE list_contains(?, id) ORDER BY id", [list(incident.alert_ids)]
    ).fetchall()
    return [(str(a), str(d)) for a, d in rows]


# ------------------------------------------------------------------ detector


@dataclass
class BudgetAnswer:
    """The threshold an alert budget needs, and what reviewers' labels say about it."""

    budget: float
    days: float
    threshold: float
    kept: int
    candidates: int
    measure: Measure  # tune.verdict_measure: precision and recall over reviewed alerts
    unlabelled: int  # kept alerts nobody has reviewed yet


@dataclass
class DetectorPage:
    """Everything the detector page shows."""

    id: str
    title: str
    description: str
    techniques: list[str]
    alerts: list[Alert]
    alerts_total: int
    verdicts: Any
    precision: Any
    threshold: float
    threshold_source: str  # "set by a lead" | "config default"
    owner: str | None
    by_week: list[tuple[str, int, int]]  # (week, false positives, true positives) by alert time
    budget: BudgetAnswer | None


def default_threshold(detector_id: str) -> float:
    """The ``min_score`` of the shipped config, when no lead has set one."""
    return float(load_config().get(detector_id, {}).get("min_score", 0.0))


def detector_known(con: duckdb.DuckDBPyConnection, detector_id: str) -> bool:
    """A registered detector, or one that has stored alerts."""
    if detector_id in DETECTORS:
        return True
    return bool(con.execute("SELECT count(*) FROM alerts WHERE detector = ?", [detector_id]).fetchall()[0][0])


def verdicts_by_week(
    con: duckdb.DuckDBPyConnection, detector_id: str, labels: Mapping[str, bool | None]
) -> list[tuple[str, int, int]]:
    """False and true positives per ISO week of the alert's first event (reviewer labels)."""
    rows = con.execute(
        "SELECT id, strftime(first_seen, '%G-W%V') FROM alerts WHERE detector = ? ORDER BY first_seen",
        [detector_id],
    ).fetchall()
    fp: dict[str, int] = defaultdict(int)
    tp: dict[str, int] = defaultdict(int)
    weeks: list[str] = []
    for alert_id, week in rows:
        label = labels.get(alert_id)
        if label is None:
            continue
        if week not in fp and week not in tp:
            weeks.append(week)
        (tp if label else fp)[week] += 1
    return [(w, fp.get(w, 0), tp.get(w, 0)) for w in weeks]


def budget_threshold(
    con: duckdb.DuckDBPyConnection, detector_id: str, budget: float, labels: Mapping[str, bool | None]
) -> BudgetAnswer:
    """The lowest ``min_score`` keeping ``budget`` alerts a day, measured on reviewers' labels.

    ``tune.choose_threshold`` picks it over the span of the stored events, as ``bluebench
    tune`` does; ``tune.verdict_measure`` gives precision (confirmed over reviewed kept
    alerts) and recall (confirmed alerts kept over all confirmed), as ``tune --from-verdicts``
    does. The candidates are the stored alerts, i.e. those at or above the threshold in force
    when they were raised, so this answers how far to raise a threshold, not to lower it.
    """
    span = event_span(con)
    candidates = load_alerts(con, detector=detector_id)
    threshold, kept_n = choose_threshold([a.score for a in candidates], budget * span.days)
    kept = [a for a in candidates if a.score >= threshold] if kept_n else []
    unlabelled = sum(1 for a in kept if labels.get(a.id) is None)
    measure = verdict_measure(kept, candidates, labels)
    return BudgetAnswer(budget, span.days, threshold, len(kept), len(candidates), measure, unlabelled)


def detector_page(
    con: duckdb.DuckDBPyConnection, store: ReviewStore, detector_id: str, budget: float | None
) -> DetectorPage:
    """Alerts, verdicts, precision from verdicts, settings and the budget answer of one detector."""
    cls = DETECTORS.get(detector_id) if detector_id in DETECTORS else None
    total = con.execute("SELECT count(*) FROM alerts WHERE detector = ?", [detector_id]).fetchall()[0][0]
    settings = store.detector_settings().get(detector_id)
    labels = store.alert_labels()
    set_threshold = settings.threshold if settings is not None else None
    return DetectorPage(
        id=detector_id,
        title=cls.title if cls else detector_id,
        description=cls.description if cls else "",
        techniques=list(cls.techniques) if cls else [],
        alerts=load_alerts(con, detector=detector_id, limit=50),
        alerts_total=int(total),
        verdicts=store.detector_verdicts().get(detector_id),
        precision=store.detector_precision(detector_id),
        threshold=float(set_threshold) if set_threshold is not None else default_threshold(detector_id),
        threshold_source="set by a lead" if set_threshold is not None else "config default",
        owner=settings.owner if settings is not None else None,
        by_week=verdicts_by_week(con, detector_id, labels),
        budget=budget_threshold(con, detector_id, budget, labels) if budget is not None else None,
    )


# ------------------------------------------------------------------ metrics


def stored_evaluation_rows(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every stored detector evaluation, newest first; none when the table was never made.

    Reads without creating the table, since the app's connection is read-only.
    """
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'evaluations'"
    ).fetchall()[0][0]
    if not exists:
        return []
    rows = con.execute("SELECT result FROM evaluations ORDER BY run_at DESC, id").fetchall()
    return [json.loads(r[0]) for r in rows]


def read_mail_evaluation(path: Path | None) -> tuple[dict[str, Any] | None, str]:
    """The mail evaluation JSON given with ``--mail-evaluation``, or why there is none."""
    if path is None:
        return None, "no mail evaluation given (bluebench serve --mail-evaluation FILE)"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"{path.name}: cannot read the mail evaluation: {exc}"
    if not isinstance(data, dict):
        return None, f"{path.name}: not a mail evaluation (expected a JSON object)"
    return data, ""
