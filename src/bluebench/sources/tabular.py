"""CSV or JSON lines of any layout, with a user-given mapping onto the event schema.

The mapping is a TOML file::

    format = "csv"            # or "jsonl"
    [fields]
    "@timestamp" = "time"     # event column = source column (or JSON path for jsonl)
    "user.name" = "account"
    "event.outcome" = "result"
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from bluebench.errors import ConfigError
from bluebench.schema import EVENT_COLUMN_NAMES
from bluebench.sources.base import RawBatch, ReadOptions, Skipped
from bluebench.sources.lines import iter_line_blocks, open_members

MAPPABLE = set(EVENT_COLUMN_NAMES) - {"event.id", "log.file.path", "log.record", "event.original"}


def load_mapping(path: Path) -> tuple[str, dict[str, str]]:
    """Read and check a mapping file; unknown event columns are an error, not ignored."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read mapping: {exc}") from exc
    fmt = data.get("format")
    if fmt not in ("csv", "jsonl"):
        raise ConfigError(f'{path}: \'format\' must be "csv" or "jsonl", got {fmt!r}')
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise ConfigError(f"{path}: a [fields] table mapping event columns to source fields is required")
    unknown = sorted(set(fields) - MAPPABLE)
    if unknown:
        raise ConfigError(f"{path}: unknown event columns {unknown}; known: {sorted(MAPPABLE)}")
    if "@timestamp" not in fields:
        raise ConfigError(f"{path}: '@timestamp' must be mapped")
    return fmt, {str(k): str(v) for k, v in fields.items()}


class MappedCsvReader:
    """CSV with a header row; each row is one record, numbered by its line in the file."""

    name: ClassVar[str] = "mapped-csv"

    def sniff(self, head: bytes, path: Path) -> bool:
        """Only used when the user gives a CSV mapping; content alone cannot say what columns mean."""
        return False

    def read(
        self, path: Path, display: str, skipped: list[Skipped], options: ReadOptions
    ) -> Iterator[RawBatch]:
        """Yield the CSV as string columns plus line numbers; bad rows are skipped by line.

        Lines are cut first (each row is one line: quoted newlines are not supported), so
        every row keeps its own line number even after a bad or blank line, and a line that
        is not UTF-8 is skipped alone instead of failing the file.
        """
        assert options.mapping is not None
        lim = options.limits
        for name, stream in open_members(path, display, skipped, lim):
            header: str | None = None
            columns: list[str] = []
            for block in iter_line_blocks(
                stream, name, skipped, options.batch_bytes // 4, max_line=lim.record_bytes
            ):
                records, lines = block.column("record").combine_chunks(), block.column("raw").combine_chunks()
                if header is None:
                    header = str(lines[0].as_py()).lstrip("\ufeff")
                    columns = next(csv.reader([header]))
                    missing = sorted(set(options.mapping.values()) - set(columns))
                    if missing:
                        raise ConfigError(f"{name}: mapped columns not in the CSV header: {missing}")
                    records, lines = records.slice(1), lines.slice(1)
                if len(lines) == 0:
                    continue
                table = _parse_rows(header, columns, records, lines, name, skipped)
                if table is not None and table.num_rows:
                    yield RawBatch(self.name, table, name, {"mapping": options.mapping})


def _parse_rows(
    header: str, columns: list[str], records: pa.Array, lines: pa.Array, name: str, skipped: list[Skipped]
) -> pa.Table | None:
    """Parse whole lines as CSV rows under ``header``; rows of the wrong width are skipped by line."""
    joined = pc.binary_join_element_wise(
        lines.cast(pa.large_string()), pa.scalar("", pa.large_string()), pa.scalar("\n", pa.large_string())
    )
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)[
        joined.offset : joined.offset + len(joined) + 1
    ]
    body = joined.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    data = pa.py_buffer((header + "\n").encode("utf-8") + body.to_pybytes())
    bad: list[str] = []

    def on_invalid(row: Any) -> str:
        bad.append(str(row.text))
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns},
                strings_can_be_null=True,
                auto_dict_encode=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        first = int(records[0].as_py())
        skipped.append(Skipped(name, first, f"CSV lines from {first} not readable: {exc}"))
        return None
    table = table.cast(pa.schema([(c, pa.string()) for c in table.column_names]))
    keep = np.ones(len(lines), dtype=bool)
    if bad:
        # Bad rows come back in order and are whole lines: walk both to find their numbers.
        texts = lines.to_pylist()
        nums = records.to_pylist()
        j = 0
        for i, text in enumerate(texts):
            if j < len(bad) and text.rstrip("\r") == bad[j].rstrip("\r"):
                keep[i] = False
                skipped.append(Skipped(name, nums[i], f"bad CSV row: {text[:120]!r}"))
                j += 1
        if j != len(bad) or int(keep.sum()) != table.num_rows:
            raise ConfigError(f"{name}: cannot tell which CSV rows are bad (quoted newlines?)")
    return table.add_column(0, "record", records.filter(pa.array(keep)))


class MappedJsonLinesReader:
    """JSON lines of any layout; mapping values are JSON paths like ``$.actor.name`` or keys."""

    name: ClassVar[str] = "mapped-jsonl"

    def sniff(self, head: bytes, path: Path) -> bool:
        """Only used when the user gives a JSON-lines mapping."""
        return False

    def read(
        self, path: Path, display: str, skipped: list[Skipped], options: ReadOptions
    ) -> Iterator[RawBatch]:
        """Yield (line number, line) batches with the mapping for the events stage."""
        lim = options.limits
        for name, stream in open_members(path, display, skipped, lim):
            for table in iter_line_blocks(
                stream, name, skipped, options.batch_bytes, max_line=lim.record_bytes
            ):
                yield RawBatch(self.name, table, name, {"mapping": options.mapping})
