"""drill questions: aimed at the run's weakest measured points, deterministic, and carrying the
facts (with sources) an answer would use."""

from __future__ import annotations

import random

from drill_facts import rate, run_facts

from bluebench.drill import drill_questions, questions_markdown, read_facts
from bluebench.drill.measured import read_fact
from bluebench.drill.questions import MIN_MONTH_EVENTS
from bluebench.reports.facts import Fact, FactSet

GENERAL = ["training-data", "leakage", "drift", "human-review", "limits"]


def _by_id(facts: FactSet, **kw: object) -> dict[str, object]:
    return {q.id: q for q in drill_questions(facts, **kw)}  # type: ignore[arg-type]


def test_weakest_precision_and_recall_are_the_lowest_upper_bounds_among_detectors() -> None:
    facts = run_facts()
    qs = _by_id(facts)
    for metric, qid in (("precision", "weakest-precision"), ("recall", "weakest-recall")):
        detectors = [f for f in facts if "/detectors/" in f.key and f.key.endswith("/" + metric)]
        weakest = min(detectors, key=lambda f: (f.high, f.value, f.key))
        q = qs[qid]
        assert q.facts[0] is weakest  # type: ignore[attr-defined]
        assert read_fact(weakest).text() in q.text  # type: ignore[attr-defined]


def test_fpr_becomes_a_daily_load_at_the_given_volume_and_budget() -> None:
    facts = run_facts()
    volume, budget = 25_000, 20.0
    q = _by_id(facts, volume_per_day=volume, alerts_per_day=budget)["fpr-at-volume"]
    # A daily volume is counted in mails or events: rates per labelled file are not scaled by it.
    fprs = [f for f in facts if f.key.endswith("/fpr") and "/overall/" not in f.key and f.unit != "file"]
    worst = max(fprs, key=lambda f: (f.value, f.key))
    assert q.facts[0] is worst  # type: ignore[attr-defined]
    assert f"On {volume:,} messages a day" in q.text  # type: ignore[attr-defined]
    load = float(worst.value) * volume
    assert f"= {load:,.0f} a day" in q.derived[0]  # type: ignore[attr-defined]
    assert f"{load / budget:.1f} times the budget" in q.derived[1]  # type: ignore[attr-defined]


def test_widest_interval_is_asked_about() -> None:
    facts = run_facts()
    q = _by_id(facts)["widest-interval"]
    rates = [f for f in facts if "/detectors/" in f.key and f.high is not None]
    widest = max(rates, key=lambda f: (f.high - f.low, f.key))  # type: ignore[operator]
    assert q.facts == (widest,)  # type: ignore[attr-defined]


def test_order_is_fixed_and_independent_of_fact_order() -> None:
    facts = list(run_facts())
    first = [q.to_json() for q in drill_questions(facts)]
    random.Random(3).shuffle(facts)
    assert [q.to_json() for q in drill_questions(facts)] == first
    ids = [q["id"] for q in first]
    assert ids[-5:] == GENERAL
    assert ids[:4] == ["weakest-precision", "weakest-recall", "widest-interval", "fpr-at-volume"]


def test_unmeasured_things_are_asked_about() -> None:
    only_precision = FactSet([rate("eval/labels/detectors/brute_force/precision", 41, 50, "alert")])
    q = _by_id(only_precision)["unmeasured"]
    for words in ("recall", "false-positive rate", "drift", "reviewer verdicts"):
        assert words in q.text  # type: ignore[attr-defined]
    assert "fpr-at-volume" not in _by_id(only_precision)


def test_drift_month_is_named() -> None:
    # 2021-01 drifts most, but on too few events to mean anything.
    months = {"2020-03": (0.31, 40), "2019-11": (0.04, 900), "2021-01": (9.0, MIN_MONTH_EVENTS - 1)}
    facts = FactSet(
        [
            *run_facts(),
            *[
                Fact(f"drift/month/{m}/psi", v, None, None, "", f"drift/month/{m}/psi")
                for m, (v, _) in months.items()
            ],
            *[
                Fact(f"drift/month/{m}/events", n, None, None, "event", f"drift/month/{m}/events")
                for m, (_, n) in months.items()
            ],
        ]
    )
    worst = max((m for m in months if months[m][1] >= MIN_MONTH_EVENTS), key=lambda m: months[m][0])
    q = _by_id(facts)["drift-month"]
    assert worst in q.text  # type: ignore[attr-defined]
    assert [f.key for f in q.facts] == [f"drift/month/{worst}/psi", f"drift/month/{worst}/events"]  # type: ignore[attr-defined]
    # The drift table is not training data, and the unmeasured question no longer asks for drift.
    assert not any("drift" in f.key for f in _by_id(facts)["training-data"].facts)  # type: ignore[attr-defined]
    unmeasured = _by_id(facts).get("unmeasured")
    assert unmeasured is None or "drift" not in unmeasured.text  # type: ignore[attr-defined]


def test_empty_run_still_gets_the_general_questions() -> None:
    qs = drill_questions(FactSet([]))
    assert [q.id for q in qs] == ["unmeasured", *GENERAL]
    assert "No fact of this run speaks to it" in questions_markdown(qs)


def test_markdown_cites_every_fact_with_its_source() -> None:
    facts = run_facts()
    md = questions_markdown(drill_questions(facts))
    for q in drill_questions(facts):
        for f in q.facts:
            assert f"`{f.key}`" in md and f"`{f.source}`" in md


def test_comparison_rows_are_not_the_runs_weak_points() -> None:
    # The keyword baseline has the lowest precision, but it is a comparison, not the run's model.
    facts = run_facts()
    ms = {m.key: m for m in read_facts(facts)}
    assert ms["mail/rows/keyword_rules/test/precision"].kind == "comparison"
    q = _by_id(facts)["weakest-precision"]
    assert "keyword_rules" not in q.text  # type: ignore[attr-defined]
