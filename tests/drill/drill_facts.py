"""A small hand-built run for the drill tests: rates come from counts (k of n) through the same
Wilson interval the evaluation uses, so expectations are read from these facts, never typed."""

from __future__ import annotations

from bluebench.evaluation.metrics import Rate
from bluebench.reports.facts import Fact, FactSet

EVAL = "evaluations/0123456789abcdef"


def rate(key: str, k: int, n: int, unit: str) -> Fact:
    """A rate fact as collect_facts writes one: value k/n with its 95% interval."""
    r = Rate(k, n)
    assert r.value is not None and r.interval is not None
    lo, hi = r.interval
    source = EVAL + "/" + key.split("/", 2)[2] if key.startswith("eval/") else key
    return Fact(key, r.value, lo, hi, unit, source)


def count(key: str, n: int, unit: str) -> Fact:
    source = EVAL + "/" + key.split("/", 2)[2] if key.startswith("eval/") else key
    return Fact(key, n, None, None, unit, source)


def run_facts() -> FactSet:
    """Detectors measured on event labels, a mail model, and a few counts."""
    e = "eval/labels"
    return FactSet(
        [
            count("workspace/events", 120_000, "event"),
            count("alerts/count", 66, "alert"),
            count(f"{e}/scope/attack_instances", 33, ""),
            rate(f"{e}/overall/precision", 50, 66, "alert"),
            rate(f"{e}/overall/recall", 26, 33, "attack instance"),
            rate(f"{e}/overall/fpr", 30, 120_000, "benign event"),
            rate(f"{e}/detectors/brute_force/precision", 41, 50, "alert"),
            rate(f"{e}/detectors/brute_force/recall", 19, 20, "attack instance"),
            rate(f"{e}/detectors/brute_force/fpr", 9, 120_000, "benign event"),
            rate(f"{e}/detectors/password_spray/precision", 6, 10, "alert"),
            rate(f"{e}/detectors/password_spray/recall", 5, 8, "attack instance"),
            rate(f"{e}/detectors/kerberoasting/precision", 3, 6, "alert"),
            rate(f"{e}/detectors/kerberoasting/recall", 2, 5, "attack instance"),
            count("mail/data/messages", 2714, "message"),
            count("mail/data/split/test", 810, "message"),
            rate("mail/rows/all/test/precision", 286, 290, "message"),
            rate("mail/rows/all/test/recall", 286, 303, "message"),
            rate("mail/rows/all/test/fpr", 1, 432, "message"),
            rate("mail/rows/keyword_rules/test/precision", 120, 300, "message"),
        ],
        "ws",
    )
