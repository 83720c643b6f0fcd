"""CSV or JSON lines of any layout, with a user-given mapping onto the event schema.

The mapping is a TOML file::

    format = "csv"            # or "jsonl"
    [fields]
    "@timestamp" = "time"     # event column = source column (or JSON path for jsonl)
    "user.name" = "account"
    "event.outcome" = "result"
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
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
        """Yield the CSV as string columns plus record numbers; bad rows are skipped by line."""
        assert options.mapping is not None

        def on_invalid(row: Any) -> str:
            skipped.append(Skipped(display, row.number, f"bad CSV row: {row.text[:120]!r}"))
            return "skip"

        for name, stream in open_members(path, display, skipped):
            try:
                reader = pacsv.open_csv(
                    stream,
                    read_options=pacsv.ReadOptions(block_size=options.batch_bytes // 4),
                    parse_options=pacsv.ParseOptions(
                        invalid_row_handler=on_invalid, newlines_in_values=False
                    ),
                    convert_options=pacsv.ConvertOptions(
                        column_types={}, strings_can_be_null=True, auto_dict_encode=False
                    ),
                )
            except pa.ArrowInvalid as exc:
                skipped.append(Skipped(name, None, f"not readable as CSV: {exc}"))
                continue
            columns = [str(c) for c in reader.schema.names]
            missing = sorted({v for v in options.mapping.values()} - set(columns))
            if missing:
                raise ConfigError(f"{name}: mapped columns not in the CSV header: {missing}")
            row = 2  # line 1 is the header
            for batch in reader:
                table = pa.Table.from_batches([batch]).cast(pa.schema([(c, pa.string()) for c in columns]))
                # Line numbers assume no quoted newlines; rows the handler skipped shift them,
                # so they are only exact for well-formed files (noted in the docs).
                records = pa.array(range(row, row + table.num_rows), pa.int64())
                row += table.num_rows
                yield RawBatch(
                    self.name,
                    table.add_column(0, "record", records),
                    name,
                    {"mapping": options.mapping},
                )


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
        for name, stream in open_members(path, display, skipped):
            for table in iter_line_blocks(stream, name, skipped, options.batch_bytes):
                yield RawBatch(self.name, table, name, {"mapping": options.mapping})
