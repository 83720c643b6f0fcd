"""What every reader hands to the events stage: raw records in Arrow batches, and what it skipped.

A reader never interprets fields; it only cuts a file into records (line, EVTX record, CSV
row), numbers them for provenance and names the ``shape`` whose SQL normalizes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

import pyarrow as pa

from bluebench.sources.limits import DEFAULT_LIMITS, Limits

RAW_SCHEMA = pa.schema([("record", pa.int64()), ("raw", pa.string())])


@dataclass(frozen=True)
class Skipped:
    """One record that could not be read, with the reason a user needs to fix or accept it."""

    file: str
    record: int | None
    reason: str
    kept: bool = False  # True when the record was repaired and stored, not dropped

    def __str__(self) -> str:
        where = f"{self.file}, record {self.record}" if self.record is not None else self.file
        return f"{where}: {self.reason}"


@dataclass
class RawBatch:
    """A batch of raw records of one shape; ``table`` follows RAW_SCHEMA (plus optional columns)."""

    shape: str
    table: pa.Table
    file: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass
class ReadOptions:
    """Reader parameters the user may set: field mapping for CSV/JSON lines, syslog year, limits."""

    mapping: dict[str, str] | None = None
    mapping_format: str | None = None
    year: int | None = None
    batch_bytes: int = 32 * 1024 * 1024
    limits: Limits = DEFAULT_LIMITS
    warnings: list[str] = field(default_factory=list)


class Reader(Protocol):
    """A file format: recognises its content from the first bytes and yields raw batches."""

    name: ClassVar[str]

    def sniff(self, head: bytes, path: Path) -> bool:
        """True when ``head`` (the first 64 KiB, decompressed) looks like this format."""
        ...

    def read(
        self, path: Path, display: str, skipped: list[Skipped], options: ReadOptions
    ) -> Iterator[RawBatch]:
        """Yield raw batches; append unreadable records to ``skipped`` and keep going."""
        ...
