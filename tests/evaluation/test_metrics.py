"""Rates with counts and Wilson intervals; technique matching by parent and sub-technique."""

from __future__ import annotations

import math

import pytest

from bluebench.evaluation.metrics import Measure, Rate, f1, technique_matches, wilson

UNITS = {"precision": "file", "recall": "file", "fpr": "file"}


def wilson_reference(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The textbook formula, written out independently of the implementation."""
    p = k / n
    denom = 1 + z**2 / n
    centre = p + z**2 / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return (centre - spread) / denom, (centre + spread) / denom


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (0, 10), (5, 10), (10, 10), (3, 250), (999, 1000)])
def test_wilson_matches_formula(k: int, n: int) -> None:
    low, high = wilson(k, n) or (None, None)
    ref = wilson_reference(k, n)
    assert low == pytest.approx(max(0.0, ref[0]), abs=1e-12)
    assert high == pytest.approx(min(1.0, ref[1]), abs=1e-12)
    assert 0.0 <= low <= k / n <= high <= 1.0


def test_wilson_ends_and_empty() -> None:
    assert wilson(0, 10) == (0.0, pytest.approx(0.2775, abs=1e-4))
    assert wilson(10, 10) == (pytest.approx(0.7225, abs=1e-4), 1.0)
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_rate_undefined_when_no_units() -> None:
    r = Rate(0, 0)
    assert r.value is None and r.interval is None
    assert r.to_json() == {"k": 0, "n": 0, "value": None, "ci95": None}
    assert r.text() == "n/a (0/0)"
    assert Rate(3, 4).text().startswith("0.75 [")


def test_measure_rates_use_their_own_counts() -> None:
    m = Measure(tp=3, fp=1, detected=2, fn=2, fp_negative=5, tn=95, units=UNITS)
    assert (m.precision.k, m.precision.n) == (3, 4)
    assert (m.recall.k, m.recall.n) == (2, 4)
    assert (m.fpr.k, m.fpr.n) == (5, 100)
    assert m.f1 == pytest.approx(2 * 0.75 * 0.5 / 1.25)
    assert Measure.from_json(m.to_json()) == m


def test_f1_undefined_and_zero() -> None:
    assert f1(Rate(0, 0), Rate(1, 2)) is None
    assert f1(Rate(0, 3), Rate(0, 2)) == 0.0


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        ("T1110", "T1110", True),
        ("T1110.001", "T1110", True),
        ("T1110", "T1110.003", True),
        ("T1110.001", "T1110.003", False),
        ("T1110", "T1111", False),
        ("T1558", "T1558.003", True),
        ("T155", "T1558", False),
    ],
)
def test_technique_matching(a: str, b: str, match: bool) -> None:
    assert technique_matches(a, b) is match
    assert technique_matches(b, a) is match
