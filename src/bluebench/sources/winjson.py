"""Exported Windows events as JSON lines, plain, gzip or zipped.

Two shapes are recognised by content: Winlogbeat/ECS (nested ``winlog`` object) and the
flat OTRF/Mordor export (``EventID``, ``Channel`` and EventData fields at the top level).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from bluebench.sources.base import RawBatch, ReadOptions, Skipped
from bluebench.sources.lines import iter_line_blocks, open_members


def first_object(head: bytes) -> dict[str, object] | None:
    """Parse the first complete JSON line of ``head``; None when it is not a JSON object."""
    for line in head.split(b"\n")[:5]:
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            return None
        return obj if isinstance(obj, dict) else None
    return None


class _JsonLinesReader:
    name: ClassVar[str] = ""

    def read(
        self, path: Path, display: str, skipped: list[Skipped], options: ReadOptions
    ) -> Iterator[RawBatch]:
        """Yield batches of (line number, line); JSON validity is checked in the events stage."""
        lim = options.limits
        for name, stream in open_members(path, display, skipped, lim):
            for table in iter_line_blocks(
                stream, name, skipped, options.batch_bytes, max_line=lim.record_bytes
            ):
                yield RawBatch(self.name, table, name)


class WinlogbeatReader(_JsonLinesReader):
    """Winlogbeat/Elastic Agent output: ECS fields plus the ``winlog`` object."""

    name: ClassVar[str] = "winlogbeat"

    def sniff(self, head: bytes, path: Path) -> bool:
        """The first record has a ``winlog`` object with an event id."""
        obj = first_object(head)
        winlog = obj.get("winlog") if obj else None
        return isinstance(winlog, dict) and ("event_id" in winlog or "event_data" in winlog)


class OtrfReader(_JsonLinesReader):
    """The flat export used by OTRF Security-Datasets (Mordor): EventData at the top level."""

    name: ClassVar[str] = "otrf"

    def sniff(self, head: bytes, path: Path) -> bool:
        """The first record carries ``EventID`` and ``Channel`` at the top level."""
        obj = first_object(head)
        return bool(obj) and "EventID" in obj and ("Channel" in obj or "SourceName" in obj)  # type: ignore[operator]
