from __future__ import annotations

import pytest

from bluebench.errors import RegistryError
from bluebench.registry import Registry


def test_registering_a_name_twice_raises() -> None:
    reg: Registry[int] = Registry("thing")
    reg.register("a", 1)
    with pytest.raises(RegistryError, match="already registered under name: a"):
        reg.register("a", 2)
    assert reg.get("a") == 1


def test_unknown_name_lists_the_known_ones() -> None:
    reg: Registry[int] = Registry("thing")
    reg.register("b", 2)
    reg.register("a", 1)
    with pytest.raises(RegistryError, match="known: a, b"):
        reg.get("c")
    assert reg.names() == ["b", "a"]
    assert list(reg) == [2, 1]
    assert "a" in reg and len(reg) == 2
