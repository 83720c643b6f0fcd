"""Facts: every number of a run, each re-resolvable from its source; nothing invented as zero."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from bluebench.errors import BluebenchError
from bluebench.evaluation.metrics import Rate
from bluebench.reports.facts import FactError, FactResolver, collect_facts, open_workspace
from report_runs import DemoRun


def test_every_fact_resolves_again_to_its_value(demo_run: DemoRun) -> None:
    facts = collect_facts(demo_run.workspace)
    assert len(facts) > 50
    con = open_workspace(demo_run.workspace)
    try:
        resolver = FactResolver(con, demo_run.workspace)
        for f in facts:
            r = resolver.resolve(f.source)
            assert (r.value, r.low, r.high) == (f.value, f.low, f.high), f.key
    finally:
        con.close()


def test_counts_match_the_tables(demo_run: DemoRun) -> None:
    facts = collect_facts(demo_run.workspace)
    con = duckdb.connect(str(demo_run.workspace / "bluebench.duckdb"), read_only=True)
    try:
        events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        alerts = con.execute("SELECT count(*) FROM alerts").fetchall()[0][0]
        by_det = dict(con.execute("SELECT detector, count(*) FROM alerts GROUP BY 1").fetchall())
    finally:
        con.close()
    assert facts.get("workspace/events").value == events  # type: ignore[union-attr]
    assert facts.get("alerts/count").value == alerts  # type: ignore[union-attr]
    for det, n in by_det.items():
        assert facts.get(f"alerts/detector/{det}").value == n  # type: ignore[union-attr]


def test_evaluation_rates_are_recomputed_from_counts(demo_run: DemoRun) -> None:
    facts = collect_facts(demo_run.workspace)
    assert facts.evaluations() == ["evtx_labels", "labels"]
    p = facts.get("eval/labels/overall/precision")
    tp, fp = facts.get("eval/labels/overall/tp"), facts.get("eval/labels/overall/fp")
    assert p is not None and tp is not None and fp is not None
    rate = Rate(int(tp.value), int(tp.value) + int(fp.value))
    assert p.value == rate.value and (p.low, p.high) == rate.interval
    assert p.unit == "alert" and p.source.startswith("evaluations/")


def test_a_tampered_stored_value_does_not_leak_into_facts(demo_copy: DemoRun) -> None:
    """The stored 'value' is ignored: counts decide, so an edited value cannot be cited."""
    con = duckdb.connect(str(demo_copy.workspace / "bluebench.duckdb"))
    eid, raw = con.execute("SELECT id, result FROM evaluations ORDER BY run_at DESC LIMIT 1").fetchall()[0]
    result = json.loads(raw)
    true_value = result["overall"]["precision"]["value"]
    result["overall"]["precision"]["value"] = 0.999
    con.execute("UPDATE evaluations SET result = ? WHERE id = ?", [json.dumps(result), eid])
    con.close()
    facts = collect_facts(demo_copy.workspace)
    assert facts.by_source(f"evaluations/{eid}/overall/precision").value == true_value  # type: ignore[union-attr]


def test_review_facts_come_from_the_verdicts(demo_run: DemoRun) -> None:
    facts = collect_facts(demo_run.workspace)
    for verdict in ("true_positive", "false_positive", "benign_true_positive", "needs_info"):
        assert facts.get(f"review/verdicts/{verdict}").value == 1  # type: ignore[union-attr]
    assert facts.get("review/reviewed").value == 4  # type: ignore[union-attr]
    p = facts.get("review/precision")
    assert p is not None and p.value == 2 / 3 and (p.low, p.high) == Rate(2, 3).interval
    assert facts.get("incidents/count").value >= 4  # type: ignore[union-attr,operator]


def test_missing_stages_are_absent_not_zero(demo_copy: DemoRun) -> None:
    con = duckdb.connect(str(demo_copy.workspace / "bluebench.duckdb"))
    con.execute("DROP TABLE IF EXISTS incident_alerts")
    con.execute("DROP TABLE IF EXISTS incidents")
    con.close()
    (demo_copy.workspace / "review.db").unlink()
    facts = collect_facts(demo_copy.workspace)
    assert facts.get("incidents/count") is None
    assert facts.get("review/precision") is None  # no review store: no verdicts, not precision 0


@pytest.mark.parametrize(
    "source",
    [
        "nothing/here",
        "workspace/nope",
        "evaluations/0000/overall/precision",
        "alerts/detector",
        "quality/not_a_field",
        "mail/rows/all/test/precision",  # no mail JSON given
        "calc/minutes_saved/abc",
    ],
)
def test_unknown_sources_fail_clearly(demo_run: DemoRun, source: str) -> None:
    con = open_workspace(demo_run.workspace)
    try:
        with pytest.raises(FactError):
            FactResolver(con, demo_run.workspace).resolve(source)
    finally:
        con.close()


def test_mail_evaluation_facts(demo_run: DemoRun, tmp_path: Path) -> None:
    mail = {
        "target_fpr": 0.001,
        "data": {"messages": 50, "classes": {"ham": 30, "phishing": 20}, "split": {"train": 35, "test": 15}},
        "rows": [
            {
                "key": "all",
                "test": {
                    "threshold": 0.7,
                    "precision": {"k": 9, "n": 10, "value": 0.5, "ci95": [0.1, 0.2]},
                    "recall": {"k": 9, "n": 12, "value": 0.75, "ci95": [0.5, 0.9]},
                    "f1": {"value": 0.8, "ci95": [0.6, 0.9]},
                    "fpr": {"k": 1, "n": 30, "value": 1 / 30, "ci95": [0.0, 0.2]},
                    "pr_auc": {"value": 0.9, "ci95": [0.8, 0.95]},
                },
            }
        ],
        "retraining": [
            {
                "key": "reviewed",
                "recall": {"k": 8, "n": 12, "value": 0.5, "ci95": [0.1, 0.2]},
                "fpr": {"k": 2, "n": 30, "value": 2 / 30, "ci95": [0.0, 0.2]},
                "modern_ham_fpr": {"k": 0, "n": 10, "value": 0.0, "ci95": [0.0, 0.3]},
                "spam_flagged": {"k": 1, "n": 4, "value": 0.25, "ci95": [0.0, 0.7]},
            }
        ],
    }
    path = tmp_path / "mail.json"
    path.write_text(json.dumps(mail))
    facts = collect_facts(demo_run.workspace, mail_evaluation=path)
    p = facts.get("mail/rows/all/test/precision")
    assert p is not None and p.value == 0.9  # recomputed from k/n, not the stored 0.5
    assert (p.low, p.high) == Rate(9, 10).interval
    assert facts.get("mail/data/classes/phishing").value == 20  # type: ignore[union-attr]
    assert facts.get("mail/rows/all/test/threshold").value == 0.7  # type: ignore[union-attr]
    r = facts.get("mail/retraining/reviewed/recall")
    assert r is not None and r.value == 8 / 12  # from k/n
    assert facts.get("mail/retraining/reviewed/modern_ham_fpr").value == 0.0  # type: ignore[union-attr]
    assert json.loads(json.dumps(facts.to_json()))["mail_evaluation"] == "mail.json"


def test_bad_inputs_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(BluebenchError, match="no bluebench workspace"):
        collect_facts(tmp_path / "missing")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    (tmp_path / "ws").mkdir()
    with pytest.raises(BluebenchError, match=r"bad\.json"):
        collect_facts(tmp_path / "ws", mail_evaluation=bad)
