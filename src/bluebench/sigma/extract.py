"""Sigma engine, stage 1: a batch's rows by (channel, event id) and the fields its rules read.

A batch (Arrow, ``BATCH_COLUMNS``) is split into *cells*, one per (channel, event id)
present, so each cell is shown only the rules whose log source admits it. The fields those
rules read are pulled out of the EventData JSON once per row, the rows of many cells in one
DuckDB call (field names are bound parameters), and dictionary-encoded: most values repeat
(images, paths, users), so every later comparison runs on the distinct values only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluebench.sigma.ir import KEYWORD_FIELD
from bluebench.sigma.pipeline import FIELD_ALIASES, SYSTEM_FIELDS
from bluebench.sources.base import Skipped

BATCH_COLUMNS = ("code", "channel", "provider", "host", "ts", "ed", "file", "record", "event_id")
STREAM_ROWS = 8_192  # rows per Arrow chunk streamed back from DuckDB
SCAN_ROWS = 2_048  # rows per chunk handed to DuckDB: one chunk is scanned by one thread
EMPTY_ROWS = np.zeros(0, dtype=np.int32)
#: DuckDB errors that depend on the rows a query was given (memory it ran out of, a value it
#: refused), not on the query: halving the rows finds the record at fault.
RECORD_ERRORS = (duckdb.OutOfMemoryException, duckdb.InvalidInputException, duckdb.ConversionException)
#: DuckDB's memory for the engine's own queries: the widest cells of real host logs (OTRF:
#: Sysmon process events, dozens of fields) fit, so halving (see ``FieldReader``) is rare.
DUCKDB_MEMORY = "256MB"
#: DuckDB's threads for the engine's queries. One: a second thread holds about 20 MB more at
#: peak (its own buffers for the JSON it parses) and, measured on this 2-core machine beside
#: other work, saves no wall time; pass ``threads=2`` where a core is idle for it.
DUCKDB_THREADS = 1


class Distinct:
    """A field's distinct values, shared by the parts of its column; lowercased only when asked."""

    __slots__ = ("_lower", "_lower_arr", "values")

    def __init__(self, values: pa.Array, lower_arr: pa.Array | None = None) -> None:
        self.values = values  # original case
        self._lower_arr = lower_arr
        self._lower: list[str] | None = None

    @property
    def lower_arr(self) -> pa.Array:
        """The values lowercased (Arrow), made on first use: event texts may never need it whole."""
        if self._lower_arr is None:
            self._lower_arr = pc.utf8_lower(self.values)
        return self._lower_arr

    @property
    def lower(self) -> list[str]:
        """The lowercased values as Python strings, made only where needed (automaton)."""
        if self._lower is None:
            self._lower = [s if s is not None else "" for s in self.lower_arr.to_pylist()]
        return self._lower


class Column:
    """One field over a cell's rows, dictionary-encoded."""

    __slots__ = ("distinct", "idx", "nd")

    def __init__(
        self, values: pa.Array | Distinct, lower_arr: pa.Array | None, idx: np.ndarray[Any, Any]
    ) -> None:
        self.distinct = values if isinstance(values, Distinct) else Distinct(values, lower_arr)
        self.idx = idx  # per row: index into values, nd where absent
        self.nd = len(self.distinct.values)

    @property
    def values(self) -> pa.Array:
        """The distinct values (original case)."""
        return self.distinct.values

    @property
    def lower_arr(self) -> pa.Array:
        """The distinct values lowercased."""
        return self.distinct.lower_arr

    @property
    def lower(self) -> list[str]:
        """The lowercased distinct values as Python strings."""
        return self.distinct.lower

    def part(self, lo: int, hi: int) -> Column:
        """Rows ``lo:hi``, sharing this column's distinct values (and what is made of them)."""
        return Column(self.distinct, None, self.idx[lo:hi])


def encode(arr: pa.Array) -> Column:
    """Dictionary-encode a string array; absent values index one past the dictionary."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    enc = pc.dictionary_encode(arr)
    values = enc.dictionary
    idx = enc.indices.fill_null(len(values)).to_numpy(zero_copy_only=False).astype(np.int64)
    return Column(values, pc.utf8_lower(values), idx)


def own_values(arr: pa.Array) -> Column:
    """A column whose rows each index their own value: for event texts, which hardly ever repeat.

    Nothing is hashed, and the text is lowercased only where a plan asks (``Distinct.lower_arr``).
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    idx = np.arange(len(arr), dtype=np.int64)
    if arr.null_count:
        idx[arr.is_null().to_numpy(zero_copy_only=False)] = len(arr)
    return Column(arr, None, idx)


def cells(batch: pa.Table) -> Iterator[tuple[str, str, np.ndarray[Any, Any]]]:
    """(lowercased channel, event id, sorted rows) per (channel, event id) present in the batch."""
    n = batch.num_rows
    channel = encode(pc.utf8_lower(batch.column("channel").combine_chunks().cast(pa.string())))
    code = encode(batch.column("code").combine_chunks().cast(pa.string()))
    # One cell id per row from the two dictionaries.
    cell_of = channel.idx.astype(np.int64) * (code.nd + 1) + code.idx
    order = np.argsort(cell_of, kind="stable")
    sorted_cells = cell_of[order]
    bounds = np.flatnonzero(np.diff(sorted_cells)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [n]])
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        ci, ki = divmod(int(sorted_cells[s]), code.nd + 1)
        ch = channel.lower[ci] if ci < channel.nd else ""
        cd = code.lower[ki] if ki < code.nd else ""
        yield ch, cd, np.sort(order[s:e])


def engine_connection(threads: int) -> duckdb.DuckDBPyConnection:
    """A DuckDB database set up for the engine's queries: bounded memory, handed back early."""
    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
    con.execute("SET allocator_flush_threshold = '8MB'")
    con.execute("SET allocator_bulk_deallocation_flush_threshold = '8MB'")
    return con


class FieldReader:
    """Reads the fields of a cell's rows through one DuckDB connection kept for the whole run.

    ``skipped`` names the events whose fields could not be read even alone (they are
    evaluated as if those fields were absent).
    """

    def __init__(self, threads: int = DUCKDB_THREADS) -> None:
        self._con = engine_connection(threads)
        self.skipped: list[Skipped] = []

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection the fields are read through (its database can be shared)."""
        return self._con

    def columns(
        self,
        batch: pa.Table,
        rows: np.ndarray[Any, Any],
        names: list[str],
        lists: pa.ChunkedArray | None = None,
    ) -> dict[str, Column]:
        """The named fields of the given batch rows, dictionary-encoded.

        ``lists``: the EventData values of these rows and names, one list per row (their slice of
        ``lists`` over several reads); without it, these rows are read alone.
        """
        if lists is None:
            lists = self.lists(batch, [(rows, names)])
        return read_columns(batch, rows, names, lists)

    def lists(self, batch: pa.Table, reads: list[tuple[np.ndarray[Any, Any], list[str]]]) -> pa.ChunkedArray:
        """The EventData values each read (rows, names) needs, its rows after the previous read's,
        in one DuckDB call (``read_columns`` takes a read's fields from its slice of the result).

        A call costs milliseconds whatever its rows (binding and planning), and a batch of real logs
        holds a hundred cells or more: each row is read at its own read's paths (a CASE over their
        path lists).
        """
        groups: dict[tuple[str, ...], int] = {}
        gids: list[int] = []
        for _, names in reads:
            paths = tuple(_json_paths(names))
            gids.append(groups.setdefault(paths, len(groups)) if paths else -1)
        rows = np.concatenate([r for r, _ in reads]) if reads else EMPTY_ROWS
        gid = np.repeat(np.array(gids, dtype=np.int32), [len(r) for r, _ in reads])
        return self._lists(batch, rows, gid, [list(p) for p in groups])

    def _lists(
        self, batch: pa.Table, rows: np.ndarray[Any, Any], gid: np.ndarray[Any, Any], paths: list[list[str]]
    ) -> pa.ChunkedArray:
        """``extract_lists``, halved until it succeeds, so the result never depends on memory.

        DuckDB needs more memory for some rows than others, and how much depends on its
        threads' timing: rows that fail are read in two halves (and so on), which gives the
        same values. A single event that still fails is named and read as having no fields.
        """
        if not (gid >= 0).any():
            return pa.chunked_array([pa.nulls(len(rows), LISTS)])
        try:
            return extract_lists(self._con, batch, pa.array(rows), gid, paths)
        except RECORD_ERRORS as exc:
            if len(rows) > 1:
                mid = len(rows) // 2
                a = self._lists(batch, rows[:mid], gid[:mid], paths)
                b = self._lists(batch, rows[mid:], gid[mid:], paths)
                return pa.chunked_array(a.chunks + b.chunks, LISTS)
            file = batch.column("file")[int(rows[0])].as_py()
            record = batch.column("record")[int(rows[0])].as_py()
            why = " ".join(str(exc).split())[:200]
            self.skipped.append(Skipped(str(file), record, f"Sigma fields not read: {why}"))
            return pa.chunked_array([pa.nulls(1, LISTS)])


LISTS = pa.list_(pa.string())  # a batch's EventData reads: one list of values per row


def _json_paths(names: list[str]) -> list[str]:
    """The EventData paths a read of ``names`` needs, in order: each field's, then its aliases'."""
    return [
        _path(p)
        for f in dict.fromkeys(names)
        if f not in SYSTEM_FIELDS and f != KEYWORD_FIELD
        for p in (f, *FIELD_ALIASES.get(f, ()))
    ]


def extract_lists(
    con: duckdb.DuckDBPyConnection,
    batch: pa.Table,
    take: pa.Array,
    gid: np.ndarray[Any, Any],
    paths: list[list[str]],
) -> pa.ChunkedArray:
    """Per batch row ``take``, the EventData values at its group's paths (``paths[gid]``; none where
    ``gid`` is -1), one list per row: one DuckDB call, the paths bound as parameters."""
    used = [g for g in np.unique(gid).tolist() if g >= 0]
    # Branch numbers and parameter names come from the code; the paths (rule text) stay bound data.
    case = " ".join(f"WHEN {int(g)} THEN json_extract_string(ed, $p{int(g)})" for g in used)
    table = pa.table({"ed": batch.column("ed").take(take), "g": gid})
    # In chunks of DuckDB's vector size, so its threads share the scan (order is kept).
    con.register("sigma_cells", pa.Table.from_batches(table.to_batches(SCAN_ROWS)))
    try:
        # Kept in its chunks: each read takes its own rows out of them.
        sql = f"SELECT CASE g {case} END AS v FROM sigma_cells"
        return _streamed(con, sql, {f"p{g}": paths[g] for g in used}).column(0).cast(LISTS)
    finally:
        con.unregister("sigma_cells")


def _streamed(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> pa.Table:
    """``sql``'s result through an Arrow stream, so DuckDB never holds it whole beside the Arrow copy.

    The stream hands DuckDB's errors on as ``OSError``; running out of memory is raised as
    DuckDB's own exception again, which the callers' halving catches.
    """
    try:
        return con.sql(sql, params=params).to_arrow_reader(STREAM_ROWS).read_all()
    except OSError as exc:
        if "Out of Memory" in str(exc):
            raise duckdb.OutOfMemoryException(str(exc)) from exc
        raise


def read_columns(
    batch: pa.Table, rows: np.ndarray[Any, Any], names: list[str], lists: pa.ChunkedArray
) -> dict[str, Column]:
    """The named fields of the given rows (``read_arrays``), dictionary-encoded; the keyword text,
    which hardly ever repeats, indexes its own values."""
    return {
        f: own_values(arr) if f == KEYWORD_FIELD else encode(arr)
        for f, arr in read_arrays(batch, rows, names, lists).items()
    }


def read_arrays(
    batch: pa.Table, rows: np.ndarray[Any, Any], names: list[str], lists: pa.ChunkedArray
) -> dict[str, pa.Array]:
    """The named fields of the given rows: System fields from the batch's columns, the keyword text
    from its EventData, the rest from ``lists`` (``FieldReader.lists``), aliases coalesced in."""
    out: dict[str, pa.Array] = {}
    pos = 0  # where the next EventData field's path is in each row's list
    take = pa.array(rows)
    mine = lists.combine_chunks()
    flat = mine.values
    offsets = mine.offsets.to_numpy()[:-1].astype(np.int64)
    lengths = pc.list_value_length(mine).fill_null(0).to_numpy(zero_copy_only=False)
    for f in dict.fromkeys(names):
        if f in SYSTEM_FIELDS:
            out[f] = batch.column(SYSTEM_FIELDS[f]).take(take).combine_chunks().cast(pa.string())
        elif f == KEYWORD_FIELD:
            ed = batch.column("ed").take(take).combine_chunks().cast(pa.string())
            # JSON doubles backslashes; the text searched is the values as logged.
            out[f] = pc.replace_substring(ed, "\\\\", "\\")
        else:
            arr: pa.Array | None = None
            for _ in (f, *FIELD_ALIASES.get(f, ())):
                at = np.where(lengths > pos, offsets + pos, -1)
                got = flat.take(pa.array(at, mask=at < 0))
                arr = got if arr is None else pc.coalesce(arr, got)
                pos += 1
            assert arr is not None
            out[f] = arr
    return out


def extract_fields(
    con: duckdb.DuckDBPyConnection, batch: pa.Table, take: pa.Array, names: list[str]
) -> dict[str, pa.Array]:
    """The named Sigma fields of the given rows, as the engine reads them (one read of its own)."""
    paths = _json_paths(names)
    rows = np.asarray(take.to_numpy(zero_copy_only=False))
    if paths:
        lists = extract_lists(con, batch, take, np.zeros(len(rows), dtype=np.int32), [paths])
    else:
        lists = pa.chunked_array([pa.nulls(len(rows), LISTS)])
    return read_arrays(batch, rows, names, lists)


def fields_table(batch: pa.Table, names: list[str]) -> pa.Table:
    """A wide table, one column per Sigma field, over which ``CompiledRule.where`` runs as SQL."""
    con = duckdb.connect()
    try:
        cols = extract_fields(con, batch.combine_chunks(), pa.array(np.arange(batch.num_rows)), names)
    finally:
        con.close()
    return pa.table({f: cols[f] for f in names})


def _path(f: str) -> str:
    """The JSON path of a field name, quoted: names hold dots, spaces and quotes."""
    return '$."' + f.replace("\\", "\\\\").replace('"', '\\"') + '"'
