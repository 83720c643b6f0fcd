"""drill check: the written answers under tests/data/drill, each with a header saying what it must
trigger, are scored against a hand-built run; measured values in expectations come from its facts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from drill_facts import rate, run_facts
from hypothesis import given, settings
from hypothesis import strategies as st

from bluebench.drill import check_answer, read_facts, scorecard_markdown
from bluebench.drill.check import BLOCKING, SPEAKING_RATE, Scorecard
from bluebench.drill.measured import METRIC_NAMES, read_fact
from bluebench.reports.facts import Fact, FactSet

ANSWERS = Path(__file__).resolve().parent.parent / "data" / "drill"
FILES = sorted(ANSWERS.glob("*.md"))
EXPECT = re.compile(r'^expect:\s*(\w+)(?:\s+"(.*)")?\s*$', re.MULTILINE)


def _fold(text: str) -> str:
    return " ".join(text.split())


def _expectations(text: str) -> tuple[bool, list[tuple[str, str]]]:
    header = text[: text.index("-->")]
    found = EXPECT.findall(header)
    verdicts = [k for k, q in found if k in ("pass", "fail")]
    assert len(verdicts) == 1, "each answer's header says pass or fail once"
    return verdicts[0] == "pass", [(k, q) for k, q in found if k not in ("pass", "fail")]


def _check(name: str) -> tuple[str, Scorecard]:
    text = (ANSWERS / name).read_text(encoding="utf-8")
    return text, check_answer(text, run_facts())


def _finding(card: Scorecard, kind: str, quote: str) -> object:
    for f in card.findings:
        if f.kind == kind and _fold(f.quote) == _fold(quote):
            return f
    raise AssertionError(f"no {kind} finding quoting {quote!r}: {[(f.kind, f.quote) for f in card.findings]}")


def test_at_least_twelve_answers_written_for_the_purpose() -> None:
    assert len(FILES) >= 12
    kinds = {k for p in FILES for k, _ in _expectations(p.read_text(encoding="utf-8"))[1]}
    for needed in ("overclaim", "never_computed", "accuracy", "missing_validation", "missing_human_review"):
        assert needed in kinds
    for needed in ("tool_dropping", "absolute", "too_long"):
        assert needed in kinds
    assert sum(_expectations(p.read_text(encoding="utf-8"))[0] for p in FILES) >= 3  # honest ones


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_answer_triggers_what_its_header_says(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    should_pass, expected = _expectations(text)
    card = check_answer(text, run_facts())
    assert card.passed is should_pass, [(f.kind, f.quote) for f in card.blocking]
    for kind, quote in expected:
        hits = [f for f in card.findings if f.kind == kind]
        if quote.endswith("..."):
            hits = [f for f in hits if _fold(f.quote).startswith(_fold(quote[:-3]))]
        else:
            hits = [f for f in hits if _fold(f.quote) == _fold(quote)]
        assert hits, f"{kind} {quote!r} not found in {[(f.kind, f.quote) for f in card.findings]}"
    # Every finding quotes the exact words of the answer it is about.
    for f in card.findings:
        assert text[f.start : f.end] == f.quote
        assert f.quote.strip() and f.stronger


@pytest.mark.parametrize("name", ["honest_brute_force.md", "honest_mail.md", "honest_weak_result.md"])
def test_honest_answers_have_every_number_supported_and_every_part(name: str) -> None:
    _, card = _check(name)
    assert card.passed
    rates = [c for c in card.claims if c.kind == "rate"]
    assert rates and all(c.verdict == "supported" for c in rates)
    assert all(p.present for p in card.structure)
    assert all(p.present for p in card.coverage)


def test_overclaim_names_the_measured_value_and_interval() -> None:
    facts = run_facts()
    key = "eval/labels/detectors/brute_force/precision"
    fact = facts.get(key)
    assert fact is not None
    _, card = _check("overclaim_interval.md")
    f = _finding(card, "overclaim", "precision of 97%")
    assert f.severity == BLOCKING  # type: ignore[attr-defined]
    assert f.facts == (key,)  # type: ignore[attr-defined]
    assert read_fact(fact).text() in f.message  # type: ignore[attr-defined]
    assert fact.source in f.message  # type: ignore[attr-defined]
    claim = next(c for c in card.claims if c.quote == "precision of 97%")
    assert fact.high is not None and claim.low > fact.high


def test_lower_false_positive_rate_is_the_bolder_claim() -> None:
    fact = run_facts().get("mail/rows/all/test/fpr")
    assert fact is not None and fact.low is not None
    _, card = _check("overclaim_fpr.md")
    f = _finding(card, "overclaim", "false-positive rate was 0.01%")
    assert read_fact(fact).text() in f.message  # type: ignore[attr-defined]
    claim = next(c for c in card.claims if c.verdict == "overclaim")
    assert claim.high < fact.low


def test_never_computed_lists_what_the_run_did_measure() -> None:
    _, card = _check("never_computed.md")
    f = _finding(card, "never_computed", "ROC-AUC of 0.99")
    listed = {m.strip() for m in f.message.split("measured:")[1].split(",")}  # type: ignore[attr-defined]
    measured = {METRIC_NAMES[m.metric] for m in read_facts(run_facts()) if m.metric and m.value is not None}
    assert listed == measured and "ROC-AUC" not in listed


def test_accuracy_with_a_figure_blocks_and_the_word_alone_advises() -> None:
    _, card = _check("accuracy.md")
    assert _finding(card, "accuracy", "accuracy").severity == BLOCKING  # type: ignore[attr-defined]
    text = "We avoided accuracy as a metric; analysts review alerts validated on labels."
    card2 = check_answer(text, run_facts())
    acc = [f for f in card2.findings if f.kind == "accuracy"]
    assert [f.severity for f in acc] == ["advice"]


def test_count_claims_compare_with_stored_counts() -> None:
    facts = run_facts()
    alerts = facts.get("alerts/count")
    assert alerts is not None
    card = check_answer(f"The detectors raised {alerts.value} alerts.", facts)
    assert [c.verdict for c in card.claims] == ["supported"]
    card = check_answer(f"The detectors raised {int(alerts.value) * 3} alerts.", facts)
    assert [c.verdict for c in card.claims] == ["contradicts"]
    wrong = [f for f in card.findings if f.kind == "wrong_count"]
    assert [f.severity for f in wrong] == [BLOCKING]
    assert str(alerts.value) in wrong[0].message and alerts.source in wrong[0].message


def test_ratios_ranges_and_derived_metrics() -> None:
    facts = run_facts()
    recall = facts.get("eval/labels/detectors/brute_force/recall")
    assert recall is not None and recall.high is not None and recall.low is not None
    # A miss rate is 1 - recall: a miss rate below 1 - high claims more than was measured.
    bold = round(100 * (1 - recall.high) / 2, 2)
    fair = round(100 * (1 - recall.value), 1)  # type: ignore[operator]
    card = check_answer(f"For brute force the miss rate was {bold}%. Later the miss rate was {fair}%.", facts)
    assert [c.verdict for c in card.claims] == ["overclaim", "supported"]
    # "9 in 10" is a rate; "from X to Y" is judged on the level it reached.
    card = check_answer("Brute force precision went from 0.5 to 0.99 after tuning.", facts)
    assert [c.verdict for c in card.claims] == ["overclaim"]


def test_things_that_look_like_numbers_but_are_not_claims() -> None:
    text = (
        "On 2024-03-01 at 09:14:02 we saw T1110.003 from 203.0.113.7 (95% interval shown), "
        "version 3.11 of the parser, event 4625."
    )
    card = check_answer(text, run_facts())
    assert [c for c in card.claims if c.kind == "rate"] == []


def test_length_estimate_follows_the_speaking_rate() -> None:
    _, card = _check("honest_brute_force.md")
    assert card.seconds == (
        round(card.words / SPEAKING_RATE[1] * 60),
        round(card.words / SPEAKING_RATE[0] * 60),
    )
    assert not any(f.kind in ("too_long", "too_short") for f in card.findings)
    short = check_answer("I built a detector. Analysts review it against labels.", run_facts())
    assert any(f.kind == "too_short" for f in short.findings)


def test_missing_parts_are_quoted_where_they_are_needed() -> None:
    _, card = _check("missing_human_review.md")
    f = _finding(
        card, "missing_human_review", "Mail scored above the threshold is now quarantined automatically."
    )
    assert f.severity == BLOCKING  # type: ignore[attr-defined]


def test_rambling_answer_is_cut_where_two_minutes_run_out() -> None:
    text, card = _check("rambling.md")
    f = next(f for f in card.findings if f.kind == "too_long")
    assert f.severity == BLOCKING
    # The quoted sentence holds the word where two minutes run out at the middle rate.
    words = list(re.finditer(r"[A-Za-z0-9][A-Za-z0-9'’\-]*", re.sub(r"<!--.*?-->", "", text, flags=re.S)))
    assert card.words == len(words)
    assert card.seconds[0] > 150


def test_scorecard_is_deterministic_and_renders_quotes() -> None:
    text, card = _check("tool_dropping.md")
    again = check_answer(text, list(reversed(list(run_facts()))))
    assert card.to_json() == again.to_json()
    md = scorecard_markdown(card, "tool_dropping.md")
    assert "does not pass" in md
    for f in card.findings:
        assert _fold(f.quote) in md


def test_subject_named_in_the_sentence_selects_its_facts() -> None:
    facts = run_facts()
    spray = facts.get("eval/labels/detectors/password_spray/precision")
    brute = facts.get("eval/labels/detectors/brute_force/precision")
    assert spray is not None and brute is not None and spray.high is not None and brute.low is not None
    # A figure inside brute force's interval but above password spraying's is an overclaim for spraying.
    claim = round(100 * (spray.high + (brute.high or 1)) / 2)
    assert spray.high < claim / 100 <= (brute.high or 1)
    card = check_answer(f"The password spray detector had precision of {claim}%.", facts)
    assert [c.verdict for c in card.claims] == ["overclaim"]
    assert card.claims[0].fact == spray.key
    # "The detectors" together are the run as a whole: judged by the overall figure, not the best one.
    overall = facts.get("eval/labels/overall/precision")
    assert overall is not None and overall.high is not None and claim / 100 > overall.high
    card = check_answer(f"The detectors had precision of {claim}%.", facts)
    assert [(c.verdict, c.fact) for c in card.claims] == [("overclaim", overall.key)]


def test_facts_in_percent_are_read_on_the_same_scale() -> None:
    f = rate("eval/labels/overall/precision", 41, 50, "alert")
    pct = Fact(f.key, 100 * float(f.value), 100 * (f.low or 0), 100 * (f.high or 0), "%", f.source)
    a, b = read_facts([f])[0], read_facts([pct])[0]
    assert a.value == pytest.approx(b.value) and a.high == pytest.approx(b.high)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_any_text_is_scored_and_every_quote_is_exact(text: str) -> None:
    card = check_answer(text, run_facts())
    for f in card.findings:
        assert text[f.start : f.end] == f.quote
    for c in card.claims:
        assert text[c.start : c.end] == c.quote
    assert card.passed is not any(f.severity == BLOCKING for f in card.findings)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "precision",
                "recall of",
                "FPR",
                "accuracy",
                "42%",
                "0.9",
                "3 of 4",
                "by 80%",
                "Splunk",
                "never misses",
                "\n\n",
                ". ",
                "0.5-0.7",
            ]
        ),
        max_size=30,
    )
)
def test_claim_shaped_fragments_never_break_the_checker(parts: list[str]) -> None:
    text = " ".join(parts)
    card = check_answer(text, FactSet([]))
    for f in card.findings:
        assert text[f.start : f.end] == f.quote


def test_each_figure_is_judged_against_the_subject_named_nearest_before_it() -> None:
    facts = run_facts()
    spray = facts.get("eval/labels/detectors/password_spray/precision")
    mail = facts.get("mail/rows/all/test/precision")
    assert spray is not None and mail is not None and spray.high is not None and mail.low is not None
    # A figure the mail model supports but password spraying does not.
    claim = round(100 * (mail.low + (mail.high or 1)) / 2, 1)
    assert claim / 100 > spray.high
    text = (
        f"The password spraying detector had a precision of {claim}%, and our phishing classifier did well."
    )
    card = check_answer(text, facts)
    assert [(c.verdict, c.fact) for c in card.claims] == [("overclaim", spray.key)]
    text = f"Our phishing classifier had a precision of {claim}%, unlike password spraying."
    card = check_answer(text, facts)
    assert [(c.verdict, c.fact) for c in card.claims] == [("supported", mail.key)]


def test_a_baseline_supports_a_claim_only_when_named() -> None:
    facts = run_facts()
    base = facts.get("mail/rows/keyword_rules/test/precision")
    assert base is not None and base.high is not None
    below_everything_else = round(100 * base.value, 1)  # type: ignore[arg-type]
    card = check_answer(f"The keyword rules had a precision of {below_everything_else}%.", facts)
    assert [(c.verdict, c.fact) for c in card.claims] == [("supported", base.key)]
    card = check_answer(f"The mail model had a precision of {below_everything_else}%.", facts)
    assert [c.verdict for c in card.claims] == ["understated"]


def test_descriptions_are_not_absolute_claims() -> None:
    card = check_answer(
        "These files are almost all attacks, so we cannot read a false-positive rate.", run_facts()
    )
    assert not [f for f in card.findings if f.kind == "absolute"]
    card = check_answer("It detects all attacks.", run_facts())
    assert [f.quote for f in card.findings if f.kind == "absolute"] == ["detects all attacks"]
