"""The cue-word tables: every entry has an example it must match, and a near miss it must not."""

from __future__ import annotations

import pytest

from bluebench.reports.cues import (
    FIRING_WORDS,
    METRIC_PHRASES,
    OVERALL_WORDS,
    REVIEW_WORDS,
    compile_phrase,
    compile_words,
)

# One example per METRIC_PHRASES entry, in the table's order (a new entry needs a new example).
METRIC_EXAMPLES = [
    ("area under the precision-recall curve", "pr_auc"),
    ("an AUROC of", "roc_auc"),
    ("the false alarm rate of its alerts", "fdr"),
    ("false positives on legitimate mail", "fpr"),
    ("the miss rate", "fnr"),
    ("specificity", "specificity"),
    ("it picked up", "recall"),
    ("positive predictive value", "precision"),
    ("the F-measure", "f1"),
    ("accurate", "accuracy"),
    ("right 9 times out of 10", "correctness"),
    ("dwell time", "mttd"),
    ("time to triage", "mttr"),
]
OVERALL_EXAMPLES = [
    "overall",
    "all told",
    "in total",
    "in all",
    "all together",
    "altogether",
    "combined",
    "as a whole",
    "across the board",
    "across all of our detectors",
    "each of the detectors",
    "our detectors",
    "the whole pipeline",
    "across the entire estate",
    "the detection suite",
]
REVIEW_EXAMPLES = [
    "from the reviewers' verdicts",
    "as judged by the analysts",
    "analysts confirmed",
    "verdict precision",
]
FIRING_EXAMPLES = [
    "fired",
    "fires",
    "firing",
    "alerted",
    "alerts",
    "flagged",
    "flags",
    "raised",
    "alarm",
    "went off",
]


def test_every_metric_phrase_has_its_example() -> None:
    assert len(METRIC_EXAMPLES) == len(METRIC_PHRASES)
    for (pattern, metric), (example, expected) in zip(METRIC_PHRASES, METRIC_EXAMPLES, strict=True):
        assert metric == expected
        assert compile_words([pattern]).search(example), (pattern, example)


@pytest.mark.parametrize(
    ("table", "examples"),
    [(OVERALL_WORDS, OVERALL_EXAMPLES), (REVIEW_WORDS, REVIEW_EXAMPLES), (FIRING_WORDS, FIRING_EXAMPLES)],
)
def test_every_entry_has_an_example(table: list[str], examples: list[str]) -> None:
    assert len(table) == len({*table})
    for pattern in table:
        assert any(compile_words([pattern]).fullmatch(e) for e in examples), pattern


@pytest.mark.parametrize(
    "near_miss",
    [
        "the right threshold",
        "we corrected the parser",
        "a detector",
        "the total cost",
        "a recall-free report",
    ],
)
def test_near_misses_name_no_metric(near_miss: str) -> None:
    assert [m for pattern, m in METRIC_PHRASES if compile_words([pattern]).search(near_miss)] == []


def test_words_match_whole_words_and_across_line_breaks() -> None:
    words = compile_words([r"false[- ]positive rate"])
    assert words.search("the false-positive\nrate was")
    assert not words.search("false-positive rates")
    assert compile_phrase(r"in total").search("in\ntotal")
