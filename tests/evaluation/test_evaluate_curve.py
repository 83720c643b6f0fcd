"""The stored score curve: overall precision and recall at raised thresholds, for the charts."""

from __future__ import annotations

from eval_helpers import AUTH_DETECTORS, Labelled

from bluebench.alerts.store import load_alerts
from bluebench.evaluation.evaluate import (
    curve_thresholds,
    evaluate_alerts,
    save_evaluation,
    stored_evaluations,
)
from bluebench.evaluation.labels import load_labels


def test_curve_starts_at_every_alert_and_matches_overall(per_file: Labelled) -> None:
    alerts = load_alerts(per_file.ws.con)
    result = evaluate_alerts(per_file.ws.con, load_labels(per_file.labels), alerts, None, AUTH_DETECTORS)
    curve = result.curve
    assert curve, "a labelled run with alerts has a curve"
    assert curve[0]["min_score"] == min(a.score for a in alerts)
    assert curve[0]["alerts"] == len(alerts)
    assert curve[0]["precision"] == result.overall.measure.precision.to_json()
    assert curve[0]["recall"] == result.overall.measure.recall.to_json()
    kept = [p["alerts"] for p in curve]
    assert kept == sorted(kept, reverse=True)  # raising the threshold never adds alerts
    for p in curve:
        assert p["alerts"] == sum(1 for a in alerts if a.score >= p["min_score"])
        assert p["alerts_per_day"] == p["alerts"] / p["days"]
    save_evaluation(per_file.ws.con, result)
    assert stored_evaluations(per_file.ws.con)[-1]["curve"] == curve


def test_curve_thresholds_are_stored_scores() -> None:
    assert curve_thresholds([], 5) == []
    assert curve_thresholds([0.5, 0.2, 0.5], 5) == [0.2, 0.5]
    picked = curve_thresholds([i / 100 for i in range(100)], 5)
    assert picked == [0.0, 0.25, 0.5, 0.74, 0.99]
    assert curve_thresholds([0.1, 0.2], 0) == []
