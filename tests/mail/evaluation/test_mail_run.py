"""The whole evaluation runs on the shipped sample and holds together."""

from __future__ import annotations

import json

from bluebench.mail.evaluation.results import MailEvaluation


def test_evaluate_runs_end_to_end_on_the_shipped_sample(evaluation: MailEvaluation) -> None:
    keys = [r.key for r in evaluation.rows]
    assert keys[:2] == ["keyword_rules", "tfidf_lr"] and "all" in keys and "all_with_era" in keys
    phishing_in_test = sum(s.test for s in evaluation.data.split.sources if s.label == "phishing")
    for r in evaluation.rows:
        assert r.test.counts.tp + r.test.counts.fn == phishing_in_test
    assert len(evaluation.heaviest) == 20
    assert evaluation.drift.months
    assert [r.feedback for r in evaluation.retraining or ()] == ["reviewed", "all"]
    assert evaluation.kfold.gap["recall"] == (
        (evaluation.kfold.metrics.recall.value or 0.0) - (evaluation.row("all").test.recall.value or 0.0)
    )
    json.dumps(evaluation.to_json())  # storable as it is


def test_the_stored_json_reads_back_as_the_same_evaluation(evaluation: MailEvaluation) -> None:
    stored = json.loads(json.dumps(evaluation.to_json()))
    assert list(stored)[:5] == ["target_fpr", "review_budget_per_1000", "data", "rows", "thresholds"]
    assert stored["retraining"][0]["key"] == "reviewed"
    again = MailEvaluation.from_json(stored)
    assert again.to_json() == stored
    inputs = again.with_inputs(["mail/"], "labels.csv", ["x.eml #1: empty"]).to_json()["data"]
    assert list(inputs)[-3:] == ["paths", "labels", "unreadable"] and inputs["paths"] == ["mail/"]
