"""The drill's word tables: each entry has an example it matches, so no entry is dead or untested."""

from __future__ import annotations

import re

import pytest

from bluebench.drill.lexicon import (
    ABSOLUTES,
    COUNT_BOUNDS,
    COUNT_NOUNS,
    NEGATIONS,
    NO_HUMAN,
    NOT_MEASURED,
    PART_OF_ONE,
    RUN_CONTEXT,
    compile_words,
)
from bluebench.drill.text import affirmed

ABSOLUTE_EXAMPLES = [
    "eliminated",
    "100%",
    "never fires a false alarm",
    "catches every single attack",
    "flawless",
    "always detects",
]
NO_HUMAN_EXAMPLES = [
    "lights-out",
    "without manual triage",
    "closes alerts on its own",
    "auto-remediates",
    "automatically dismisses",
    "without any analyst having to look",
    "nobody has to review",
    "replaces the analysts",
    "runs unattended",
    "we let the model make the final call",
]
COUNT_NOUN_EXAMPLES = {
    "event": "log records",
    "file": "recordings",
    "alert": "detections",
    "incident": "cases",
    "account": "identities",
    "host": "endpoints",
    "message": "e-mails",
    "detector": "detectors",
    "connection": "flows",
}
BOUND_EXAMPLES = {
    "about": "approximately",
    "nearly": "just shy of",
    "at_least": "upwards of",
    "at_most": "no more than",
}


def test_every_absolute_has_an_example_and_says_what_it_claims() -> None:
    assert len(ABSOLUTE_EXAMPLES) == len(ABSOLUTES)
    for (pattern, advice, implied), example in zip(ABSOLUTES, ABSOLUTE_EXAMPLES, strict=True):
        assert compile_words([pattern]).fullmatch(example), (pattern, example)
        assert advice and all(m in ("precision", "recall", "fpr") for m, _ in implied)


def test_every_removed_human_cue_has_an_example() -> None:
    assert len(NO_HUMAN_EXAMPLES) == len(NO_HUMAN)
    for pattern, example in zip(NO_HUMAN, NO_HUMAN_EXAMPLES, strict=True):
        assert compile_words([pattern]).search(example), (pattern, example)


def test_every_count_noun_and_bound_has_an_example() -> None:
    assert set(COUNT_NOUN_EXAMPLES) == set(COUNT_NOUNS.values())
    for pattern, noun in COUNT_NOUNS.items():
        assert any(re.fullmatch(pattern, w) for w in ("rules", COUNT_NOUN_EXAMPLES[noun])), pattern
    assert {how for _, how in COUNT_BOUNDS} == set(BOUND_EXAMPLES)
    for pattern, how in COUNT_BOUNDS:
        assert re.fullmatch(pattern, BOUND_EXAMPLES[how]), (pattern, how)


@pytest.mark.parametrize(
    ("table", "matches", "misses"),
    [
        (NEGATIONS, "it does not ", "it does "),
        (RUN_CONTEXT, "across all detectors", "across the street"),
        (NOT_MEASURED, "a budget of ", "a total of "),
        (PART_OF_ONE[0], "one incident had ", "the run had "),
    ],
)
def test_each_context_pattern_matches_its_example_and_not_a_near_miss(
    table: re.Pattern[str], matches: str, misses: str
) -> None:
    assert table.search(matches) and not table.search(misses)


def test_a_cue_after_a_negation_in_the_same_clause_is_denied() -> None:
    pattern = compile_words(["catches every attack"])
    assert affirmed(pattern, "It catches every attack.") == [(3, 23)]
    assert affirmed(pattern, "It does not catch every attack, and it never catches every attack.") == []
    assert affirmed(pattern, "We never tuned it, yet it catches every attack.") != []
