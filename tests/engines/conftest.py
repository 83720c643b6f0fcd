"""One Spark session for the whole test run, or a skip (a failure when CI requires Spark)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import Any

import pytest

REQUIRE = os.environ.get("BLUEBENCH_REQUIRE_SPARK") == "1"


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A ``local[2]`` session, started once: a JVM start costs seconds, every query reuses it."""
    missing = [m for m in ("pyspark", "sqlglot") if importlib.util.find_spec(m) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed: pip install -e '.[spark]'"
        if REQUIRE:
            pytest.fail(f"BLUEBENCH_REQUIRE_SPARK=1 but {reason}")
        pytest.skip(reason)
    from bluebench.engines.spark import start_session

    session = start_session("local[2]")
    yield session
    session.stop()
