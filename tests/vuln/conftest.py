"""The vuln tests' world: written once per session from a seed (tests/vuln_world.py)."""

from __future__ import annotations

import pytest

from vuln_world import World, write_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Read-only: tests that change files write their own world."""
    return write_world(tmp_path_factory.mktemp("world"))
