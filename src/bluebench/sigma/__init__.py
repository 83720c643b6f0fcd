"""Sigma rules as a detector stage: pySigma parses, rules compile once, all run columnar.

``compile_rules`` (files/folders -> RuleSet with failures and reasons), ``SigmaEngine``
(batches -> matches), ``engine_alerts`` (matches -> ordinary alerts with detector id
``sigma``), ``run_regression`` (SigmaHQ's regression folders), and ``detect_workspace`` /
``detect_files`` that tie them together (files on several cores: ``workers``).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from bluebench.schema import Alert
from bluebench.sigma.alerts import DETECTOR_ID, engine_alerts
from bluebench.sigma.engine import SigmaEngine
from bluebench.sigma.rules import CompiledCorrelation, CompiledRule, RuleFailure, RuleSet, compile_rules
from bluebench.sigma.source import ReadReport, workspace_batches
from bluebench.sigma.workers import run_files
from bluebench.sources import discover

__all__ = [
    "DETECTOR_ID",
    "CompiledCorrelation",
    "CompiledRule",
    "ReadReport",
    "RuleFailure",
    "RuleSet",
    "SigmaEngine",
    "compile_rules",
    "detect_files",
    "detect_workspace",
    "engine_alerts",
]


def detect_workspace(
    con: duckdb.DuckDBPyConnection, ruleset: RuleSet, progress: Callable[[int], None] | None = None
) -> tuple[SigmaEngine, list[Alert]]:
    """All rules over every stored Windows event, streamed in batches; read-only."""
    engine = SigmaEngine(ruleset)
    engine.run(workspace_batches(con), progress)
    return engine, engine_alerts(engine)


def detect_files(
    paths: list[str], ruleset: RuleSet, report: ReadReport | None = None, jobs: int = 1
) -> tuple[SigmaEngine, list[Alert]]:
    """All rules over files read once and streamed, without a workspace, in up to ``jobs``
    processes (0: as many as cores, files and memory allow; the result does not depend on it)."""
    report = report if report is not None else ReadReport()
    engine = run_files(ruleset, list(discover(paths)), report, jobs)
    report.skipped.extend(engine.skipped)
    return engine, engine_alerts(engine)
