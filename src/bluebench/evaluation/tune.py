"""Choose each detector's ``min_score`` for an alert budget, and show what it costs in recall.

The budget is alerts per day per detector; the days are the span of the stored events (at
least one). Scores are computed once at threshold 0; the threshold chosen is the lowest that
keeps a detector within budget. The detectors are then run again with that threshold, so the
recall and precision shown at it are measured, not predicted.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from bluebench.detectors import DETECTORS, build_detectors, load_config
from bluebench.detectors.base import Detector, prepare_views
from bluebench.errors import ConfigError
from bluebench.evaluation.evaluate import Row, evaluate_alerts
from bluebench.evaluation.files import attach_evidence
from bluebench.evaluation.labels import LabelSet
from bluebench.evaluation.metrics import Measure
from bluebench.schema import Alert

#: Parameters given as options, overlaid on the config file (e.g. Sigma's rules).
Overrides = Mapping[str, Mapping[str, Any]] | None


@dataclass
class Span:
    """The time covered by the stored events, the denominator of 'alerts per day'."""

    first: datetime | None
    last: datetime | None

    @property
    def days(self) -> float:
        """Span in days, at least 1 so that a short capture is not scaled up."""
        if self.first is None or self.last is None:
            return 1.0
        return max((self.last - self.first).total_seconds() / 86400.0, 1.0)

    def text(self) -> str:
        if self.first is None or self.last is None:
            return "no timestamped events; counted as 1 day"
        raw = (self.last - self.first).total_seconds() / 86400.0
        floor = " (counted as 1 day)" if raw < 1.0 else ""
        return f"{self.first:%Y-%m-%d %H:%M} to {self.last:%Y-%m-%d %H:%M} UTC, {raw:.2f} days{floor}"


def event_span(con: duckdb.DuckDBPyConnection) -> Span:
    """First and last event time in the workspace."""
    first, last = con.execute('SELECT min("@timestamp"), max("@timestamp") FROM events').fetchall()[0]
    return Span(first, last)


def choose_threshold(scores: list[float], allowed: float) -> tuple[float, int]:
    """The lowest ``min_score`` keeping at most ``allowed`` of ``scores``, and how many it keeps.

    Thresholds fall midway between two distinct scores, so that rounding of a score never
    decides; when even the top score has too many ties, the threshold lies above it.
    """
    if len(scores) <= allowed:
        return 0.0, len(scores)
    distinct = sorted(set(scores), reverse=True)
    best: int | None = None
    for j, u in enumerate(distinct):
        if sum(1 for s in scores if s >= u) > allowed:
            break
        best = j
    if best is None:
        return round(distinct[0] + 0.00005, 5), 0
    threshold = round((distinct[best] + distinct[best + 1]) / 2, 5)
    return threshold, sum(1 for s in scores if s >= distinct[best])


@dataclass
class TuneRow:
    """One detector: candidates at 0, the threshold chosen, and both measured against labels."""

    detector: str
    threshold: float
    candidates: int
    kept: int
    at_zero: Row
    at_threshold: Row
    note: str = ""

    def to_json(self, days: float) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "min_score": self.threshold,
            "alerts_at_0": self.candidates,
            "alerts_at_threshold": self.kept,
            "alerts_per_day_at_0": self.candidates / days,
            "alerts_per_day_at_threshold": self.kept / days,
            "at_0": self.at_zero.to_json(),
            "at_threshold": self.at_threshold.to_json(),
            "note": self.note,
        }


@dataclass
class TuneResult:
    """Thresholds for every enabled detector under one budget, with their measured effect."""

    budget: float
    span: Span
    labels_path: str
    labels_fingerprint: str
    units: dict[str, str]
    rows: list[TuneRow] = field(default_factory=list)
    user_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Where labels were looked for when none matched a stored file (see evaluate_alerts).
    paths_tried: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "budget_alerts_per_day": self.budget,
            "days": self.span.days,
            "span": self.span.text(),
            "labels": {"path": self.labels_path, "fingerprint": self.labels_fingerprint},
            "units": self.units,
            "detectors": [r.to_json(self.span.days) for r in self.rows],
        }

    def config_toml(self) -> str:
        """A detector config for ``--config``: the user's own parameters plus ``min_score``."""
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines = [
            f"# Written by `bluebench tune --budget {self.budget:g}` on {now}: at most "
            f"{self.budget:g} alerts a day per detector",
            f"# over {self.span.days:.2f} days ({self.span.text()}),",
            f"# measured on {self.labels_path} (blake2b {self.labels_fingerprint[:12]}).",
        ]
        for r in self.rows:
            params = dict(self.user_config.get(r.detector, {}))
            params["min_score"] = r.threshold
            lines.append("")
            lines.append(f"[{r.detector}]")
            if r.note:
                lines.append(f"# {r.note}")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in params.items())
        return "\n".join(lines) + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ConfigError(f"cannot write parameter value {v!r} to TOML")


def _user_config(path: str | Path | None, overrides: Overrides = None) -> dict[str, dict[str, Any]]:
    """The parameters the user chose (file, then options), so the written config reproduces the run."""
    load_config(path, overrides)  # validates, with the error naming the file
    data: dict[str, dict[str, Any]] = {}
    if path is not None:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    for name, params in (overrides or {}).items():
        data.setdefault(name, {}).update(params)
    return {k: {p: v for p, v in t.items() if p != "min_score"} for k, t in data.items()}


def _unique(alerts: list[Alert]) -> list[Alert]:
    """One alert per id, as the alert store keeps them."""
    first: dict[str, Alert] = {}
    for a in alerts:
        first.setdefault(a.id, a)
    return list(first.values())


def _runs(
    con: duckdb.DuckDBPyConnection, budget: float, config: str | Path | None, overrides: Overrides = None
) -> tuple[
    list[Detector],
    Span,
    dict[str, list[Alert]],
    dict[str, tuple[float, int]],
    dict[str, list[Alert]],
]:
    """Detect at threshold 0, choose each threshold for the budget, detect again at it."""
    cfg = load_config(config, overrides)
    for name in DETECTORS.names():
        cfg.setdefault(name, {})["min_score"] = 0.0
    detectors = build_detectors(cfg)
    span = event_span(con)
    prepare_views(con)
    at_zero: dict[str, list[Alert]] = {d.id: _unique(d.detect(con)) for d in detectors}
    chosen: dict[str, tuple[float, int]] = {
        d.id: choose_threshold([a.score for a in at_zero[d.id]], budget * span.days) for d in detectors
    }
    at_thr: dict[str, list[Alert]] = {}
    for d in detectors:
        params = {**cfg.get(d.id, {}), "min_score": chosen[d.id][0]}
        at_thr[d.id] = _unique(type(d)(**params).detect(con))
    return detectors, span, at_zero, chosen, at_thr


def tune(
    con: duckdb.DuckDBPyConnection,
    labels: LabelSet,
    budget: float,
    config: str | Path | None = None,
    techniques: list[str] | None = None,
    cwd: Path | None = None,
    overrides: Overrides = None,
    roots: Sequence[Path] = (),
) -> TuneResult:
    """Thresholds keeping each detector within ``budget`` alerts a day; stores no alert.

    ``overrides`` are parameters from options (Sigma's rules); ``roots`` where labels' paths may lie.
    """
    if budget < 0:
        raise ConfigError(f"--budget must be at least 0, got {budget}")
    detectors, span, at_zero, chosen, at_thr = _runs(con, budget, config, overrides)
    ids = [d.id for d in detectors]
    zero_all = [a for d in ids for a in at_zero[d]]
    thr_all = [a for d in ids for a in at_thr[d]]
    attach_evidence(con, zero_all + thr_all)
    ev0 = evaluate_alerts(con, labels, zero_all, techniques, ids, cwd, roots=roots)
    ev1 = evaluate_alerts(con, labels, thr_all, techniques, ids, cwd, roots=roots)
    result = TuneResult(
        budget,
        span,
        str(labels.source),
        labels.fingerprint,
        ev0.units,
        user_config=_user_config(config, overrides),
        paths_tried=list(ev0.scope.get("paths_tried", [])),
    )
    for d, r0, r1 in zip(detectors, ev0.detectors, ev1.detectors, strict=True):
        threshold, predicted = chosen[d.id]
        kept = len(at_thr[d.id])
        note = ""
        if not at_zero[d.id]:
            note = "no candidates in this workspace; threshold left at 0"
        elif threshold > max(a.score for a in at_zero[d.id]):
            note = "even the highest score has more ties than the budget allows: no alerts kept"
        if kept != predicted:
            note = (note + "; " if note else "") + f"re-run kept {kept}, expected {predicted}"
        result.rows.append(TuneRow(d.id, threshold, len(at_zero[d.id]), kept, r0, r1, note))
    return result


VERDICT_UNITS = {
    "precision": "reviewed alert",
    "recall": "alert reviewers confirmed",
    "fpr": "alert reviewers dismissed",
}


def verdict_measure(kept: list[Alert], candidates: list[Alert], labels: Mapping[str, bool | None]) -> Measure:
    """Counts from reviewer labels (alert id -> True/False/None); unreviewed alerts count nowhere.

    Precision: confirmed / reviewed among kept alerts. Recall: confirmed alerts kept out of
    all confirmed candidates (a recall over what reviewers saw, not over every attack).
    """
    kept_ids = {a.id for a in kept}
    cand_ids = {a.id for a in candidates} | kept_ids
    confirmed = {i for i in cand_ids if labels.get(i) is True}
    dismissed = {i for i in cand_ids if labels.get(i) is False}
    tp = len(confirmed & kept_ids)
    fp = len(dismissed & kept_ids)
    return Measure(tp, fp, tp, len(confirmed - kept_ids), fp, len(dismissed - kept_ids), dict(VERDICT_UNITS))


def labels_fingerprint(labels: Mapping[str, bool | None]) -> str:
    """A fingerprint of the verdict labels a result was measured on."""
    text = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def tune_from_verdicts(
    con: duckdb.DuckDBPyConnection,
    labels: Mapping[str, bool | None],
    budget: float,
    config: str | Path | None = None,
    overrides: Overrides = None,
) -> TuneResult:
    """Like :func:`tune`, measured on reviewers' verdicts (alert id -> label) instead of a labels file.

    The labels arrive as data (the CLI reads them from the review store), so evaluation
    never imports the review stage.
    """
    if budget < 0:
        raise ConfigError(f"--budget must be at least 0, got {budget}")
    detectors, span, at_zero, chosen, at_thr = _runs(con, budget, config, overrides)
    result = TuneResult(
        budget,
        span,
        "reviewer verdicts",
        labels_fingerprint(labels),
        dict(VERDICT_UNITS),
        user_config=_user_config(config, overrides),
    )
    for d in detectors:
        threshold, predicted = chosen[d.id]
        zero, kept = at_zero[d.id], at_thr[d.id]
        reviewed = sum(1 for a in zero if labels.get(a.id) is not None)
        r0 = Row(d.id, list(d.techniques), len(zero), verdict_measure(zero, zero, labels),
                 details={"reviewed": reviewed})  # fmt: skip
        r1 = Row(d.id, list(d.techniques), len(kept), verdict_measure(kept, zero, labels),
                 details={"reviewed": sum(1 for a in kept if labels.get(a.id) is not None)})  # fmt: skip
        note = ""
        if not zero:
            note = "no candidates in this workspace; threshold left at 0"
        elif not reviewed:
            note = "no reviewed alerts: precision and recall from verdicts are undefined"
        if len(kept) != predicted:
            note = (note + "; " if note else "") + f"re-run kept {len(kept)}, expected {predicted}"
        result.rows.append(TuneRow(d.id, threshold, len(zero), len(kept), r0, r1, note))
    return result
