"""Claims bound before they are compared: each class of failure the issue found, as a unit.

Every expectation is read from the hand-built run (drill_facts), so a figure "above brute force's
interval" is computed, not typed."""

from __future__ import annotations

import pytest
from drill_facts import run_facts

from bluebench.drill import check_answer
from bluebench.drill.check import BLOCKING, Scorecard
from bluebench.drill.claims import Claim
from bluebench.drill.measured import Measured, read_facts
from bluebench.reports.facts import FactSet

FACTS = run_facts()
MEASURED = {m.key: m for m in read_facts(FACTS)}
EVAL = "eval/labels"


def fact(key: str) -> Measured:
    return MEASURED[key]


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def claims(text: str, facts: FactSet = FACTS) -> list[Claim]:
    return check_answer(text, facts).claims


def kinds(card: Scorecard) -> list[tuple[str, str]]:
    return [
        (f.kind, f.severity)
        for f in card.findings
        if f.kind not in ("too_short",) and "missing" not in f.kind
    ]


# ------------------------------------------------------------------ 1. a claim about the whole run


def test_an_overall_claim_is_judged_by_the_overall_figure_not_the_best_detector() -> None:
    overall, best = fact(f"{EVAL}/overall/recall"), fact(f"{EVAL}/detectors/brute_force/recall")
    assert best.low is not None and overall.high is not None and best.low > overall.high
    figure = pct(best.value or 0)
    for said in (f"Overall recall was {figure}.", f"Across all detectors recall was {figure}."):
        [c] = claims(said)
        assert (c.verdict, c.fact, c.subject) == ("overclaim", overall.key, "all detectors together")


def test_an_overall_f1_is_not_matched_to_a_technique_with_f1_of_one() -> None:
    perfect = fact(f"{EVAL}/techniques/T1558.004/f1")
    assert perfect.value == 1.0
    [c] = claims("Overall F1 came to 0.95.")
    assert (c.verdict, c.fact) == ("overclaim", f"{EVAL}/overall/f1")
    [c] = claims("Overall F1 was 1.0.")
    assert c.verdict == "overclaim"


def test_a_claim_with_no_subject_true_of_one_detector_asks_which_one() -> None:
    brute = fact(f"{EVAL}/detectors/brute_force/precision")
    card = check_answer(f"Precision was {pct(brute.value or 0)}.", FACTS)
    [c] = card.claims
    assert (c.verdict, c.fact, c.bound) == ("which_subject", f"{EVAL}/overall/precision", "none")
    assert c.also is not None and "brute_force" in c.also
    [f] = [f for f in card.findings if f.kind == "which_subject"]
    assert f.severity == BLOCKING and "brute_force" in f.message
    # Lower than the whole run but true of one detector: advice, not a block.
    weak = fact(f"{EVAL}/detectors/kerberoasting/recall")
    card = check_answer(f"Recall was {pct(weak.value or 0)}.", FACTS)
    assert [(f.kind, f.severity) for f in card.findings if f.kind == "which_subject"] == [
        ("which_subject", "advice")
    ]


def test_an_unnamed_claim_the_whole_run_bears_out_is_supported() -> None:
    overall = fact(f"{EVAL}/overall/precision")
    [c] = claims(f"Precision was {pct(overall.value or 0)}.")
    assert (c.verdict, c.fact) == ("supported", overall.key)


# ------------------------------------------------------------------ 2. a detector named in ordinary words


@pytest.mark.parametrize(
    ("sentence", "key"),
    [
        ("The log-clearing detector had a false-positive rate of 1%.", "detectors/log_cleared/fpr"),
        ("For log clearing the FPR was 1%.", "detectors/log_cleared/fpr"),
        ("The Kerberoasting detection reached a precision of 95%.", "detectors/kerberoasting/precision"),
        ("AS-REP roasting had a false-positive rate of 0.5%.", "detectors/asrep_roasting/fpr"),
        ("For spraying, recall was 99%.", "detectors/password_spray/recall"),
        ("T1070.001 had an FPR of 1%.", "techniques/T1070.001/fpr"),
    ],
)
def test_a_detector_named_in_words_is_the_subject(sentence: str, key: str) -> None:
    [c] = claims(sentence)
    assert c.fact == f"{EVAL}/{key}" and c.bound == "named"
    assert c.verdict in ("overclaim", "understated", "supported")


def test_the_log_clearing_fpr_below_its_interval_is_an_overclaim() -> None:
    fpr = fact(f"{EVAL}/detectors/log_cleared/fpr")
    assert fpr.low is not None
    [c] = claims(f"The log-clearing detector fired on {pct(fpr.low / 4)} of benign files.")
    assert (c.verdict, c.fact, c.metric) == ("overclaim", fpr.key, "fpr")


def test_the_subject_carries_from_the_sentence_before_until_another_is_named() -> None:
    text = "I built the password spraying detector. Its precision was 95%. Overall precision was 95%."
    first, second = claims(text)
    assert (first.fact, first.bound) == (f"{EVAL}/detectors/password_spray/precision", "sentence before")
    assert (second.fact, second.bound) == (f"{EVAL}/overall/precision", "named")


def test_a_sentence_naming_several_subjects_hands_none_on() -> None:
    text = "I built detectors for brute force, spraying and log clearing. Precision was 82%."
    [c] = claims(text)
    assert c.bound == "none" and c.verdict == "which_subject"


def test_a_metric_not_measured_for_the_named_subject_blocks() -> None:
    card = check_answer("Credential stuffing had a precision of 40%.", FACTS)
    [c] = card.claims
    assert (c.verdict, c.subject) == ("not_measured", "credential_stuffing")
    [f] = [f for f in card.findings if f.kind == "never_computed"]
    assert f.severity == BLOCKING and "credential_stuffing" in f.message


# ------------------------------------------------------------------ 3. metrics said in other words


@pytest.mark.parametrize(
    ("sentence", "metric"),
    [
        ("When the admin share detector fired, it was right 9 times in 10.", "precision"),
        ("The admin share detector was right 90% of the time when it alerted.", "precision"),
        ("90% of the admin share alerts were real.", "precision"),
        ("The false alarm rate of the admin share alerts was 5%.", "fdr"),
        ("The admin share detector caught 90% of attacks.", "recall"),
        ("The admin share detector detected 15 of 17 attacks.", "recall"),
        ("The admin share detector missed 1 of 17 attacks.", "fnr"),
    ],
)
def test_a_metric_said_in_other_words_is_recognised_and_judged(sentence: str, metric: str) -> None:
    [c] = claims(sentence)
    assert c.metric == metric and c.subject == "admin_share_access"
    assert c.verdict == "overclaim"  # every one of these claims far more than 7 of 13 / 7 of 17


# ------------------------------------------------------------------ 4. accuracy in every form


@pytest.mark.parametrize(
    ("sentence", "quote"),
    [
        ("The brute-force detector is 97% accurate.", "accurate"),
        ("Our detectors are highly accurate.", "accurate"),
        ("It was correct 96% of the time.", "correct"),
        ("It reached 98% accuracy.", "accuracy"),
    ],
)
def test_accuracy_claimed_in_any_form_blocks(sentence: str, quote: str) -> None:
    card = check_answer(sentence, FACTS)
    assert [(f.kind, f.quote, f.severity) for f in card.findings if f.kind == "accuracy"] == [
        ("accuracy", quote, BLOCKING)
    ]


@pytest.mark.parametrize(
    "sentence",
    ["We avoided accuracy as a metric.", "It is not accurate enough yet.", "Accuracy was never the goal."],
)
def test_accuracy_named_but_not_claimed_only_advises(sentence: str) -> None:
    card = check_answer(sentence, FACTS)
    assert [f.severity for f in card.findings if f.kind == "accuracy"] == ["advice"]


# ------------------------------------------------------------------ 5. counts that contradict the run


@pytest.mark.parametrize(
    ("sentence", "key"),
    [
        ("We ingested 4 million events.", "workspace/events"),
        ("We ingested 40,000 events.", "workspace/events"),
        ("The alerts became 12 incidents.", "incidents/count"),
        ("The detectors raised 1,500 alerts.", "alerts/count"),
        ("We read 2,000 files.", "workspace/files"),
        ("In total the data held 5,000 accounts.", "workspace/accounts"),
        ("The environment had 300 hosts in total.", "workspace/hosts"),
        ("We trained on 50,000 messages.", "mail/data/messages"),
        ("We ran 40 detectors in total.", "method/detectors"),
        ("The log-clearing detector raised 3 alerts.", "alerts/detector/log_cleared"),
    ],
)
def test_a_count_that_contradicts_the_run_blocks_with_the_stored_count(sentence: str, key: str) -> None:
    card = check_answer(sentence, FACTS)
    [c] = card.claims
    assert (c.verdict, c.fact) == ("contradicts", key)
    [f] = [f for f in card.findings if f.kind == "wrong_count"]
    stored = FACTS.get(key)
    assert stored is not None and f.severity == BLOCKING
    assert f"{int(stored.value):,}" in f.message and stored.source in f.message


@pytest.mark.parametrize(
    "sentence",
    [
        "We ingested 120,000 events.",
        "We ingested about 115,000 events.",
        "We ingested roughly 120k events.",
        "We ingested over 100k events.",
        "We read under 300 files.",
        "We read nearly 280 files.",
        "The alerts became just over 40 incidents.",
        "The log-clearing detector raised 32 alerts.",
        "The detectors raised 50 brute-force alerts.",
    ],
)
def test_a_count_as_stored_or_rounded_out_loud_is_supported(sentence: str) -> None:
    [c] = claims(sentence)
    assert c.verdict == "supported"


@pytest.mark.parametrize(
    "sentence",
    [
        "We set a budget of 50 alerts a day.",
        "The spray hit 47 accounts from one address.",
        "One incident had 4 alerts.",
        "There were 47 failed logon events in that burst.",
        "I built 4 detectors myself.",
    ],
)
def test_a_count_of_a_part_or_a_choice_is_not_compared(sentence: str) -> None:
    assert [c.verdict for c in claims(sentence)] == ["not_compared"]


def test_an_unnamed_count_true_of_one_detector_asks_which_one() -> None:
    card = check_answer("We saw 32 alerts.", FACTS)
    [c] = card.claims
    assert c.verdict == "which_subject" and c.also == "alerts/detector/log_cleared"
    assert [f.severity for f in card.findings if f.kind == "which_subject"] == ["advice"]


# ------------------------------------------------------------------ absolutes are claims too


def test_zero_false_positives_is_judged_as_precision_one_and_fpr_zero() -> None:
    card = check_answer("The log-clearing detector has zero false positives.", FACTS)
    absolute = [c for c in card.claims if c.kind == "absolute"]
    assert [(c.metric, c.low, c.verdict) for c in absolute] == [
        ("precision", 1.0, "overclaim"),
        ("fpr", 0.0, "overclaim"),
    ]
    [f] = [f for f in card.findings if f.kind == "absolute"]
    assert f.severity == BLOCKING and fact(f"{EVAL}/detectors/log_cleared/fpr").text() in f.message


@pytest.mark.parametrize("said", ["never misses", "catches every attack", "caught all attacks"])
def test_never_misses_is_a_recall_of_one(said: str) -> None:
    card = check_answer(f"Overall, the pipeline {said}.", FACTS)
    [c] = [c for c in card.claims if c.kind == "absolute"]
    assert (c.metric, c.low, c.verdict, c.fact) == ("recall", 1.0, "overclaim", f"{EVAL}/overall/recall")


@pytest.mark.parametrize(
    "sentence",
    [
        "It does not catch every attack.",
        "I would never claim zero false positives.",
        "Nothing is closed automatically.",
        "The pipeline never closes an alert by itself.",
    ],
)
def test_a_denied_absolute_is_not_claimed(sentence: str) -> None:
    card = check_answer(sentence, FACTS)
    assert not [f for f in card.findings if f.kind in ("absolute", "removed_human")]


# ------------------------------------------------------------------ removing the human


@pytest.mark.parametrize(
    "said",
    [
        "closes alerts by itself",
        "no analyst needs to look",
        "fully automated response",
        "auto-closes low scores",
        "dismisses alerts automatically",
        "runs without human review",
    ],
)
def test_removing_the_human_blocks_with_the_runs_review_facts(said: str) -> None:
    card = check_answer(f"The pipeline {said}.", FACTS)
    [f] = [f for f in card.findings if f.kind == "removed_human"]
    reviewed, incidents = FACTS.get("review/reviewed"), FACTS.get("incidents/count")
    assert reviewed is not None and incidents is not None
    assert f.severity == BLOCKING and f"{reviewed.value} of {incidents.value} incidents" in f.message
    assert f.facts == ("review/reviewed", "incidents/count")


def test_removing_the_human_in_a_run_without_verdicts_says_so() -> None:
    card = check_answer(
        "It closes alerts by itself.", FactSet([f for f in FACTS if not f.key.startswith("review/")])
    )
    [f] = [f for f in card.findings if f.kind == "removed_human"]
    assert "no reviewer verdicts" in f.message
