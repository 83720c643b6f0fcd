"""An explicit registry of named plugins that refuses duplicate names (after Timesketch)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from bluebench.errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps stable names to plugins; registering a name twice raises instead of shadowing."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        """Add ``item`` under ``name``; a second registration of the same name is an error."""
        if name in self._items:
            raise RegistryError(f"{self.kind} already registered under name: {name}")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        """Return the plugin called ``name`` or raise a RegistryError listing the known names."""
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items))
            raise RegistryError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        """Names in registration order, which is also the order plugins run in."""
        return list(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __len__(self) -> int:
        return len(self._items)
