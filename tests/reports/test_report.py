"""The case-study report: built from a demo-like run, verified clean, and no number can be changed
or uncited without ``verify`` failing."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bluebench.errors import BluebenchError
from bluebench.reports.facts import open_workspace
from bluebench.reports.report import ReportOptions, write_report
from bluebench.reports.verify import Verifier
from report_runs import ROOT, DemoRun

MARK = re.compile(r"(\d{4}-\d{2}-\d{2}|\d{4}-\d{2}|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\[\^(f\d+)\]")
SPAN = re.compile(r'<span data-fact="([^"]+)">([^<]+)</span>')


@pytest.fixture(scope="module")
def reports(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("report")
    texts = {}
    for name in ("report.md", "report.html"):
        path = write_report(demo_run.workspace, out / name, ReportOptions(minutes_per_alert=7))
        texts[name] = path.read_text(encoding="utf-8")
    assert (out / "report-charts" / "pr_curve.png").is_file()
    return texts


@pytest.fixture(scope="module")
def verifier(demo_run: DemoRun) -> Iterator[Verifier]:
    con = open_workspace(demo_run.workspace, read_only=True)
    v = Verifier(con, demo_run.workspace)
    yield v
    v.resolver.close()
    con.close()


def changed(shown: str) -> str:
    """The same number with its last digit moved by one (a date moves by a day or month)."""
    last = shown[-1]
    return shown[:-1] + ("1" if last == "0" else str(int(last) - 1))


def test_reports_verify_clean(reports: dict[str, str], verifier: Verifier) -> None:
    for name, text in reports.items():
        result = verifier.verify_text(text, "html" if name.endswith("html") else "md")
        assert result.ok, [str(f) for f in result.failures][:10]
        assert result.facts > 100


def test_story_order_and_contents(reports: dict[str, str]) -> None:
    md = reports["report.md"]
    heads = [line for line in md.splitlines() if line.startswith("## ")]
    assert [h.split(":")[0] for h in heads] == [
        "## Situation",
        "## Action",
        "## Result",
        "## Limits",
        "## Lesson",
    ]
    for needle in (
        "precision",
        "recall",
        "false-positive rate",
        "incidents",
        "Reviewer verdicts",
        "minutes per item",
    ):
        assert needle in md
    assert "7[^" in md  # the minutes per alert the user set, cited like every number


def test_html_is_self_contained_and_inert(reports: dict[str, str]) -> None:
    page = reports["report.html"]
    assert "<script" not in page and "<iframe" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) >= 4
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)


def test_every_number_changed_or_uncited_fails(reports: dict[str, str], verifier: Verifier) -> None:
    """Each cited number of the Markdown report, changed by one digit or stripped of its
    citation, makes the whole file fail verification."""
    md = reports["report.md"]
    marks = list(MARK.finditer(md))
    assert len(marks) > 100
    survived = []
    for m in marks:
        shown, note = m.group(1), m.group(2)
        tampered = md[: m.start()] + changed(shown) + f"[^{note}]" + md[m.end() :]
        uncited = md[: m.start()] + shown + md[m.end() :]
        for kind, doc in (("changed", tampered), ("uncited", uncited)):
            if verifier.verify_text(doc).ok:
                survived.append((kind, md[max(0, m.start() - 40) : m.end() + 5]))
    assert not survived, survived[:5]


def test_dropping_a_footnote_definition_fails(reports: dict[str, str], verifier: Verifier) -> None:
    md = reports["report.md"]
    lines = md.splitlines()
    defs = [i for i, line in enumerate(lines) if line.startswith("[^f")]
    for i in defs[:: max(1, len(defs) // 25)]:
        assert not verifier.verify_text("\n".join(lines[:i] + lines[i + 1 :])).ok, lines[i]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_html_numbers_changed_or_uncited_fail(
    reports: dict[str, str], verifier: Verifier, data: st.DataObject
) -> None:
    page = reports["report.html"]
    spans = list(SPAN.finditer(page))
    m = data.draw(st.sampled_from(spans))
    ref, shown = m.group(1), m.group(2)
    if data.draw(st.booleans()):
        doc = page[: m.start()] + f'<span data-fact="{ref}">{changed(shown)}</span>' + page[m.end() :]
    else:
        doc = page[: m.start()] + f"<span>{shown}</span>" + page[m.end() :]
    assert not verifier.verify_text(doc, "html").ok


def test_a_number_typed_by_hand_fails(reports: dict[str, str], verifier: Verifier) -> None:
    md = reports["report.md"].replace("## Limits", "We cut triage time by 40 hours a week.\n\n## Limits", 1)
    result = verifier.verify_text(md)
    assert not result.ok and any("40" in f.reason for f in result.failures)


def test_one_detector_report(demo_run: DemoRun, tmp_path: Path, verifier: Verifier) -> None:
    out = write_report(
        demo_run.workspace, tmp_path / "bf.md", ReportOptions(detector="brute_force", charts=False)
    )
    text = out.read_text()
    assert "`brute_force`" in text and "`kerberoasting`" not in text
    assert verifier.verify_text(text).ok
    with pytest.raises(BluebenchError, match="unknown detector"):
        write_report(demo_run.workspace, tmp_path / "x.md", ReportOptions(detector="nope"))


def test_report_with_mail_evaluation(demo_run: DemoRun, tmp_path: Path) -> None:
    import json

    mail = {
        "target_fpr": 0.001,
        "data": {"messages": 40, "classes": {"ham": 25, "phishing": 15}, "split": {"train": 28, "test": 12}},
        "rows": [
            {
                "key": "all",
                "test": {
                    "threshold": 0.61,
                    "precision": {"k": 4, "n": 5, "value": 0.8, "ci95": [0.4, 0.9]},
                    "recall": {"k": 4, "n": 6, "value": 0.66, "ci95": [0.3, 0.9]},
                    "f1": {"value": 0.72, "ci95": [0.5, 0.9]},
                    "fpr": {"k": 1, "n": 6, "value": 0.16, "ci95": [0.03, 0.56]},
                    "pr_auc": {"value": 0.8, "ci95": [0.6, 0.9]},
                },
            }
        ],
    }
    path = tmp_path / "mail.json"
    path.write_text(json.dumps(mail))
    out = write_report(
        demo_run.workspace, tmp_path / "r.md", ReportOptions(mail_evaluation=path, charts=False)
    )
    text = out.read_text()
    assert "Phishing mail classifier" in text and re.search(r"0\.610?\[\^", text)
    con = open_workspace(demo_run.workspace, read_only=True)
    try:
        assert Verifier(con, demo_run.workspace, mail).verify_text(text).ok
        # Without the mail JSON the mail numbers cannot be recomputed, so they fail.
        assert not Verifier(con, demo_run.workspace).verify_text(text).ok
    finally:
        con.close()


def test_cli_report_and_verify(demo_run: DemoRun, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import bluebench.cli  # noqa: F401  (registers the commands)
    from bluebench.cli.app import app

    runner = CliRunner()
    out = tmp_path / "r.html"
    res = runner.invoke(
        app, ["report", "--out", str(out), "-w", str(demo_run.workspace), "--minutes-per-alert", "3"]
    )
    assert res.exit_code == 0, res.output
    assert runner.invoke(app, ["verify", str(out), "-w", str(demo_run.workspace)]).exit_code == 0
    out.write_text(out.read_text().replace('data-fact="workspace/events"', "", 1))
    res = runner.invoke(app, ["verify", str(out), "-w", str(demo_run.workspace)])
    assert res.exit_code == 1 and "without citing evidence" in res.output
    assert runner.invoke(app, ["report", "--out", str(out), "-w", str(tmp_path / "none")]).exit_code == 2


CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def test_screenshot_of_the_html_report(reports: dict[str, str], tmp_path: Path) -> None:
    """Headless Chromium renders the report; the PNG lands in out/screenshots/ for people to look at."""
    if CHROMIUM is None:
        if os.environ.get("BLUEBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail("BLUEBENCH_REQUIRE_BROWSER=1 but no chromium was found")
        pytest.skip("no chromium on this machine (set BLUEBENCH_REQUIRE_BROWSER=1 to make this a failure)")
    page = tmp_path / "report.html"
    page.write_text(reports["report.html"], encoding="utf-8")
    shots = ROOT / "out" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    target = shots / "report.png"
    target.unlink(missing_ok=True)
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--hide-scrollbars",
            "--window-size=1280,4000",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={target}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000
