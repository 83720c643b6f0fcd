"""bluebench drill on the command line: exit codes, JSON, and a real run's facts end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from drill_facts import run_facts
from typer.testing import CliRunner

import bluebench.reports.facts as facts_module
from bluebench.cli.app import app
from bluebench.drill.measured import Measured, read_facts
from bluebench.reports.facts import collect_facts

ANSWERS = Path(__file__).resolve().parent.parent / "data" / "drill"


@pytest.fixture
def hand_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads the hand-built run instead of a workspace (it imports the facts when a command runs)."""
    monkeypatch.setattr(facts_module, "collect_facts", lambda *a, **k: run_facts())


def test_check_exit_codes(hand_built: None) -> None:
    r = CliRunner().invoke(app, ["drill", "check", str(ANSWERS / "honest_brute_force.md")])
    assert r.exit_code == 0, r.output
    assert "**Verdict:** passes." in r.output
    r = CliRunner().invoke(app, ["drill", "check", str(ANSWERS / "overclaim_interval.md")])
    assert r.exit_code == 1
    assert "\u201cprecision of 97%\u201d" in r.output


def test_check_json(hand_built: None) -> None:
    r = CliRunner().invoke(app, ["drill", "check", str(ANSWERS / "absolute_claims.md"), "--json"])
    assert r.exit_code == 1
    card = json.loads(r.output)
    assert card["passed"] is False and card["blocking"] >= 5
    assert {"eliminated", "never misses an attack"} <= {
        " ".join(f["quote"].split()) for f in card["findings"]
    }


def test_check_missing_file_is_a_usage_error(hand_built: None, tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["drill", "check", str(tmp_path / "nope.md")])
    assert r.exit_code == 2
    assert "nope.md" in r.output


def test_questions_and_ask_json(hand_built: None) -> None:
    r = CliRunner().invoke(app, ["drill", "questions", "--json", "--alerts-per-day", "30"])
    assert r.exit_code == 0, r.output
    qs = json.loads(r.output)
    assert qs[0]["id"] == "weakest-precision" and qs[0]["facts"][0]["source"]
    r = CliRunner().invoke(app, ["drill", "ask", "--role", "detection-engineer"])
    assert r.exit_code == 0 and "AI-generated detection" in r.output
    assert CliRunner().invoke(app, ["drill", "ask", "--role", "ciso"]).exit_code == 2


def test_real_run_end_to_end(demo_run: Any, tmp_path: Path) -> None:
    """Questions from a real workspace cite its facts; answers built from them pass or fail."""
    facts = collect_facts(demo_run.workspace)
    ws = str(demo_run.workspace)
    r = CliRunner().invoke(app, ["drill", "questions", "-w", ws, "--json"])
    assert r.exit_code == 0, r.output
    cited = [f["key"] for q in json.loads(r.output) for f in q["facts"]]
    assert cited and all(k in facts for k in cited)

    # A rate with room above every interval measured for its subject (in any evaluation), so that
    # a bolder figure is an overclaim whichever evaluation the answer meant.
    ms = read_facts(facts)

    def top(m: Measured) -> float:
        return max((o.high or 1.0) for o in ms if o.metric == m.metric and o.subject == m.subject)

    m = next(m for m in ms if m.metric in ("precision", "recall") and m.kind == "detector" and top(m) <= 0.9)
    p = m.fact
    assert p.high is not None
    said = m.text().split(" (")[0]
    subject = f"the {m.subject.replace('_', ' ')} detector had {m.metric}"
    honest = tmp_path / "honest.md"
    honest.write_text(
        "Our SOC had a backlog of credential alerts. I built detectors and set each threshold for the "
        f"alert budget. We validated them against labelled events: {subject} of {said}. "
        "Analysts review every alert before it is closed. It misses slow attacks; next time I would "
        "label those first.",
        encoding="utf-8",
    )
    r = CliRunner().invoke(app, ["drill", "check", str(honest), "-w", ws])
    assert r.exit_code == 0, r.output
    bold = tmp_path / "bold.md"
    bold.write_text(honest.read_text().replace(said, f"{(top(m) + 0.05) * 100:.1f}%"), encoding="utf-8")
    r = CliRunner().invoke(app, ["drill", "check", str(bold), "-w", ws, "--json"])
    assert r.exit_code == 1
    card = json.loads(r.output)
    overclaims = [f["facts"][0] for f in card["findings"] if f["kind"] == "overclaim"]
    assert len(overclaims) == 1 and read_facts([facts.get(overclaims[0])])[0].subject == m.subject  # type: ignore[list-item]
