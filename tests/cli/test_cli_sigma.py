"""``sigma load`` says when the compiled rules came from the cache, and a changed rule compiles again."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import bluebench.cli  # noqa: F401  (registers the commands)
from bluebench.cli.app import app

RULE = """title: t
id: 00000000-0000-4000-8000-00000000000{n}
status: test
level: high
logsource: {{category: process_creation, product: windows}}
detection:
    sel:
        Image|endswith: '\\\\x{n}.exe'
    condition: sel
"""


def test_sigma_load_says_when_the_rules_came_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLUEBENCH_CACHE_DIR", str(tmp_path / "cache"))
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yml").write_text(RULE.format(n=1), encoding="utf-8")
    runner = CliRunner()

    def load() -> dict[str, object]:
        res = runner.invoke(app, ["sigma", "load", "--rules", str(rules), "--json"])
        assert res.exit_code == 0, res.output
        return dict(json.loads(res.stdout))

    assert load()["from_cache"] is False
    assert load()["from_cache"] is True
    (rules / "r.yml").write_text(RULE.format(n=2), encoding="utf-8")
    assert load()["from_cache"] is False
    text = runner.invoke(app, ["sigma", "load", "--rules", str(rules)])
    assert text.exit_code == 0 and "rule cache" in text.stdout and "loaded 1 rules" in text.stdout


@pytest.mark.skipif(not hasattr(os, "fork"), reason="workers are forked")
def test_sigma_run_prints_the_same_alerts_in_any_number_of_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLUEBENCH_CACHE_DIR", str(tmp_path / "cache"))
    data = Path(__file__).resolve().parents[1] / "data" / "sigma"
    runner = CliRunner()

    def run(jobs: str) -> str:
        args = ["sigma", "run", str(data / "regression"), "--rules", str(data / "rules"), "--json"]
        res = runner.invoke(app, [*args, "--limit", "0", "--jobs", jobs])
        assert res.exit_code == 0, res.output
        return res.stdout

    one = run("1")
    assert len(one.splitlines()) > 5  # the shipped rules match their regression EVTX
    assert run("3") == one == run("0")
