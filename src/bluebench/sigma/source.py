"""Batches of Windows events in the engine's columns, from files (streamed) or a workspace.

Both paths give the same columns (``extract.BATCH_COLUMNS``): the System fields Sigma
needs (event id, channel, provider, computer, time), the EventData JSON, and provenance.
Files are read by the project's own readers and reduced by the same SQL the workspace
uses, one batch at a time, so memory does not grow with the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from bluebench.events.normalize import WINDOWS_PATHS, windows_intermediate_sql
from bluebench.sigma.extract import DUCKDB_THREADS, RECORD_ERRORS, SCAN_ROWS, engine_connection
from bluebench.sources import InputFile, ReadOptions, Skipped, detect_reader, discover
from bluebench.sources.lines import iter_line_blocks, open_members, read_head
from bluebench.sources.winjson import first_object

_SELECT = """SELECT code, channel, provider, host, ts, ed::VARCHAR AS ed, file::VARCHAR AS file,
    record, NULL::VARCHAR AS event_id FROM ({inner})"""

#: The datasets whose events carry Windows EventData.
WINDOWS_DATASETS = ("evtx", "winlogbeat", "otrf")
#: Where each batch column (``extract.BATCH_COLUMNS``) lives in the stored events table.
EVENT_COLUMNS = {
    "code": "event.code",
    "channel": "winlog.channel",
    "provider": "event.provider",
    "host": "host.name",
    "ts": "@timestamp",
    "ed": "winlog.event_data",
    "file": "log.file.path",
    "record": "log.record",
    "event_id": "event.id",
}
WORKSPACE_SQL = (
    "SELECT "
    + ", ".join(
        f'"{src}"{"::VARCHAR" if name == "ed" else ""} AS {name}' for name, src in EVENT_COLUMNS.items()
    )
    + ' FROM events WHERE "event.dataset" IN ('
    + ", ".join(f"'{d}'" for d in WINDOWS_DATASETS)
    + ")"
)


@dataclass
class ReadReport:
    """What the file reader saw: files read, files not Windows events, skipped records, and
    anything else the user should know about how the run went (``notes``)."""

    files: int = 0
    not_windows: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def extend(self, later: ReadReport) -> None:
        """Add what the reader saw of files read after these (a worker's share of the input)."""
        self.files += later.files
        self.not_windows.extend(later.not_windows)
        self.skipped.extend(later.skipped)
        self.notes.extend(later.notes)


# The EVTX reader's own schema (``sources.base.RAW_SCHEMA``): its blocks, one or two per small file
# of a folder, need no cast; the line readers' few large blocks are cast to it.
_RAW_SCHEMA = pa.schema([("record", pa.int64()), ("raw", pa.string())])
#: Why a line that is not JSON is skipped, followed by its start (as ingest names it).
NOT_JSON = "not valid JSON (truncated?)"
# Raw input read and reduced at a time. Small: the raw text is dropped as soon as it is
# reduced; the engine gathers reduced blocks into its own, larger batches (``BATCH_ROWS``).
BATCH_BYTES = 4 * 1024 * 1024


def file_batches(
    paths: list[str],
    report: ReadReport | None = None,
    threads: int = DUCKDB_THREADS,
    batch_bytes: int | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> Iterator[pa.Table]:
    """Stream the Windows events of files/folders (EVTX, Winlogbeat/OTRF JSON lines).

    ``batch_bytes`` of raw input per block (default ``BATCH_BYTES``); memory grows with the
    block, not with the input. ``con`` (``SigmaEngine.connection``): reduce through the
    engine's DuckDB database instead of a second one (each holds its own memory and threads).
    """
    return input_batches(discover(paths), report, threads, batch_bytes, con)


def input_batches(
    files: Iterable[InputFile],
    report: ReadReport | None = None,
    threads: int = DUCKDB_THREADS,
    batch_bytes: int | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> Iterator[pa.Table]:
    """:func:`file_batches` over files already found (``discover``): a worker reads its share of them."""
    rep = report if report is not None else ReadReport()
    con = con.cursor() if con is not None else engine_connection(threads)
    opts = ReadOptions(batch_bytes=batch_bytes or BATCH_BYTES)
    # Raw blocks of consecutive files of one shape are reduced together: one DuckDB query per
    # batch, not one per small file (a folder of EVTX holds hundreds of small files).
    pending: list[tuple[pa.Table, str]] = []
    pending_shape = ""
    pending_bytes = 0
    for f in files:
        reader = detect_reader(f.path, opts)
        evtx_lines = reader is None and _evtx_json_lines(f.path)
        if not evtx_lines and (reader is None or reader.name not in WINDOWS_PATHS):
            rep.not_windows.append(f.display)
            continue
        rep.files += 1
        try:
            if evtx_lines:
                blocks: Iterator[tuple[str, pa.Table, str]] = (
                    ("evtx", table, name)
                    for name, stream in open_members(f.path, f.display, rep.skipped)
                    for table in iter_line_blocks(stream, name, rep.skipped, opts.batch_bytes)
                )
            else:
                assert reader is not None
                blocks = (
                    (rb.shape, rb.table, rb.file) for rb in reader.read(f.path, f.display, rep.skipped, opts)
                )
        except Exception as exc:  # one unreadable file is reported, the others are read
            rep.skipped.append(Skipped(f.display, None, f"file not read: {_short(exc)}"))
            continue
        it = iter(blocks)
        while True:
            try:
                shape, table, name = next(it)
                table = table.select(["record", "raw"])
                if table.schema != _RAW_SCHEMA:
                    table = table.cast(_RAW_SCHEMA)
            except StopIteration:
                break
            except Exception as exc:  # one unreadable file is reported, the others are read
                rep.skipped.append(Skipped(f.display, None, f"file not read: {_short(exc)}"))
                break
            if pending and (shape != pending_shape or pending_bytes >= opts.batch_bytes):
                yield from _reduced(con, pending_shape, pending, rep)
                pending, pending_bytes = [], 0
            pending.append((table, name))
            pending_shape = shape
            pending_bytes += table.nbytes
    if pending:
        yield from _reduced(con, pending_shape, pending, rep)


def _reduced(
    con: duckdb.DuckDBPyConnection, shape: str, parts: list[tuple[pa.Table, str]], rep: ReadReport
) -> Iterator[pa.Table]:
    """``_reduce``, halved until it succeeds: what one record makes fail is that record's skip.

    DuckDB may run out of its memory on a batch (how much it needs depends on the threads'
    timing) or refuse one record's data. Halving finds the record at fault, names and counts
    it, and reduces the rest, so which events are read never depends on memory or timing.
    Any other failure is reported against the batch's files.
    """
    try:
        reduced = _reduce(con, shape, parts, rep)
    except RECORD_ERRORS as exc:
        error: Exception = exc
    except Exception as exc:
        for name in dict.fromkeys(name for _, name in parts):
            rep.skipped.append(Skipped(name, None, f"file not read: {_short(exc)}"))
        return
    else:
        # The raw text is let go before the reduced batch is used (the caller's list too).
        parts.clear()
        yield reduced
        return
    if sum(t.num_rows for t, _ in parts) <= 1:
        for t, name in parts:
            for record in t.column("record").to_pylist():
                rep.skipped.append(Skipped(name, record, f"record not read: {_short(error)}"))
        return
    first, second = halves(parts)
    yield from _reduced(con, shape, first, rep)
    yield from _reduced(con, shape, second, rep)


def halves(
    parts: list[tuple[pa.Table, str]],
) -> tuple[list[tuple[pa.Table, str]], list[tuple[pa.Table, str]]]:
    """The (table, file) parts cut into two runs of (nearly) equal rows, order kept."""
    half = sum(t.num_rows for t, _ in parts) // 2
    first: list[tuple[pa.Table, str]] = []
    second: list[tuple[pa.Table, str]] = []
    taken = 0
    for t, name in parts:
        if taken >= half:
            second.append((t, name))
        elif taken + t.num_rows <= half:
            first.append((t, name))
        else:
            cut = half - taken
            first.append((t.slice(0, cut), name))
            second.append((t.slice(cut), name))
        taken += t.num_rows
    return first, second


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _evtx_json_lines(path: Path) -> bool:
    """JSON lines of the EVTX parser's own shape ({"Event": {"System": ..., "EventData": ...}})."""
    obj = first_object(read_head(path))
    return isinstance(obj, dict) and isinstance(obj.get("Event"), dict)


def _reduce(
    con: duckdb.DuckDBPyConnection, shape: str, parts: list[tuple[pa.Table, str]], rep: ReadReport
) -> pa.Table:
    """Raw (record, raw) tables of one shape, each with its file name, to the engine's columns.

    A line that is not JSON is left out and named in ``rep.skipped``, as ingest names it.
    """
    names = [name for _, name in parts]
    file_idx = np.repeat(np.arange(len(parts), dtype=np.int32), [t.num_rows for t, _ in parts])
    files = pa.DictionaryArray.from_arrays(pa.array(file_idx), pa.array(names, pa.string()))
    raw = pa.concat_tables([t for t, _ in parts]) if len(parts) > 1 else parts[0][0]
    table = raw.append_column("file", files)
    # In chunks, so DuckDB's threads share the scan (order is kept).
    con.register("raw_batch", pa.Table.from_batches(table.to_batches(SCAN_ROWS)))
    try:
        try:
            return con.sql(
                _SELECT.format(inner=windows_intermediate_sql(shape, checked=False))
            ).to_arrow_table()
        except duckdb.InvalidInputException as exc:  # a line that is not JSON: filter such lines out
            if "Malformed JSON" not in str(exc):
                raise
            bad = con.sql(
                "SELECT file::VARCHAR, record, left(raw, 60) FROM raw_batch WHERE NOT json_valid(raw)"
            ).fetchall()
            rep.skipped.extend(Skipped(name, record, f"{NOT_JSON}: {text!r}") for name, record, text in bad)
            return con.sql(
                _SELECT.format(inner=windows_intermediate_sql(shape, checked=True))
            ).to_arrow_table()
    finally:
        con.unregister("raw_batch")


def workspace_batches(con: duckdb.DuckDBPyConnection, rows: int = 100_000) -> Iterator[pa.Table]:
    """Stored Windows events in batches (an Arrow stream, never the whole table)."""
    reader = con.sql(WORKSPACE_SQL).to_arrow_reader(rows)
    for rb in reader:
        yield pa.Table.from_batches([rb])
