"""What ``generate`` writes unless told otherwise, apart from the generator so that naming the
defaults (the CLI's help does, on every start) loads no numpy or Arrow."""

from __future__ import annotations

from datetime import date

DEFAULT_START = date(2025, 3, 3)  # a Monday
DEFAULT_DAYS = 42  # six weeks: behaviour baselines need 20+ active days before they judge
DEFAULT_LINUX_SHARE = 0.03
