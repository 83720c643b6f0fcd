"""Dates of vulnerability knowledge: what day a snapshot was taken, an entry added, a record changed.

Everything here is a calendar day (``datetime.date``); a timestamp counts on its UTC day.
A ranking made "at" a day may use what is dated on or before that day.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from bluebench.errors import BluebenchError

_DAY = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


def parse_day(text: str, what: str = "date") -> date:
    """A YYYY-MM-DD day (a longer ISO timestamp is cut to its day); a clear error otherwise."""
    try:
        return date.fromisoformat(text.strip()[:10])
    except (ValueError, AttributeError):
        raise BluebenchError(f"{what} must be a day as YYYY-MM-DD, got {text!r}") from None


def day_of(value: object) -> date | None:
    """The day of an ISO date or timestamp string; None when it is missing or not one."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def day_in_path(path: Path) -> date | None:
    """The day named in a file's name or in its nearest folder that names one ('epss/2024-06-30/x.gz')."""
    for part in (path.name, *(p.name for p in path.parents)):
        m = _DAY.search(part)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                continue
    return None
