"""The ``check`` fixture: a detection over tiny events, through the engine and its SQL form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sigma_helpers import matched, proc_rule, run, sql_records, write_rule

from bluebench.sigma import compile_rules


@pytest.fixture
def check(tmp_path: Path):  # type: ignore[no-untyped-def]
    """check(detection, events) -> records matched; asserts the SQL form agrees."""

    def go(detection: str, events: list[dict[str, Any]]) -> list[int]:
        rs = compile_rules([write_rule(tmp_path, proc_rule(detection))])
        assert not rs.failures, rs.failures
        rid = rs.rules[0].id
        got = matched(run(rs, events), rid)
        assert sql_records(rs, rid, events) == got
        return got

    return go
