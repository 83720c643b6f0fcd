"""Counts and their intervals, shared by every stage that states a rate (the bottom of the layers).

A rate is never shown without the counts it comes from, because 1/1 and 900/900 are both
"100%". Intervals are Wilson score intervals, which stay inside 0..1 and behave at 0 and n.
"""

from __future__ import annotations

import math
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
