"""Terminal rendering: at 80 columns nothing is cut, whatever the length of a value."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from rich.console import Console

from bluebench.cli import render
from bluebench.schema import Alert, Evidence
from bluebench.stats import Rate


def test_an_alert_card_folds_long_values_and_cuts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    console = Console(width=80, file=io.StringIO())
    monkeypatch.setattr(render, "out", console)
    long_user, long_reason, long_path = "u" * 120, "r" * 150, "/" + "p" * 130
    alert = Alert(
        "brute_force", "Brute force", "high", 0.9, ["TA0006"], ["T1110"], {"user": long_user},
        datetime(2024, 1, 1), datetime(2024, 1, 1), 1, [long_reason], ["e1"], [Evidence(long_path, 1)],
    )  # fmt: skip
    render.print_alerts([alert], as_json=False)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "…" not in text
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
    joined = "".join(line.strip() for line in text.splitlines())
    for value in (long_user, long_reason, long_path):
        assert value in joined  # folded across lines, every character still there


@pytest.mark.parametrize(
    ("k", "n", "shown", "below"),
    [
        (2, 3, "67%", "21-94"),
        (0, 199_193, "0%", "0.000-0.002"),
        (11, 199_193, "0.006%", "0.003-0.010"),
        (0, 0, "n/a", ""),
    ],
)
def test_a_rate_keeps_the_decimals_its_size_needs(k: int, n: int, shown: str, below: str) -> None:
    rate = Rate(k, n)
    assert (render.pct(rate), render.interval(rate)) == (shown, below)
