"""Precision from reviewers' verdicts: counts, interval, floor flags; tuning measured on verdicts."""

from __future__ import annotations

from datetime import datetime

import pytest

from bluebench.evaluation.metrics import VerdictPrecision, verdict_precision, wilson
from bluebench.evaluation.tune import labels_fingerprint, verdict_measure
from bluebench.schema import Alert


def _alert(i: int) -> Alert:
    t = datetime(2024, 1, 1, 0, i)
    return Alert("brute_force", "t", "low", 0.5, ["TA0006"], ["T1110"], {"user": f"u{i}"}, t, t, 1, ["r"])


def test_verdict_precision_flags_below_the_floor() -> None:
    rows = verdict_precision({"a": (1, 10), "b": (9, 10), "c": (0, 0)}, floor=0.5)
    by = {r.detector: r for r in rows}
    assert by["a"].precision.value == pytest.approx(0.1)
    assert by["a"].precision.interval == wilson(1, 10)
    assert by["a"].below_floor and by["a"].clearly_below_floor
    assert not by["b"].below_floor
    assert not by["c"].below_floor and by["c"].precision.value is None
    assert by["a"].to_json()["precision"]["ci95"] == list(wilson(1, 10) or ())


def test_a_few_bad_reviews_are_below_but_not_clearly() -> None:
    r = VerdictPrecision("d", verdict_precision({"d": (1, 3)})[0].precision, 0.5)
    assert r.below_floor and not r.clearly_below_floor
    assert not VerdictPrecision("d", r.precision, None).below_floor


def test_verdict_measure_counts_only_reviewed_alerts() -> None:
    alerts = [_alert(i) for i in range(6)]
    labels = {alerts[0].id: True, alerts[1].id: False, alerts[2].id: True, alerts[3].id: None}
    kept = alerts[:2]
    m = verdict_measure(kept, alerts, labels)
    assert (m.tp, m.fp, m.fn, m.tn) == (1, 1, 1, 0)
    assert m.precision.value == 0.5 and m.recall.value == 0.5
    assert m.units["precision"] == "reviewed alert"
    assert labels_fingerprint(labels) == labels_fingerprint(dict(reversed(list(labels.items()))))
