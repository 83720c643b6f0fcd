"""Precision, recall, F1 and false-positive rate, always with their counts and 95% intervals.

A rate is never shown without the counts it comes from, because 1/1 and 900/900 are both
"100%". Intervals are Wilson score intervals, which stay inside 0..1 and behave at 0 and n.
Each of the three rates has its own unit (file, alert, attack instance, event,
entity-window, entity-day), which the caller names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bluebench.attack import any_match, technique_matches
from bluebench.stats import Z95, Rate, f1, wilson

__all__ = [
    "Z95",
    "Measure",
    "Rate",
    "VerdictPrecision",
    "any_match",
    "f1",
    "technique_matches",
    "verdict_precision",
    "wilson",
]


@dataclass(frozen=True)
class Measure:
    """The four counts behind precision, recall and FPR, each in its stated unit.

    * precision = TP / (TP + FP), over alerted units (``units['precision']``);
    * recall = detected / (detected + FN), over attack units (``units['recall']``);
    * FPR = FP_neg / (FP_neg + TN), over benign units (``units['fpr']``).

    When all three units are the same (per-file labels) ``detected`` equals TP, and
    ``fp_negative`` is FP less the labelled units alerted only with another technique.
    """

    tp: int
    fp: int
    detected: int
    fn: int
    fp_negative: int
    tn: int
    units: dict[str, str]

    @property
    def precision(self) -> Rate:
        return Rate(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> Rate:
        return Rate(self.detected, self.detected + self.fn)

    @property
    def fpr(self) -> Rate:
        return Rate(self.fp_negative, self.fp_negative + self.tn)

    @property
    def f1(self) -> float | None:
        return f1(self.precision, self.recall)

    def to_json(self) -> dict[str, Any]:
        """Counts, units and every rate with its interval; enough to recompute all of them."""
        return {
            "counts": {
                "TP": self.tp,
                "FP": self.fp,
                "FN": self.fn,
                "TN": self.tn,
                "detected": self.detected,
                "FP_on_negatives": self.fp_negative,
            },
            "units": dict(self.units),
            "precision": self.precision.to_json(),
            "recall": self.recall.to_json(),
            "f1": self.f1,
            "fpr": self.fpr.to_json(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Measure:
        """Rebuild from :meth:`to_json` output, so stored evaluations can be recomputed."""
        c = d["counts"]
        return cls(c["TP"], c["FP"], c["detected"], c["FN"], c["FP_on_negatives"], c["TN"], d["units"])


@dataclass(frozen=True)
class VerdictPrecision:
    """A detector's precision from reviewers' verdicts, and whether it falls below the lead's floor."""

    detector: str
    precision: Rate
    floor: float | None

    @property
    def below_floor(self) -> bool:
        """The point estimate is under the floor."""
        v = self.precision.value
        return self.floor is not None and v is not None and v < self.floor

    @property
    def clearly_below_floor(self) -> bool:
        """Even the interval's upper end is under the floor: not just bad luck with few reviews."""
        ci = self.precision.interval
        return self.floor is not None and ci is not None and ci[1] < self.floor

    def to_json(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "precision": self.precision.to_json(),
            "floor": self.floor,
            "below_floor": self.below_floor,
            "clearly_below_floor": self.clearly_below_floor,
        }


def verdict_precision(
    counts: Mapping[str, tuple[int, int]], floor: float | None = None
) -> list[VerdictPrecision]:
    """Per detector, (confirmed, reviewed-and-decided) alert counts -> precision with its interval."""
    return [VerdictPrecision(d, Rate(k, n), floor) for d, (k, n) in sorted(counts.items())]
