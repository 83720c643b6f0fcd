"""Argus bidirectional flows (``ra -c ,`` output, the CTU ``*.binetflow`` files), plain or gzip.

The header row names the columns (``StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,
State,...``); the normalizer reads them by position. A row with another number of columns is
skipped and named. A ``Label`` column is never read as an event field: ``evaluate`` reads labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluebench.sources.base import RawBatch, ReadOptions, Skipped
from bluebench.sources.lines import iter_line_blocks, open_members

#: Columns a binetflow header must name for the file to be read as one.
REQUIRED = ("StartTime", "Proto", "SrcAddr", "DstAddr")


def header_columns(line: str) -> list[str] | None:
    """The column names of an Argus CSV header line, or None when it is not one."""
    names = [n.strip() for n in line.strip().lstrip("\ufeff").split(",")]
    return names if all(r in names for r in REQUIRED) else None


class ArgusReader:
    """Comma-separated Argus flow records with a header row."""

    name: ClassVar[str] = "argus"

    def sniff(self, head: bytes, path: Path) -> bool:
        """The first line is an Argus header naming the start time and both addresses."""
        first = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
        return header_columns(first) is not None

    def read(
        self, path: Path, display: str, skipped: list[Skipped], options: ReadOptions
    ) -> Iterator[RawBatch]:
        """Yield batches of rows with the header's column count; other rows are named and skipped."""
        lim = options.limits
        for name, stream in open_members(path, display, skipped, lim):
            columns: list[str] | None = None
            for table in iter_line_blocks(
                stream, name, skipped, options.batch_bytes, max_line=lim.record_bytes
            ):
                if columns is None:
                    columns = header_columns(str(table.column("raw")[0].as_py()))
                    if columns is None:
                        skipped.append(Skipped(name, None, "no Argus header row; the member is not read"))
                        break
                    table = table.slice(1)
                table = _fitting(table, len(columns), name, skipped)
                if table.num_rows:
                    yield RawBatch(self.name, table, name, {"fields": tuple(columns)})


def _fitting(table: pa.Table, columns: int, name: str, skipped: list[Skipped]) -> pa.Table:
    """The rows with as many columns as the header; the others appended to ``skipped``."""
    commas = pc.count_substring(table.column("raw"), ",").to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(commas != columns - 1)
    if not len(bad):
        return table
    records = table.column("record").to_numpy()
    for i in bad.tolist():
        skipped.append(
            Skipped(
                name,
                int(records[i]),
                f"{int(commas[i]) + 1} columns where the header names {columns} (a truncated line?); skipped",
            )
        )
    keep = np.ones(table.num_rows, dtype=bool)
    keep[bad] = False
    return table.filter(pa.array(keep))
