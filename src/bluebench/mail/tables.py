"""Terminal text of the mail commands: rates with their intervals, and tables that fit 80 columns.

In a line of text an interval sits beside its value; in a table cell it goes on its own
line, so that columns stay narrow and no number or name is ever cut to "…". Wider
terminals give the wrapping columns more room.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rich import box
from rich.table import Table

from bluebench.stats import Rate


class Valued(Protocol):
    """A measured value and its 95% interval: a Wilson ``Rate`` or a bootstrap ``Estimate``."""

    @property
    def value(self) -> float | None: ...

    @property
    def interval(self) -> tuple[float, float] | None: ...


def rate_text(rate: Rate | None, digits: int = 3) -> str:
    """A rate with its interval and counts, for a line of text: '0.944 [0.912-0.965] (286/303)'."""
    if rate is None:
        return "n/a"
    if rate.value is None:
        return f"n/a ({rate.k}/{rate.n})"
    return f"{value_text(rate.value, rate.interval, digits)} ({rate.k}/{rate.n})"


def value_text(value: float | None, ci: tuple[float, float] | None, digits: int = 3, sep: str = " ") -> str:
    """A value and its interval, if any: '0.944 [0.912-0.965]'; 'n/a' when undefined."""
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" + (f"{sep}[{ci[0]:.{digits}f}-{ci[1]:.{digits}f}]" if ci else "")


def rate_cell(rate: Rate | None, digits: int = 3) -> str:
    """A table cell: the value and its counts, the interval under them."""
    if rate is None or rate.value is None:
        return rate_text(rate, digits)
    ci = rate.interval
    line = f"{rate.value:.{digits}f} ({rate.k}/{rate.n})"
    return line if ci is None else f"{line}\n[{ci[0]:.{digits}f}-{ci[1]:.{digits}f}]"


def value_cell(v: Valued, digits: int = 3) -> str:
    """A table cell without counts (they have their own columns): the value, the interval under it."""
    return value_text(v.value, v.interval, digits, sep="\n")


def table(title: str, *headers: str, wrap: Sequence[int] = (0,), right: Sequence[str] = ()) -> Table:
    """A mail table that fits an 80-column terminal.

    Only the columns in ``wrap`` (names or free text) may wrap, or fold a word too long for
    them; the others hold numbers and intervals already broken into short lines and keep
    their width, so that a narrow terminal wraps those columns instead of cutting any cell.
    """
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for i, h in enumerate(headers):
        t.add_column(h, justify="right" if h in right else "left", no_wrap=i not in wrap, overflow="fold")
    return t
