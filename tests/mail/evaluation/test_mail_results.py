"""The evaluation's terminal tables fit 80 columns with every name whole; wider terminals too."""

from __future__ import annotations

import io
from dataclasses import replace

from rich.console import Console

from bluebench.mail.evaluation.results import MailEvaluation

LONG_SOURCE = "modern:reports-dmarc-parsedmarc"
LONG_FEATURE = "display_name_other_address"


def _render(ev: MailEvaluation, width: int) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, soft_wrap=False)
    for part in ev.render():
        console.print(part)
    return buf.getvalue()


def _with_long_names(ev: MailEvaluation) -> MailEvaluation:
    """The sample's evaluation with the longest source and feature names the shared corpus has."""
    split = ev.data.split
    sources = (replace(split.sources[0], source=LONG_SOURCE), *split.sources[1:])
    alarm = replace(
        ev.drift.months[0],
        max_psi=0.31,
        max_psi_of=f"phishing:{LONG_FEATURE}",
        retrain=(f"PSI 0.31 on phishing:{LONG_FEATURE}",),
    )
    return replace(
        ev,
        data=replace(ev.data, split=replace(split, sources=sources)),
        drift=replace(ev.drift, months=(alarm, *ev.drift.months[1:])),
    )


def test_every_table_fits_80_columns_and_no_name_is_cut(evaluation: MailEvaluation) -> None:
    ev = _with_long_names(evaluation)
    text = _render(ev, 80)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    names = [r.key for r in ev.rows] + [h.feature for h in ev.heaviest] + [LONG_SOURCE, LONG_FEATURE]
    for name in names:
        assert name in text, name
    for r in ev.rows:  # each interval whole, on its own line under its value
        ci = r.test.recall.interval
        assert ci is None or f"[{ci[0]:.3f}-{ci[1]:.3f}]" in text


def test_a_wide_terminal_shows_the_same_without_cutting(evaluation: MailEvaluation) -> None:
    ev = _with_long_names(evaluation)
    wide = _render(ev, 200)
    assert "…" not in wide
    assert "first month that would have needed retraining" in wide
    assert f"retrain {ev.drift.months[0].month}: PSI 0.31 on phishing:{LONG_FEATURE}" in wide
