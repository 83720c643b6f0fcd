"""docs/security.md states the limits and the login delay as the code sets them (typed numbers drift)."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from bluebench.review import LoginPolicy
from bluebench.sources.limits import DEFAULT_LIMITS

DOC = Path(__file__).resolve().parents[1] / "docs" / "security.md"


def table(setting_names: set[str]) -> dict[str, str]:
    """name -> default of the doc's table rows whose first cell is one of ``setting_names``."""
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", DOC.read_text(encoding="utf-8"), flags=re.M)
    return {name: value.strip() for name, value in rows if name in setting_names}


def test_the_limits_table_is_the_code_s() -> None:
    names = {f.name for f in fields(DEFAULT_LIMITS)}
    assert table(names) == {n: str(getattr(DEFAULT_LIMITS, n)) for n in names}


def test_the_login_delay_table_is_the_code_s() -> None:
    policy = LoginPolicy()
    names = {f.name for f in fields(policy)}
    assert table(names) == {n: str(getattr(policy, n)) for n in names}
