"""``verify`` against the substitutions a hostile probe slipped past it: every name, technique, metric
and action in a sentence is checked against what that sentence cites, not against the run at large.

Each test takes a document the demo run wrote (it verifies clean), changes one thing to another
value that exists elsewhere in the run, and expects a failure naming it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from bluebench.reports.facts import open_workspace
from bluebench.reports.report import ReportOptions, write_report
from bluebench.reports.timeline import build_timeline
from bluebench.reports.verify import Verifier
from report_runs import DemoRun


@pytest.fixture(scope="module")
def con(demo_run: DemoRun) -> Iterator[duckdb.DuckDBPyConnection]:
    c = open_workspace(demo_run.workspace, read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def verifier(con: duckdb.DuckDBPyConnection, demo_run: DemoRun) -> Iterator[Verifier]:
    v = Verifier(con, demo_run.workspace)
    yield v
    v.resolver.close()


@pytest.fixture(scope="module")
def report(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("names") / "report.md"
    return write_report(demo_run.workspace, out, ReportOptions()).read_text(encoding="utf-8")


def _alert(con: duckdb.DuckDBPyConnection, detector: str) -> str:
    return str(con.execute("SELECT min(id) FROM alerts WHERE detector = ?", [detector]).fetchall()[0][0])


def _reasons(verifier: Verifier, text: str) -> list[str]:
    return [f.reason for f in verifier.verify_text(text).failures]


def _swap(doc: str, line: str, old: str, new: str) -> str:
    assert old in line, (old, line)
    return doc.replace(line, line.replace(old, new, 1))


def _line(doc: str, pattern: str) -> str:
    return next(ln for ln in doc.splitlines() if re.search(pattern, ln))


def test_the_documents_verify_before_any_change(
    verifier: Verifier, report: str, con: duckdb.DuckDBPyConnection
) -> None:
    assert _reasons(verifier, report) == []
    assert _reasons(verifier, build_timeline(con, _alert(con, "log_cleared")).to_markdown()) == []


def test_a_technique_changed_to_another_real_technique_fails(verifier: Verifier, report: str) -> None:
    line = _line(report, r"^- `brute_force` \(")
    assert verifier.technique_known("T1110.003")  # it exists in the run: password spraying
    reasons = _reasons(verifier, _swap(report, line, "T1110.001", "T1110.003"))
    assert any("T1110.003" in r and "brute_force" in r for r in reasons), reasons


def test_a_technique_name_changed_fails(verifier: Verifier, report: str) -> None:
    line = _line(report, r"^- `brute_force` \(")
    reasons = _reasons(verifier, _swap(report, line, "password guessing", "password spraying"))
    assert any("password spraying" in r for r in reasons), reasons


@pytest.mark.parametrize("other", ["password_spray", "brute_forcer"])
def test_a_detector_id_changed_to_another_or_to_none_fails(
    verifier: Verifier, report: str, other: str
) -> None:
    row = _line(report, r"^\| `brute_force` \|")
    reasons = _reasons(verifier, _swap(report, row, "`brute_force`", f"`{other}`"))
    assert any(other in r for r in reasons), reasons


def test_a_detector_changed_in_a_sentence_about_its_figure_fails(verifier: Verifier, report: str) -> None:
    line = _line(report, r"^The weakest measured (?:recall|precision) is that of `")
    named = re.search(r"that of `([a-z_]+)`", line)
    assert named
    other = "brute_force" if named.group(1) != "brute_force" else "password_spray"
    reasons = _reasons(verifier, _swap(report, line, f"`{named.group(1)}`", f"`{other}`"))
    assert any("is about " + named.group(1) in r for r in reasons), reasons


@pytest.mark.parametrize("other", ["winlogbeat", "otrf"])
def test_a_source_type_changed_fails(verifier: Verifier, report: str, other: str) -> None:
    line = _line(report, r"^- `evtx`: ")
    reasons = _reasons(verifier, _swap(report, line, "`evtx`", f"`{other}`"))
    assert any(other in r for r in reasons), reasons


def test_a_metric_renamed_fails(verifier: Verifier, report: str) -> None:
    line = _line(report, r"^Precision \d")
    reasons = _reasons(verifier, _swap(report, line, "Precision", "Recall"))
    assert any("is called 'Recall'" in r for r in reasons), reasons


def test_an_event_credited_to_the_wrong_detector_fails(
    verifier: Verifier, con: duckdb.DuckDBPyConnection
) -> None:
    md = build_timeline(con, _alert(con, "log_cleared")).to_markdown()
    line = _line(md, r"detector `log_cleared` raised")
    reasons = _reasons(verifier, _swap(md, line, "`log_cleared`", "`account_created`"))
    assert any("account_created" in r and "log_cleared" in r for r in reasons), reasons


@pytest.mark.parametrize("renamed", ["Account deleted by", "Account creation by", "Password reset by"])
def test_what_happened_renamed_fails(
    verifier: Verifier, con: duckdb.DuckDBPyConnection, renamed: str
) -> None:
    md = build_timeline(con, _alert(con, "log_cleared")).to_markdown()
    line = _line(md, r"Log cleared by")
    reasons = _reasons(verifier, _swap(md, line, "Log cleared by", renamed))
    assert any("log-cleared" in r for r in reasons), reasons


def test_a_technique_name_in_a_timeline_sentence_fails_when_no_cited_alert_reports_it(
    verifier: Verifier, con: duckdb.DuckDBPyConnection
) -> None:
    md = build_timeline(con, _alert(con, "log_cleared")).to_markdown()
    line = _line(md, r"Log cleared by")
    reasons = _reasons(verifier, _swap(md, line, "clearing event logs", "password spraying"))
    assert any("password spraying" in r for r in reasons), reasons


@pytest.mark.parametrize("word", ["FINANCE", "backupbox", "Mallory-PC"])
def test_an_invented_plain_word_after_from_fails(
    verifier: Verifier, con: duckdb.DuckDBPyConnection, word: str
) -> None:
    md = build_timeline(con, _alert(con, "log_cleared")).to_markdown()
    line = _line(md, r"Log cleared by")
    reasons = _reasons(verifier, md.replace(line, line.replace(" on `", f" from {word} on `", 1)))
    assert any(word in r and "from" in r for r in reasons), reasons


@pytest.mark.parametrize("kind", ["raised", "titled"])
def test_a_bad_escape_in_a_quoted_title_fails_instead_of_crashing(
    verifier: Verifier, con: duckdb.DuckDBPyConnection, kind: str
) -> None:
    md = build_timeline(con, _alert(con, "log_cleared")).to_markdown()
    bad = re.sub(rf'{kind} "([^"]*)"', lambda m: f'{kind} "{m.group(1)}\\a"', md, count=1)
    assert bad != md
    reasons = _reasons(verifier, bad)
    assert any("not a valid quoted string" in r for r in reasons), reasons


def test_the_demo_report_in_html_still_verifies(
    verifier: Verifier, demo_run: DemoRun, tmp_path: Path
) -> None:
    """Fact marks inline in HTML ({fact:SOURCE}) hold detector names and metrics: they are not words."""
    page = write_report(demo_run.workspace, tmp_path / "r.html", ReportOptions()).read_text(encoding="utf-8")
    assert verifier.verify_text(page, "html").ok
