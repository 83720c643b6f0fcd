"""The main job in one place: ingest, detect (built-in detectors and Sigma), store alerts, group.

The CLI, the benchmarks and anything else that runs a job call these functions and render
what they return; nothing here prints. Each enabled detector runs exactly once per
:func:`detect`, Sigma included (it is the registered detector ``sigma``), with the config
file, the command-line options and a lead's thresholds from the review store applied in
that order.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from bluebench.alerts.store import save_alerts
from bluebench.detectors import build_detectors, load_config, shared_run
from bluebench.detectors.base import Detector, prepare_views
from bluebench.detectors.sigma_rules import SigmaRules
from bluebench.engines import Engine
from bluebench.errors import ConfigError
from bluebench.events.workspace import FileResult, IngestSummary, Workspace
from bluebench.incidents import GroupingReport, group_alerts, load_assets, load_grouping_params
from bluebench.schema import Alert
from bluebench.sources import InputFile, ReadOptions, discover
from bluebench.sources.limits import load_limits

if TYPE_CHECKING:  # pySigma loads only when rules run
    from bluebench.sigma import RuleSet


@dataclass(frozen=True)
class Timing:
    """Wall and CPU seconds of one step: CPU beside wall shows whether a step waited or worked."""

    wall_s: float = 0.0
    cpu_s: float = 0.0

    def to_json(self) -> dict[str, float]:
        return {"wall_s": round(self.wall_s, 3), "cpu_s": round(self.cpu_s, 3)}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@contextmanager
def _timed(into: list[Timing]) -> Iterator[None]:
    """Append the block's timing to ``into`` (a list, so the caller reads it after the block)."""
    w0, c0 = time.perf_counter(), _cpu()
    try:
        yield
    finally:
        into.append(Timing(time.perf_counter() - w0, _cpu() - c0))


# ------------------------------------------------------------------ ingest


def input_files(paths: Sequence[str]) -> list[InputFile]:
    """The files under the user's paths; none at all is a usage error, not an empty run."""
    files = list(discover(list(paths)))
    if not files:
        raise ConfigError(f"no files found under {', '.join(paths)}")
    return files


def ingest(
    ws: Workspace,
    files: Sequence[InputFile],
    options: ReadOptions | None = None,
    progress: Callable[[FileResult], None] | None = None,
) -> IngestSummary:
    """Read, normalise and store ``files``; what was skipped and why is in the summary."""
    return ws.ingest(files, options, progress=progress)


# ------------------------------------------------------------------ detect


@dataclass(frozen=True)
class RuleOptions:
    """Sigma rules named on the command line, and the filters that keep some of them."""

    rules: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def overrides(self) -> dict[str, dict[str, Any]]:
        """The ``[sigma]`` parameters these options set (none when no rules were named)."""
        if not self.rules:
            return {}
        return {
            "sigma": {
                "rules": list(self.rules),
                "status": list(self.status),
                "level": list(self.levels),
                "tag": list(self.tags),
            }
        }


@dataclass(frozen=True)
class DetectOptions:
    """What a detection run uses: config file, options, and a lead's thresholds from review."""

    config: str | Path | None = None
    #: Only these detector ids (empty: every enabled one). Naming rules adds ``sigma``.
    only: tuple[str, ...] = ()
    sigma: RuleOptions = RuleOptions()
    #: ``min_score`` per detector as a lead set it in the review store; wins over the config.
    thresholds: Mapping[str, float] = field(default_factory=dict)
    #: Record a detector's DuckDB error (a query spilling past the temp limit) and go on with
    #: the others, as benchmarks at scale need; otherwise the error stops the run.
    keep_going: bool = False


@dataclass(frozen=True)
class DetectorRun:
    """One detector's part of a run: alerts kept, time, and what it said about itself."""

    id: str
    alerts: int
    timing: Timing
    notes: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class SigmaRun:
    """What the Sigma detector loaded and read, for the caller to report (failures with reasons)."""

    ruleset: RuleSet
    events_seen: int
    engine: str


@dataclass
class DetectReport:
    """A detection run: the alerts stored, each detector's run, and the thresholds a lead set."""

    alerts: list[Alert]
    runs: list[DetectorRun]
    engine: str
    #: Each lead threshold applied (detector -> min_score), for the caller to say so.
    thresholds: dict[str, float]
    sigma: SigmaRun | None = None
    views: Timing = Timing()
    save: Timing = Timing()

    @property
    def timing(self) -> Timing:
        """The whole detection: views, every detector and storing the alerts."""
        parts = [self.views, self.save, *(r.timing for r in self.runs)]
        return Timing(sum(t.wall_s for t in parts), sum(t.cpu_s for t in parts))


def detector_config(options: DetectOptions) -> dict[str, dict[str, Any]]:
    """Every detector's parameters: defaults, the config file, the options, then a lead's thresholds."""
    cfg = load_config(options.config, options.sigma.overrides())
    for det, value in options.thresholds.items():
        if det in cfg:
            cfg[det]["min_score"] = value
    return cfg


def selected_detectors(options: DetectOptions) -> list[Detector]:
    """The detectors a run executes, in registration order (Sigma only when it has rules)."""
    only = list(options.only)
    if only and options.sigma.rules and SigmaRules.id not in only:
        only.append(SigmaRules.id)
    return build_detectors(detector_config(options), only or None, load_limits(options.config))


def detect(
    con: duckdb.DuckDBPyConnection, options: DetectOptions | None = None, engine: Engine | None = None
) -> DetectReport:
    """Run every selected detector once (on ``engine``, else DuckDB) and replace their stored alerts.

    A detector that is not configured (Sigma without rules) does not run, and its stored
    alerts stay as they were.
    """
    options = options or DetectOptions()
    detectors = selected_detectors(options)
    runner: Engine | duckdb.DuckDBPyConnection = engine or con
    views: list[Timing] = []
    with _timed(views):
        prepare_views(runner)
    alerts: list[Alert] = []
    on = getattr(engine, "name", "duckdb")
    runnable = [d for d in detectors if d.spark_ready or on == "duckdb"]
    with shared_run(runner, runnable):  # what several detectors read, worked out once
        runs = [_run_one(d, runner, options.keep_going, alerts) for d in runnable]
    runs += [
        _not_run(d, f"{d.id}: not run on {on}: its SQL runs on DuckDB only")
        for d in detectors
        if d not in runnable
    ]
    save: list[Timing] = []
    with _timed(save):
        save_alerts(con, alerts, [d.id for d in runnable])
    applied = {d.id: v for d in detectors for k, v in options.thresholds.items() if k == d.id}
    return DetectReport(
        alerts=alerts,
        runs=runs,
        engine=getattr(engine, "name", "duckdb"),
        thresholds=dict(sorted(applied.items())),
        sigma=_sigma_run(detectors, getattr(engine, "name", "duckdb")),
        views=views[0],
        save=save[0],
    )


def _run_one(
    det: Detector, runner: Engine | duckdb.DuckDBPyConnection, keep_going: bool, into: list[Alert]
) -> DetectorRun:
    """One detector, timed; its alerts are added to ``into``."""
    error = None
    found: list[Alert] = []
    timing: list[Timing] = []
    with _timed(timing):
        try:
            found = det.detect(runner)
        except duckdb.Error as exc:
            if not keep_going:
                raise
            error = " ".join(str(exc).split())[:300]
    into.extend(found)
    return DetectorRun(det.id, len(found), timing[0], tuple(det.notes), error)


def _not_run(det: Detector, why: str) -> DetectorRun:
    """A detector this engine cannot run: no alerts, its stored ones kept, and why."""
    timing: list[Timing] = []
    with _timed(timing):
        pass
    return DetectorRun(det.id, 0, timing[0], (why,))


def _sigma_run(detectors: Sequence[Detector], engine: str) -> SigmaRun | None:
    for d in detectors:
        if isinstance(d, SigmaRules) and d.ruleset is not None:
            return SigmaRun(d.ruleset, d.events_seen, engine)
    return None


def lead_thresholds(workspace: Path, db: str | None = None) -> dict[str, float]:
    """The thresholds leads set in the review store (none when no store exists yet)."""
    from bluebench.review import ReviewStore

    if db is None and not os.environ.get("BLUEBENCH_DB") and not (workspace / "review.db").exists():
        return {}
    with ReviewStore.for_workspace(workspace, db) as store:
        return {d: s.threshold for d, s in store.detector_settings().items() if s.threshold is not None}


# ------------------------------------------------------------------ group


def group(
    con: duckdb.DuckDBPyConnection, grouping: str | Path | None = None, assets: str | Path | None = None
) -> GroupingReport:
    """Replace the stored incidents with a fresh grouping of every stored alert."""
    return group_alerts(con, load_grouping_params(grouping), load_assets(assets))


# ------------------------------------------------------------------ the whole job


@dataclass
class RunReport:
    """What one scan did, stage by stage, for the caller to render."""

    ingest: IngestSummary
    detect: DetectReport
    grouping: GroupingReport
    ingest_timing: Timing = Timing()


def scan(
    ws: Workspace,
    files: Sequence[InputFile],
    read: ReadOptions | None = None,
    options: DetectOptions | None = None,
    grouping: str | Path | None = None,
    assets: str | Path | None = None,
    progress: Callable[[FileResult], None] | None = None,
) -> RunReport:
    """Ingest ``files``, run every detector once over everything stored, then group incidents."""
    timing: list[Timing] = []
    with _timed(timing):
        summary = ingest(ws, files, read, progress)
    report = detect(ws.con, options)
    return RunReport(summary, report, group(ws.con, grouping, assets), timing[0])
