"""Stored alerts against labels: per detector, overall and per technique, with counts and units.

Every count has a unit, stated in the result and printed with it:

* per-file labels: the unit is a labelled **file** present in the workspace;
* per-event labels: precision counts **alerts**, recall counts **attack instances**
  (``attack_id`` and technique), the false-positive rate counts **benign events**;
* per-window labels: precision counts **alerts**, recall counts **entity-windows** (label
  rows), the false-positive rate counts **entity-days** that no label window covers;
* per-pair and per-flow network labels: :mod:`.pairs` and :mod:`.flows` state their units.

A detector is measured against the techniques it claims (its declared techniques plus any its
alerts carry): a file labelled only with other techniques is a negative for it. Techniques
match when equal or when one is a sub-technique of the other (T1110.001 and T1110).
"""

from __future__ import annotations

import json
import os
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from bluebench.detectors import DETECTORS
from bluebench.evaluation import flows, pairs
from bluebench.evaluation.files import FileIndex, build_index
from bluebench.evaluation.labels import FileLabel, LabelSet, normalize_technique
from bluebench.evaluation.metrics import Measure, VerdictPrecision, any_match, technique_matches
from bluebench.schema import Alert

EVALUATIONS_SQL = """CREATE TABLE IF NOT EXISTS evaluations (
    id VARCHAR PRIMARY KEY, run_at TIMESTAMP, labels_path VARCHAR, labels_fingerprint VARCHAR,
    kind VARCHAR, techniques VARCHAR[], result JSON)"""

UNITS: dict[str, dict[str, str]] = {
    "file": {"precision": "file", "recall": "file", "fpr": "file"},
    "event": {"precision": "alert", "recall": "attack instance", "fpr": "benign event"},
    "window": {"precision": "alert", "recall": "entity-window", "fpr": "entity-day"},
    "pair": pairs.UNITS,
    "flow": flows.UNITS,
}

DEFINITIONS: dict[str, list[str]] = {
    "file": [
        "unit: a labelled file found in the workspace (a zip is one file with all its members; "
        "a copy stored as a duplicate is its own file with the original's events)",
        "a file is alerted when one of an alert's evidence events comes from it",
        "TP: alerted with a technique matching one of the file's labels",
        "FP: alerted, but no alert on it matches the file's labels",
        "FN: labelled with a technique the detector claims, no matching alert",
        "TN: labelled with none of the detector's techniques and not alerted",
        "FPR: files labelled with none of the detector's techniques that were alerted, over all such files",
        "per technique T: labelled files carry a label matching T (T, its parent or a "
        "sub-technique), so a file can count under several rows; alerted files have an alert "
        "whose technique matches T; FP = alerted files with no label matching T; FPR over the "
        "files with no label matching T; '(not in labels)' rows are alert techniques no label names",
    ],
    "event": [
        "precision unit: an alert with evidence in the labelled files; TP when one of its "
        "evidence events is labelled with a matching technique, else FP",
        "recall unit: an attack instance (attack_id, technique); detected when one of its events "
        "is evidence of an alert with a matching technique, else FN",
        "FPR unit: a benign event, i.e. an event of a labelled file (or of a stored file under "
        "the labels file's folder) that no label row lists; FP_on_negatives = benign events that "
        "are evidence of an alert, TN = the other benign events",
        "per technique T: the alerts whose technique matches T and the attack instances whose "
        "technique matches T (T, its parent or a sub-technique)",
    ],
    "window": [
        "precision unit: an alert; TP when an entity of it equals a label's entity, its time "
        "overlaps the label's window and its technique matches, else FP",
        "recall unit: an entity-window (one label row); detected when a matching alert exists",
        "FPR unit: an entity-day (user, source or host value of stored events, one UTC day) that "
        "no label window of that entity covers; FP_on_negatives = such days named by an alert "
        "that matches no label window",
    ],
    "pair": pairs.DEFINITIONS,
    "flow": flows.DEFINITIONS,
}


HINT_CWD = (
    "no labelled file was found in the workspace: a label's path is tried under the labels "
    "file's folder, the working folder and --root DIR (where the labelled data lies)"
)


@dataclass
class Row:
    """One line of a result table: a detector, everything together, or one technique."""

    name: str
    techniques: list[str]
    alerts: int  # alerts counted (with evidence inside the labelled data)
    measure: Measure
    alerts_outside: int = 0  # alerts left out: no evidence in the labelled data
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "techniques": self.techniques,
            "alerts": self.alerts,
            "alerts_outside_labels": self.alerts_outside,
            **self.measure.to_json(),
            "details": self.details,
        }


@dataclass
class Evaluation:
    """The whole comparison; ``to_json`` is what ``--json`` prints and the workspace stores."""

    kind: str
    labels_path: str
    labels_fingerprint: str
    units: dict[str, str]
    definitions: list[str]
    detectors: list[Row]
    overall: Row
    techniques: list[Row]
    scope: dict[str, Any]
    notes: list[str]
    technique_filter: list[str]
    id: str = ""
    run_at: datetime | None = None
    curve: list[dict[str, Any]] = field(default_factory=list)
    # Precision from reviewers' verdicts per detector, handed in as data by the caller.
    from_verdicts: list[VerdictPrecision] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run_at": self.run_at.isoformat() + "Z" if self.run_at else None,
            "labels": {
                "path": self.labels_path,
                "fingerprint": self.labels_fingerprint,
                "kind": self.kind,
            },
            "technique_filter": self.technique_filter,
            "units": self.units,
            "definitions": self.definitions,
            "scope": self.scope,
            "detectors": [r.to_json() for r in self.detectors],
            "overall": self.overall.to_json(),
            "techniques": [r.to_json() for r in self.techniques],
            "notes": self.notes,
            "curve": self.curve,
            "precision_from_verdicts": [v.to_json() for v in self.from_verdicts],
        }


# ------------------------------------------------------------------ shared helpers


#: What each kind of labels' evaluation returns: detector rows, overall, technique rows, scope, notes, curve.
_Outcome = tuple[list[Row], Row, list[Row], dict[str, Any], list[str], list[Row]]


def parse_filter(text: str | None) -> list[str]:
    """'T1110, t1558' -> ['T1110', 'T1558']; empty means no filter."""
    if not text:
        return []
    return sorted({normalize_technique(t) for t in text.split(",") if t.strip()})


def _keep(techniques: Iterable[str], flt: list[str]) -> list[str]:
    out = sorted(set(techniques))
    return [t for t in out if any(technique_matches(t, f) for f in flt)] if flt else out


@dataclass
class _Alert:
    """An alert reduced to what matching needs, after the technique filter."""

    alert: Alert
    techniques: list[str]


def _filtered_alerts(alerts: Sequence[Alert], flt: list[str]) -> list[_Alert]:
    out = []
    for a in alerts:
        techs = _keep(a.techniques, flt)
        if techs:
            out.append(_Alert(a, techs))
    return out


def _groups(
    alerts: list[_Alert], flt: list[str], detectors: Sequence[str] | None
) -> list[tuple[str, list[str], list[_Alert]]]:
    """(detector id, techniques it claims, its alerts) for every registered detector, then others."""
    by_det: dict[str, list[_Alert]] = defaultdict(list)
    for a in alerts:
        by_det[a.alert.detector].append(a)
    # A rule-driven detector (Sigma) claims no technique of its own: a row only when it alerted.
    names = list(detectors) if detectors is not None else [c.id for c in DETECTORS if not c.rule_driven]
    names += sorted(set(by_det) - set(names))
    out = []
    for name in names:
        claimed: set[str] = set()
        if name in DETECTORS:
            claimed |= set(DETECTORS.get(name).techniques)
        for a in by_det.get(name, []):
            claimed |= set(a.techniques)
        out.append((name, _keep(claimed, flt), by_det.get(name, [])))
    return out


def _sample(items: Iterable[str], limit: int = 50) -> list[str]:
    return sorted(items)[:limit]


# ------------------------------------------------------------------ measuring, any label kind

# Measures a group of alerts as one row: (row name, techniques it claims, alerts) -> Row.
_Measure = Callable[[str, list[str], list[_Alert]], Row]


@dataclass
class _Measured:
    """The detector rows, the overall row over every claimed technique, and the curve's rows."""

    rows: list[Row]
    overall: Row
    curve: list[Row]
    claimed: list[str]


def _measure_all(
    measure: _Measure,
    alerts: list[_Alert],
    flt: list[str],
    detectors: Sequence[str] | None,
    thresholds: Sequence[float],
) -> _Measured:
    """One row per detector, then overall, then overall again at each raised score threshold."""
    rows = [measure(n, c, g) for n, c, g in _groups(alerts, flt, detectors)]
    claimed = sorted({t for r in rows for t in r.techniques})
    overall = measure("overall", claimed, alerts)
    curve = [measure("overall", claimed, [a for a in alerts if a.alert.score >= t]) for t in thresholds]
    return _Measured(rows, overall, curve, claimed)


def _alert_only(alerts: list[_Alert], label_techs: list[str]) -> list[str]:
    """Alert techniques that match no label technique: the '(not in labels)' rows."""
    return sorted({t for a in alerts for t in a.techniques if not any_match([t], label_techs)})


# ------------------------------------------------------------------ per-file labels


@dataclass
class _Unit:
    label: FileLabel
    stored: str
    techniques: list[str]


@dataclass
class _FileMatch:
    """The labelled files found in the workspace, those missing, and the files each alert touches."""

    units: list[_Unit]
    missing: list[str]  # label paths never ingested
    touches: dict[int, set[int]]  # id(alert) -> indices of the units its evidence comes from

    def hit(self, a: _Alert) -> set[int]:
        """The units an alert touches (empty: its evidence lies outside the labelled files)."""
        return self.touches[id(a)]


def _match_files(labels: LabelSet, alerts: list[_Alert], index: FileIndex, flt: list[str]) -> _FileMatch:
    """Labelled files as units, and which units each alert touches through its evidence events."""
    units: list[_Unit] = []
    missing: list[str] = []
    for lab in labels.files:
        stored = index.lookup(lab.path, lab.given)
        if stored is None:
            missing.append(lab.given)
            continue
        units.append(_Unit(lab, stored, _keep(lab.techniques, flt)))
    by_stored: dict[str, list[int]] = defaultdict(list)
    for i, u in enumerate(units):
        by_stored[u.stored].append(i)
    touches: dict[int, set[int]] = {}
    for a in alerts:
        hit: set[int] = set()
        for ev in a.alert.evidence:
            hit.update(by_stored.get(index.container.get(ev.file, ev.file), ()))
            hit.update(by_stored.get(ev.file, ()))  # a label naming one member of a zip
        touches[id(a)] = hit
    return _FileMatch(units, missing, touches)


def _measure_files(m: _FileMatch, name: str, claimed: list[str], group: list[_Alert]) -> Row:
    """A group of alerts against the labelled files, counting files."""
    touching: dict[int, list[_Alert]] = defaultdict(list)
    outside = 0
    for a in group:
        hit = m.hit(a)
        if not hit:
            outside += 1
        for ix in hit:
            touching[ix].append(a)
    tp = fp = fn = fpn = tn = 0
    missed, false_alarms = [], []
    for i, u in enumerate(m.units):
        positive = any_match(u.techniques, claimed)
        alerted = i in touching
        matched = any(any_match(a.techniques, u.techniques) for a in touching.get(i, []))
        if matched:
            tp += 1
        elif alerted:
            fp += 1
            false_alarms.append(u.label.given)
        if positive and not matched:
            fn += 1
            missed.append(u.label.given)
        if not positive:
            if alerted:
                fpn += 1
            else:
                tn += 1
    return Row(
        name,
        claimed,
        len(group) - outside,
        Measure(tp, fp, tp, fn, fpn, tn, UNITS["file"]),
        outside,
        {"false_positive_files": _sample(false_alarms), "missed_files": _sample(missed)},
    )


def _file_technique_row(m: _FileMatch, alerts: list[_Alert], t: str, label_techs: list[str]) -> Row:
    """One technique's row: files labelled with it against files its alerts touch."""
    pos = {i for i, u in enumerate(m.units) if any_match(u.techniques, [t])}
    alerted: set[int] = set()
    dets: set[str] = set()
    for a in alerts:
        if any_match(a.techniques, [t]):
            hit = m.hit(a)
            alerted |= hit
            if hit:
                dets.add(a.alert.detector)
    # A labelled file counts as found only through an alert matching its own label.
    found = {
        i
        for i in pos & alerted
        if any(
            any_match(a.techniques, [t]) and any_match(a.techniques, m.units[i].techniques)
            for a in alerts
            if i in m.hit(a)
        )
    }
    n_found, fpn, n_neg = len(found), len(alerted - pos), len(m.units) - len(pos)
    return Row(
        t,
        [t],
        sum(1 for a in alerts if any_match(a.techniques, [t]) and m.hit(a)),
        Measure(n_found, len(alerted - found), n_found, len(pos) - n_found, fpn, n_neg - fpn, UNITS["file"]),
        details={
            "labelled_files": len(pos),
            "alerted_files": len(alerted),
            "detectors": sorted(dets),
            "in_labels": t in label_techs,
        },
    )


def _file_scope(
    labels: LabelSet, m: _FileMatch, label_techs: list[str], claimed: list[str]
) -> tuple[dict[str, Any], list[str]]:
    """What was evaluated and what was left out, with a note for each kind left out."""
    uncovered = sorted({t for t in label_techs if not any_match([t], claimed)})
    scope = {
        "label_rows": len(labels.files) + len(labels.unlabelled),
        "files_evaluated": len(m.units),
        "files_without_technique": len(labels.unlabelled),
        "files_not_in_workspace": len(m.missing),
        "files_not_in_workspace_examples": _sample(m.missing, 10),
        "label_techniques_no_detector_claims": uncovered,
    }
    notes = []
    if m.missing:
        notes.append(
            f"{len(m.missing)} labelled files are not in the workspace (never ingested, failed, or "
            "ingested from another folder) and are left out"
        )
    if m.missing and not m.units:
        notes.append(HINT_CWD)
    if uncovered:
        notes.append(f"{len(uncovered)} labelled techniques are claimed by no detector: recall 0 by design")
    return scope, notes


def _evaluate_files(
    labels: LabelSet,
    alerts: list[_Alert],
    index: FileIndex,
    flt: list[str],
    detectors: Sequence[str] | None,
    thresholds: Sequence[float] = (),
) -> _Outcome:
    m = _match_files(labels, alerts, index, flt)
    measured = _measure_all(partial(_measure_files, m), alerts, flt, detectors, thresholds)
    # Per technique: every label technique, then alert techniques that match no label at all.
    label_techs = sorted({t for u in m.units for t in u.techniques})
    per_tech = [
        _file_technique_row(m, alerts, t, label_techs) for t in label_techs + _alert_only(alerts, label_techs)
    ]
    scope, notes = _file_scope(labels, m, label_techs, measured.claimed)
    return measured.rows, measured.overall, per_tech, scope, notes, measured.curve


# ------------------------------------------------------------------ per-event labels


@dataclass
class _EventLabels:
    """Labelled records by (stored file, record), attack instances, and the files benign events come from."""

    labelled: dict[tuple[str, int], list[tuple[str, str]]]  # -> (technique, attack_id) of each label row
    instances: dict[tuple[str, str], set[tuple[str, int]]]  # (attack_id, technique) -> its records
    missing_files: set[str]
    filtered_out: int  # label rows outside the technique filter
    scope_files: set[str] = field(default_factory=set)
    total: int = 0  # stored events in scope
    found: int = 0  # labelled records found among the stored events

    @property
    def benign_total(self) -> int:
        """Events in scope that no label row lists."""
        return self.total - self.found


def _label_events(labels: LabelSet, index: FileIndex, flt: list[str]) -> _EventLabels:
    """Label rows keyed by the stored file and record they name; rows outside the filter stay malicious."""
    labelled: dict[tuple[str, int], list[tuple[str, str]]] = defaultdict(list)
    instances: dict[tuple[str, str], set[tuple[str, int]]] = defaultdict(set)
    missing_files: set[str] = set()
    filtered_out = 0
    for lab in labels.events:
        stored = index.lookup(lab.path, lab.given)
        if stored is None:
            missing_files.add(lab.given)
            continue
        key = (stored, lab.record)
        if flt and not any(technique_matches(lab.technique, f) for f in flt):
            filtered_out += 1
            labelled.setdefault(key, [])  # still malicious: neither benign nor counted
            continue
        labelled[key].append((lab.technique, lab.attack_id))
        instances[(lab.attack_id, lab.technique)].add(key)
    return _EventLabels(labelled, instances, missing_files, filtered_out)


def _event_scope(
    con: duckdb.DuckDBPyConnection,
    labels: LabelSet,
    labelled: dict[tuple[str, int], list[tuple[str, str]]],
    index: FileIndex,
    cwd: Path,
) -> tuple[set[str], int, int]:
    """Files in scope (labelled, or under the labels file's folder), their events, labelled ones found."""
    base = str(labels.source.resolve().parent) + os.sep
    scope_files = {k[0] for k in labelled}
    for ev_path, owner in index.container.items():
        if index.absolute(owner).startswith(base):
            scope_files.add(ev_path)
    keys = pa.table(
        {
            "path": pa.array([k[0] for k in labelled], pa.string()),
            "record": pa.array([k[1] for k in labelled], pa.int64()),
        }
    )
    con.register("eval_labelled", keys)
    try:
        total, found = con.execute(
            """SELECT (SELECT count(*) FROM events WHERE list_contains(?, "log.file.path")),
                      (SELECT count(DISTINCT (l.path, l.record)) FROM eval_labelled l JOIN events e
                         ON e."log.file.path" = l.path AND e."log.record" = l.record)""",
            [sorted(scope_files)],
        ).fetchall()[0]
    finally:
        con.unregister("eval_labelled")
    return scope_files, int(total), int(found)


def _measure_events(ev: _EventLabels, name: str, claimed: list[str], group: list[_Alert]) -> Row:
    """A group of alerts against the labelled events: alerts, attack instances and benign events."""
    tp = fp = outside = 0
    benign_hit: set[tuple[str, int]] = set()
    covered: set[tuple[str, str]] = set()
    for a in group:
        evs = [e for e in a.alert.evidence if e.file in ev.scope_files]
        if not evs:
            outside += 1
            continue
        good = False
        for e in evs:
            key = (e.file, e.record)
            if key not in ev.labelled:
                benign_hit.add(key)
                continue
            for tech, attack_id in ev.labelled[key]:
                if any_match(a.techniques, [tech]):
                    good = True
                    covered.add((attack_id, tech))
        tp, fp = (tp + 1, fp) if good else (tp, fp + 1)
    positives = [i for i in ev.instances if any_match([i[1]], claimed)]
    detected, benign = sum(1 for i in positives if i in covered), len(benign_hit)
    return Row(
        name,
        claimed,
        tp + fp,
        Measure(
            tp, fp, detected, len(positives) - detected, benign, ev.benign_total - benign, UNITS["event"]
        ),
        outside,
        {
            "missed_instances": _sample(f"{i[0]} ({i[1]})" for i in positives if i not in covered),
            "detectors": sorted({a.alert.detector for a in group}),
        },
    )


def _event_notes(labels: LabelSet, ev: _EventLabels) -> tuple[dict[str, Any], list[str]]:
    """What was evaluated and what was left out, with a note for each kind left out."""
    not_found = len(ev.labelled) - ev.found
    scope = {
        "label_rows": len(labels.events),
        "attack_instances": len(ev.instances),
        "files_in_scope": len(ev.scope_files),
        "events_in_scope": ev.total,
        "benign_events": ev.benign_total,
        "labelled_records_not_found": not_found,
        "label_files_not_in_workspace": _sample(ev.missing_files, 10),
        "label_rows_outside_filter": ev.filtered_out,
    }
    notes = []
    if ev.missing_files:
        notes.append(
            f"{len(ev.missing_files)} labelled files are not in the workspace; their rows are left out"
        )
    if ev.missing_files and not ev.labelled:
        notes.append(HINT_CWD)
    if not_found:
        notes.append(f"{not_found} labelled records are not among the stored events (skipped or blank?)")
    return scope, notes


def _evaluate_events(
    con: duckdb.DuckDBPyConnection,
    labels: LabelSet,
    alerts: list[_Alert],
    index: FileIndex,
    flt: list[str],
    detectors: Sequence[str] | None,
    cwd: Path,
    thresholds: Sequence[float] = (),
) -> _Outcome:
    ev = _label_events(labels, index, flt)
    ev.scope_files, ev.total, ev.found = _event_scope(con, labels, ev.labelled, index, cwd)
    measure = partial(_measure_events, ev)
    measured = _measure_all(measure, alerts, flt, detectors, thresholds)
    label_techs = sorted({i[1] for i in ev.instances})
    per_tech = []
    for t in label_techs + _alert_only(alerts, label_techs):
        r = measure(t, [t], [a for a in alerts if any_match(a.techniques, [t])])
        r.details["in_labels"] = t in label_techs
        r.details["instances"] = sum(1 for i in ev.instances if any_match([i[1]], [t]))
        per_tech.append(r)
    scope, notes = _event_notes(labels, ev)
    return measured.rows, measured.overall, per_tech, scope, notes, measured.curve


# ------------------------------------------------------------------ per-window labels


def _entity_days(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str, date]]:
    rows = con.execute(
        """SELECT DISTINCT kind, value, day FROM (
             SELECT 'user' AS kind, lower("user.name") AS value, "@timestamp"::DATE AS day FROM events
             UNION ALL SELECT 'source', lower(coalesce("source.ip", "source.address")), "@timestamp"::DATE FROM events
             UNION ALL SELECT 'host', lower("host.name"), "@timestamp"::DATE FROM events)
           WHERE value IS NOT NULL AND day IS NOT NULL"""
    ).fetchall()
    return {(str(k), str(v), d) for k, v, d in rows}


def _days(first: datetime, last: datetime) -> list[date]:
    d, out = first.date(), []
    while d <= last.date():
        out.append(d)
        d += timedelta(days=1)
    return out


def _evaluate_windows(
    con: duckdb.DuckDBPyConnection,
    labels: LabelSet,
    alerts: list[_Alert],
    flt: list[str],
    detectors: Sequence[str] | None,
    thresholds: Sequence[float] = (),
) -> _Outcome:
    windows = [w for w in labels.windows if not flt or any(technique_matches(w.technique, f) for f in flt)]
    by_entity: dict[str, list[int]] = defaultdict(list)
    for i, w in enumerate(labels.windows):
        by_entity[w.entity].append(i)

    def entity_hits(a: Alert, w_kind: str, w_entity: str) -> bool:
        ents = {k.lower(): str(v).lower() for k, v in a.entities.items()}
        return ents.get(w_kind) == w_entity if w_kind else w_entity in ents.values()

    def covered(kind: str, value: str, day: date) -> bool:
        for i in by_entity.get(value, ()):
            w = labels.windows[i]
            if w.kind in ("", kind) and w.start.date() <= day <= w.end.date():
                return True
        return False

    units = {u for u in _entity_days(con) if not covered(*u)}

    def matches(a: _Alert) -> set[int]:
        return {
            i
            for i, w in enumerate(windows)
            if any_match(a.techniques, [w.technique])
            and entity_hits(a.alert, w.kind, w.entity)
            and a.alert.first_seen <= w.end
            and a.alert.last_seen >= w.start
        }

    def measure(name: str, claimed: list[str], group: list[_Alert]) -> Row:
        tp = fp = 0
        found: set[int] = set()
        benign_hit: set[tuple[str, str, date]] = set()
        for a in group:
            m = matches(a)
            found |= m
            if m:
                tp += 1
                continue
            fp += 1
            for k, v in a.alert.entities.items():
                for d in _days(a.alert.first_seen, a.alert.last_seen):
                    u = (k.lower(), str(v).lower(), d)
                    if u in units:
                        benign_hit.add(u)
        positives = [i for i, w in enumerate(windows) if any_match([w.technique], claimed)]
        detected = sum(1 for i in positives if i in found)
        return Row(
            name,
            claimed,
            len(group),
            Measure(
                tp,
                fp,
                detected,
                len(positives) - detected,
                len(benign_hit),
                len(units) - len(benign_hit),
                UNITS["window"],
            ),
            details={
                "missed_windows": [
                    f"line {windows[i].row}: {windows[i].entity}" for i in positives if i not in found
                ][:50],
                "detectors": sorted({a.alert.detector for a in group}),
            },
        )

    measured = _measure_all(measure, alerts, flt, detectors, thresholds)
    label_techs = sorted({w.technique for w in windows})
    per_tech = []
    for t in label_techs + _alert_only(alerts, label_techs):
        r = measure(t, [t], [a for a in alerts if any_match(a.techniques, [t])])
        r.details["in_labels"] = t in label_techs
        per_tech.append(r)
    scope = {
        "label_rows": len(labels.windows),
        "windows_evaluated": len(windows),
        "benign_entity_days": len(units),
    }
    return measured.rows, measured.overall, per_tech, scope, [], measured.curve


def _evaluate_pairs(
    con: duckdb.DuckDBPyConnection,
    labels: LabelSet,
    alerts: list[_Alert],
    flt: list[str],
    detectors: Sequence[str] | None,
    thresholds: Sequence[float] = (),
) -> _Outcome:
    measure, scope, label_techs = pairs.evaluate_pairs(con, labels, alerts, flt, Row)
    measured = _measure_all(measure, alerts, flt, detectors, thresholds)
    per_tech = []
    for t in label_techs + _alert_only(alerts, label_techs):
        r = measure(t, [t], [a for a in alerts if any_match(a.techniques, [t])])
        r.details["in_labels"] = t in label_techs
        per_tech.append(r)
    return measured.rows, measured.overall, per_tech, scope, [], measured.curve


def _evaluate_flows(
    con: duckdb.DuckDBPyConnection,
    labels: LabelSet,
    alerts: list[_Alert],
    index: FileIndex,
    flt: list[str],
    detectors: Sequence[str] | None,
    thresholds: Sequence[float] = (),
) -> _Outcome:
    found = flows.label_flows(con, labels.flows, index.lookup, alerts)
    measure = flows.measure_flows(found, Row)
    measured = _measure_all(measure, alerts, flt, detectors, thresholds)
    # A flow label names no technique: one row per technique the alerts carry.
    carried = sorted({t for a in alerts for t in a.techniques})
    per_tech = [measure(t, [t], [a for a in alerts if any_match(a.techniques, [t])]) for t in carried]
    for r in per_tech:
        r.details["in_labels"] = False
    scope, notes = flows.flow_scope(labels.flows, found)
    if found.missing and not found.files:
        notes.append(HINT_CWD)
    return measured.rows, measured.overall, per_tech, scope, notes, measured.curve


# ------------------------------------------------------------------ score curve


def curve_thresholds(scores: Sequence[float], points: int) -> list[float]:
    """Up to ``points`` score thresholds, lowest first: the lowest keeps every alert.

    Thresholds are stored alert scores (quantiles when there are more distinct scores than
    points), so each point is an operating point a user could set as ``min_score``.
    """
    distinct = sorted(set(scores))
    if points <= 0 or not distinct:
        return []
    if len(distinct) <= points:
        return distinct
    picks = {distinct[round(i * (len(distinct) - 1) / (points - 1))] for i in range(points)}
    return sorted(picks)


def _span_days(con: duckdb.DuckDBPyConnection) -> float:
    """Days covered by the stored events (at least 1), the denominator of alerts a day."""
    first, last = con.execute('SELECT min("@timestamp"), max("@timestamp") FROM events').fetchall()[0]
    if first is None or last is None:
        return 1.0
    return max(float((last - first).total_seconds()) / 86400.0, 1.0)


def _curve_json(thresholds: Sequence[float], rows: Sequence[Row], days: float) -> list[dict[str, Any]]:
    """One point per threshold: the alerts it keeps (all, and a day), precision and recall.

    The alerts were raised at the configured ``min_score``, so the curve starts there: it
    shows what raising a threshold would cost, never what lowering it would find.
    """
    return [
        {
            "min_score": t,
            "alerts": r.alerts + r.alerts_outside,
            "alerts_in_labels": r.alerts,
            "days": days,
            "alerts_per_day": (r.alerts + r.alerts_outside) / days,
            "precision": r.measure.precision.to_json(),
            "recall": r.measure.recall.to_json(),
            "counts": r.measure.to_json()["counts"],
        }
        for t, r in zip(thresholds, rows, strict=True)
    ]


# ------------------------------------------------------------------ entry points


def evaluate_alerts(
    con: duckdb.DuckDBPyConnection,
    labels: LabelSet,
    alerts: Sequence[Alert],
    techniques: list[str] | None = None,
    detectors: Sequence[str] | None = None,
    cwd: Path | None = None,
    curve_points: int = 15,
    roots: Sequence[Path] = (),
) -> Evaluation:
    """Compare ``alerts`` (with evidence) with ``labels``; stores nothing.

    ``detectors`` names the detector rows (default: every registered detector, plus any
    other detector that has alerts), so a detector with no alert still shows its misses.
    ``curve_points`` overall measurements at raised score thresholds feed the PR curve and
    the alerts-a-day-against-recall chart (0: none). A label's relative path is looked for
    under the labels file's folder, then ``cwd``, then each of ``roots``; when no label
    matches a stored file, ``scope['paths_tried']`` says where it looked.
    """
    cwd = cwd or Path.cwd()
    flt = sorted(set(techniques or []))
    index = build_index(con, cwd, roots)
    kept = _filtered_alerts(alerts, flt)
    notes = list(labels.notes)
    thresholds = curve_thresholds([a.alert.score for a in kept], curve_points)
    if labels.kind == "file":
        rows, overall, per_tech, scope, more, curve = _evaluate_files(
            labels, kept, index, flt, detectors, thresholds
        )
    elif labels.kind == "event":
        rows, overall, per_tech, scope, more, curve = _evaluate_events(
            con, labels, kept, index, flt, detectors, cwd, thresholds
        )
    elif labels.kind == "pair":
        rows, overall, per_tech, scope, more, curve = _evaluate_pairs(
            con, labels, kept, flt, detectors, thresholds
        )
    elif labels.kind == "flow":
        rows, overall, per_tech, scope, more, curve = _evaluate_flows(
            con, labels, kept, index, flt, detectors, thresholds
        )
    else:
        rows, overall, per_tech, scope, more, curve = _evaluate_windows(
            con, labels, kept, flt, detectors, thresholds
        )
    scope["alerts"] = len(alerts)
    scope["alerts_outside_filter"] = len(alerts) - len(kept)
    if index.tried and not index.hits:
        scope["paths_tried"] = index.tried
    outside = overall.alerts_outside
    if outside:
        more.append(f"{outside} alerts have no evidence in the labelled data and are left out")
    return Evaluation(
        kind=labels.kind,
        labels_path=str(labels.source),
        labels_fingerprint=labels.fingerprint,
        units=UNITS[labels.kind],
        definitions=DEFINITIONS[labels.kind],
        detectors=rows,
        overall=overall,
        techniques=per_tech,
        scope=scope,
        notes=notes + more,
        technique_filter=flt,
        curve=_curve_json(thresholds, curve, _span_days(con)),
    )


def save_evaluation(con: duckdb.DuckDBPyConnection, result: Evaluation) -> str:
    """Store the result (run time, labels fingerprint, JSON) so reports can recompute from it."""
    con.execute(EVALUATIONS_SQL)
    result.id = result.id or uuid.uuid4().hex[:16]
    result.run_at = result.run_at or datetime.now(UTC).replace(tzinfo=None)
    con.execute(
        "INSERT INTO evaluations VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            result.id,
            result.run_at,
            result.labels_path,
            result.labels_fingerprint,
            result.kind,
            result.technique_filter,
            json.dumps(result.to_json(), default=str),
        ],
    )
    return result.id


def stored_evaluations(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every stored evaluation result, oldest first."""
    con.execute(EVALUATIONS_SQL)
    rows = con.execute("SELECT result FROM evaluations ORDER BY run_at, id").fetchall()
    return [json.loads(r[0]) for r in rows]
