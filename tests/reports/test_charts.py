"""Charts: PNG bytes from stored results, the same bytes for the same data, 'no data' when empty."""

from __future__ import annotations

from typing import Any

import pytest

from bluebench.reports import charts

PNG = b"\x89PNG\r\n\x1a\n"


def _rate(k: int, n: int) -> dict[str, Any]:
    return {"k": k, "n": n, "value": k / n if n else None, "ci95": None}


def _evaluation() -> dict[str, Any]:
    curve = [
        {
            "min_score": t,
            "alerts": a,
            "alerts_per_day": a / 2.0,
            "precision": _rate(p, a),
            "recall": _rate(r, 10),
        }
        for t, a, p, r in ((0.2, 40, 10, 9), (0.5, 20, 9, 7), (0.9, 4, 4, 3))
    ]
    counts = {"TP": 9, "FP": 31, "FN": 1, "TN": 200, "detected": 9, "FP_on_negatives": 12}
    units = {"precision": "file", "recall": "file", "fpr": "file"}
    return {"curve": curve, "overall": {"counts": counts, "units": units}, "detectors": []}


def _mail() -> dict[str, Any]:
    test = {
        "threshold": 0.7,
        "counts": {"TP": 90, "FN": 10, "FP_ham": 3, "TN_ham": 297, "FP_spam": 5, "spam": 50},
        "precision": _rate(90, 98),
        "recall": _rate(90, 100),
    }
    months = [
        {
            "month": "2024-01",
            "counts": {"ham": 40, "phishing": 35},
            "recall": _rate(33, 35),
            "fpr": _rate(1, 40),
            "max_psi": {"value": 0.1},
            "retrain": [],
        },
        {
            "month": "2024-02",
            "counts": {"ham": 30},
            "fpr": _rate(0, 30),
            "max_psi": {"value": 0.4},
            "retrain": ["PSI 0.40 on ham:score"],
        },
    ]
    return {"rows": [{"key": "all", "test": test}], "drift": {"months": months}}


def test_readers_take_what_was_stored() -> None:
    curve = charts.curve_from_evaluation(_evaluation())
    assert [p.threshold for p in curve] == [0.2, 0.5, 0.9]
    assert curve[1].precision == pytest.approx(9 / 20)
    assert curve[1].alerts_per_day == 10.0
    conf = charts.confusion_from_evaluation(_evaluation())
    assert conf is not None and conf.counts == ((9, 1), (12, 200)) and conf.unit == "file"
    mail = charts.confusion_from_mail(_mail())
    assert mail is not None and mail.counts[2] == (5, 45)
    months = charts.drift_from_mail(_mail())
    assert [(m.month, m.n, m.retrain) for m in months] == [("2024-01", 75, False), ("2024-02", 30, True)]
    assert months[1].recall is None
    assert charts.points_from_mail(_mail())["mail all"].recall == pytest.approx(0.9)


def test_every_chart_is_a_deterministic_png() -> None:
    ev, mail = _evaluation(), _mail()
    made = [
        lambda: charts.pr_curve_png(
            {"detectors": charts.curve_from_evaluation(ev)}, charts.points_from_mail(mail)
        ),
        lambda: charts.alerts_per_day_vs_recall_png(
            {"detectors": charts.curve_from_evaluation(ev)}, budget=5
        ),
        lambda: charts.confusion_matrix_png(charts.confusion_from_mail(mail)),
        lambda: charts.drift_by_month_png(charts.drift_from_mail(mail)),
    ]
    for make in made:
        first = make()
        assert first.startswith(PNG) and len(first) > 2000
        assert make() == first


@pytest.mark.parametrize(
    "draw",
    [
        lambda: charts.pr_curve_png({}),
        lambda: charts.alerts_per_day_vs_recall_png({"x": []}),
        lambda: charts.confusion_matrix_png(None),
        lambda: charts.drift_by_month_png([]),
    ],
)
def test_empty_input_still_draws(draw: Any) -> None:
    assert draw().startswith(PNG)


def test_old_results_without_curve_read_as_empty() -> None:
    assert charts.curve_from_evaluation({"overall": {}}) == []
    assert charts.confusion_from_evaluation({}) is None
    assert charts.confusion_from_mail({"rows": []}) is None
    assert charts.drift_from_mail({}) == []
