"""Fixtures of the report and drill tests: one demo-like run per session (see ``report_runs.py``).

Registered in tests/conftest.py, so every folder that reads a real run shares the one build.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from report_runs import DemoRun, build_demo


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """One demo-like run shared by the report and drill tests (read-only: copy it before changing it)."""
    return build_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def demo_copy(demo_run: DemoRun, tmp_path: Path) -> Iterator[DemoRun]:
    """A private copy of the demo run, for tests that change stored data."""
    dst = tmp_path / "run"
    shutil.copytree(demo_run.folder, dst)
    yield DemoRun(dst, dst / "ws")
