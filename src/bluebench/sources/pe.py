"""Windows PE files (.exe, .dll, .sys, .pyd, ...) as a bluebench source: one event per file.

Recognised by content (``MZ``, then the ``PE`` signature where ``e_lfanew`` points), never by
name. The file is parsed for its static features (``peparse``) once, here, and never
executed; the record is the features and the file's ECS ``file.*`` fields as JSON, so the
``malware_file`` detector scores what was read at ingest without the file having to stay
where it was. A file too large, not a PE after all, or broken before its headers is a
skipped record with the reason; a file read in part (truncated, out of time) is stored
with its notes and the missing features left missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pyarrow as pa

from bluebench.sources.base import RAW_SCHEMA, RawBatch, ReadOptions, Skipped
from bluebench.sources.lines import GZIP_MAGIC, ZIP_MAGIC, open_members
from bluebench.sources.peparse import PeError, looks_like_pe, parse_pe, too_large

SHAPE = "pe"


class PeReader:
    """A PE file, or the PE members of a zip or gzip file: one record each, its features as JSON."""

    name: ClassVar[str] = SHAPE

    def sniff(self, head: bytes, path: Path) -> bool:
        """``MZ`` and the ``PE\\0\\0`` signature at ``e_lfanew``, within the first 64 KiB."""
        return looks_like_pe(head)

    def read(
        self, path: Path, display: str, skipped: list[Skipped], options: ReadOptions
    ) -> Iterator[RawBatch]:
        """Yield one batch per PE file or member; what cannot be parsed is skipped with its reason."""
        lim = options.limits
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat().replace("+00:00", "Z")
        with path.open("rb") as fh:
            compressed = fh.read(4).startswith((ZIP_MAGIC, GZIP_MAGIC))
        size = path.stat().st_size
        if not compressed and size > lim.pe_bytes:
            # refused before its bytes are read: the limit bounds memory, not only parsing
            skipped.append(Skipped(display, 1, too_large(size, lim)))
            return
        for name, stream in open_members(path, display, skipped, lim):
            data = stream.read(lim.pe_bytes + 1)
            try:
                pe = parse_pe(data, name, lim)
            except PeError as exc:
                skipped.append(Skipped(name, 1, exc.reason))
                continue
            for note in pe.notes:
                skipped.append(Skipped(name, 1, f"read in part: {note}", kept=True))
            record = pe.to_json()
            record["file"]["mtime"] = mtime
            raw = json.dumps(record, separators=(",", ":"))
            yield RawBatch(SHAPE, pa.table([[1], [raw]], schema=RAW_SCHEMA), name)
