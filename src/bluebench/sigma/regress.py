"""SigmaHQ's regression tests: for each folder with an ``info.yml``, the rule it names must
match the EVTX beside it (exactly ``match_count`` times where one is given).

Rule files are indexed by their ``id:`` line first, so only the rules under test are
compiled, whatever the size of the rules folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from bluebench.sigma.engine import SigmaEngine
from bluebench.sigma.rules import RuleSet, compile_rules, rule_files
from bluebench.sigma.source import ReadReport, file_batches

ID_LINE = re.compile(r"^id:\s*['\"]?([0-9A-Za-z-]+)", re.MULTILINE)


@dataclass
class RegressionResult:
    """One regression test: the rule, what was expected, what happened."""

    folder: str
    rule_id: str
    title: str
    expected: int | None  # None: at least one match
    actual: int | None  # None: not run
    error: str | None = None

    @property
    def passed(self) -> bool:
        if self.actual is None:
            return False
        return self.actual > 0 if self.expected is None else self.actual == self.expected


def index_rules(rules: Iterable[str | Path]) -> dict[str, tuple[Path, str]]:
    """Rule id -> (file, display name), from each file's ``id:`` line (no YAML parse)."""
    out: dict[str, tuple[Path, str]] = {}
    for path, display in rule_files(rules):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for m in ID_LINE.finditer(text):
            out.setdefault(m.group(1), (path, display))
    return out


def run_regression(rules: list[str], data: list[str]) -> list[RegressionResult]:
    """Run every regression folder under ``data`` against the rules under ``rules``."""
    index = index_rules(rules)
    results: list[RegressionResult] = []
    for root in data:
        for info in sorted(Path(root).rglob("info.yml")):
            results.extend(_one(info, index))
    return results


def _one(info: Path, index: dict[str, tuple[Path, str]]) -> list[RegressionResult]:
    folder = info.parent.as_posix()
    try:
        meta = yaml.safe_load(info.read_text(encoding="utf-8")) or {}
        rule_meta = (meta.get("rule_metadata") or [{}])[0]
        rid, title = str(rule_meta.get("id", "")), str(rule_meta.get("title", ""))
        tests = meta.get("regression_tests_info") or []
    except (OSError, yaml.YAMLError, AttributeError, IndexError) as exc:
        return [RegressionResult(folder, "", "", None, None, f"info.yml not readable: {exc}")]
    if not tests:
        return [RegressionResult(folder, rid, title, None, None, "info.yml lists no regression test")]
    if rid not in index:
        return [RegressionResult(folder, rid, title, None, None, "rule not found under --rules")]
    path, display = index[rid]
    rs = compile_rules([path])
    rule = next((r for r in rs.rules if r.id == rid), None)
    out = []
    for t in tests:
        expected = t.get("match_count")
        expected = int(expected) if expected is not None else None
        if rule is None:
            why = rs.failures[0].reason if rs.failures else "rule did not compile"
            out.append(RegressionResult(folder, rid, title, expected, None, f"{display}: {why}"))
            continue
        if t.get("type", "evtx") != "evtx":
            out.append(
                RegressionResult(
                    folder, rid, title, expected, None, f"test type {t.get('type')} not supported"
                )
            )
            continue
        evtx = info.parent / Path(str(t.get("path", ""))).name
        if not evtx.is_file():
            out.append(RegressionResult(folder, rid, title, expected, None, f"{evtx.name}: no such file"))
            continue
        engine = SigmaEngine(RuleSet(rules=[rule]))
        report = ReadReport()
        engine.run(file_batches([str(evtx)], report, con=engine.connection))
        err = "; ".join(str(s) for s in report.skipped[:3]) or None
        out.append(RegressionResult(folder, rid, title, expected, engine.matches[rid].count, err))
    return out
