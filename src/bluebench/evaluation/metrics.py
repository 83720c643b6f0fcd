"""Precision, recall, F1 and false-positive rate, always with their counts and 95% intervals.

A rate is never shown without the counts it comes from, because 1/1 and 900/900 are both
"100%". Intervals are Wilson score intervals, which stay inside 0..1 and behave at 0 and n.
Each of the three rates has its own unit (file, alert, attack instance, event,
entity-window, entity-day), which the caller names.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """95% Wilson score interval for k successes in n trials; None when n is 0."""
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class Rate:
    """k of n units, with its 95% Wilson interval; value is None when n is 0 (undefined)."""

    k: int
    n: int

    @property
    def value(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.k, self.n)

    def to_json(self) -> dict[str, Any]:
        ci = self.interval
        return {
            "k": self.k,
            "n": self.n,
            "value": self.value,
            "ci95": list(ci) if ci else None,
        }

    def text(self) -> str:
        """'0.83 [0.55-0.95] (10/12)', or 'n/a (0/0)' when undefined."""
        ci = self.interval
        if self.value is None or ci is None:
            return f"n/a ({self.k}/{self.n})"
        return f"{self.value:.2f} [{ci[0]:.2f}-{ci[1]:.2f}] ({self.k}/{self.n})"


def f1(precision: Rate, recall: Rate) -> float | None:
    """Harmonic mean of precision and recall; None when either is undefined."""
    p, r = precision.value, recall.value
    if p is None or r is None:
        return None
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


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


def technique_matches(a: str, b: str) -> bool:
    """Equal, or one is a sub-technique of the other: T1110.001 matches T1110 and back."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def any_match(techniques: Iterable[str], others: Iterable[str]) -> bool:
    """True when some technique of the first set matches some of the second."""
    others = list(others)
    return any(technique_matches(a, b) for a in techniques for b in others)


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
