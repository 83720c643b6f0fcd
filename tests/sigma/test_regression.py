"""SigmaHQ's own regression tests on the shipped subset: each rule matches its EVTX as stated."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bluebench.cli import app
from bluebench.sigma.regress import run_regression

DATA = Path(__file__).parents[1] / "data" / "sigma"


def test_shipped_regression_subset_matches() -> None:
    results = run_regression([str(DATA / "rules")], [str(DATA / "regression")])
    assert len(results) == len(list((DATA / "regression").glob("*/info.yml"))) >= 15
    failed = [(r.rule_id, r.expected, r.actual, r.error) for r in results if not r.passed]
    assert failed == []
    assert sum(r.expected is not None for r in results) >= 15  # two info.yml give no count: any match


def test_regress_command_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        app, ["sigma", "regress", "--rules", str(DATA / "rules"), "--data", str(DATA / "regression")]
    )
    assert res.exit_code == 0, res.output
    assert res.output.count("PASS") >= 15 and "FAIL" not in res.output
    # A rule that matches nothing now: the test fails and the command says so.
    broken = tmp_path / "rules"
    broken.mkdir()
    src = DATA / "rules" / "proc_creation_win_sc_stop_service.yml"
    (broken / src.name).write_text(
        src.read_text(encoding="utf-8").replace("' stop '", "' nevermatches '"), encoding="utf-8"
    )
    res = runner.invoke(
        app,
        [
            "sigma",
            "regress",
            "--rules",
            str(broken),
            "--data",
            str(DATA / "regression" / "proc_creation_win_sc_stop_service"),
        ],
    )
    assert res.exit_code == 1
    assert "FAIL" in res.output and "expected 1 actual 0" in res.output


def test_load_command_groups_failures(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text(
        "title: x\nlogsource:\n    product: linux\ndetection:\n    s:\n        a: b\n    condition: s\n"
    )
    res = CliRunner().invoke(
        app, ["sigma", "load", "--rules", str(DATA / "rules"), "--rules", str(tmp_path), "--json"]
    )
    assert res.exit_code == 0
    import json

    got = json.loads(res.stdout)
    assert got["loaded"] == len(list((DATA / "rules").glob("*.yml"))) and got["failed"] == 1
    assert list(got["failures"]) == ["log source not mapped: product=linux"]
