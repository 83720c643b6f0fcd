"""Evaluate every compiled Sigma rule over columnar batches of Windows events.

Per batch (Arrow: ``extract.BATCH_COLUMNS``), the three stages, each in its own module:

1. ``extract``: rows are split into *cells*, one per (channel, event id) present; the fields
   the cell's rules read are pulled out of the EventData JSON once per row (one DuckDB call
   per turn of ``READ_ROWS`` rows, many cells together) and dictionary-encoded.
2. ``plan``: a cell's rules are those whose log source admits it (worked out once per cell
   and cached), so a Security 4624 row is never shown a Sysmon rule. Per field, one
   Aho-Corasick pass finds all literal patterns of all rules on the distinct values; rules
   whose pruning clauses cannot all hold are skipped, the others get their candidate rows.
3. ``match``: each remaining rule's condition is evaluated with numpy booleans on its
   candidate rows only, and its matches are recorded (counts, time span and capped
   evidence per host; correlation keys where a correlation needs them).

Memory is bounded by the batch: nothing per event is kept (see ``match.MatchRecorder``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from bluebench.heap import frozen
from bluebench.sigma.extract import DUCKDB_THREADS, Column, FieldReader, cells
from bluebench.sigma.match import CellMatcher, MatchRecorder, RuleMatches
from bluebench.sigma.plan import Cell, CellHits, RulePlan, SharedHits
from bluebench.sigma.rules import RuleSet

# Rows evaluated together. Every rule has a fixed cost per batch and cell, so larger is faster;
# peak memory grows with it, not with the input (bench/sigma.py measures both at two sizes).
BATCH_ROWS = 16_000
#: Cells of up to this many rows are run in groups (``_run_small``) of up to ``SMALL_CELLS_READS``
#: rows times fields: an atom evaluation's own cost is paid once per group, and a row reads at most
#: that many other cells' fields in vain.
SMALL_CELL_ROWS = 256
SMALL_CELLS_READS = 65_536
#: Rows whose EventData fields are read in one DuckDB call (``process``): a call's own cost is paid
#: once per this many rows, and DuckDB's memory for a call grows with them.
READ_ROWS = 2048


@dataclass(slots=True)
class Read:
    """Rows whose fields are read together: one large cell, or small cells gathered (``grouped``)
    that share one dictionary per field."""

    rows: np.ndarray[Any, Any]
    names: list[str]
    cells: list[tuple[np.ndarray[Any, Any], Cell]]
    grouped: bool


def _turns(reads: list[Read]) -> Iterator[list[Read]]:
    """Consecutive reads of up to ``READ_ROWS`` rows together (a larger read alone)."""
    turn: list[Read] = []
    rows = 0
    for read in reads:
        if turn and rows + len(read.rows) > READ_ROWS:
            yield turn
            turn, rows = [], 0
        turn.append(read)
        rows += len(read.rows)
    if turn:
        yield turn


@contextmanager
def returning_pool() -> Iterator[None]:
    """Arrow allocates from the system allocator while a run lasts, then as before.

    Arrow's default pool (mimalloc) keeps the pages of freed batches for reuse: over a run
    that is about 50 MB of peak RSS more than the system allocator, which hands large blocks
    back as they are freed, for no CPU saved (bench/run_sigma.py measures both). Buffers
    remember their pool, so those made before or after the run are freed where they came from.
    """
    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)


class SigmaEngine:
    """Streams batches through all rules; ``matches`` holds the result.

    ``evidence_cap`` bounds the events kept per rule and host (counts and times are always
    exact), so memory does not grow with a noisy rule on a large input.
    """

    def __init__(self, ruleset: RuleSet, evidence_cap: int = 20, threads: int = DUCKDB_THREADS) -> None:
        if evidence_cap < 1:
            raise ValueError(f"evidence_cap must be at least 1, got {evidence_cap}")
        self.ruleset = ruleset
        self.rules = ruleset.rules
        self.evidence_cap = evidence_cap
        self.events_seen = 0
        corr_fields = ruleset.correlation_fields()
        # From the rule cache when the rules came from it (``ruleset.index``), else derived now.
        self._plan = RulePlan(self.rules, corr_fields, ruleset.index)
        self._programs = self._plan.programs
        self._recorder = MatchRecorder(self.rules, evidence_cap, corr_fields)
        self.matches: dict[str, RuleMatches] = self._recorder.matches
        self._reader = FieldReader(threads)
        #: The engine's DuckDB database: ``file_batches(..., con=engine.connection)`` reduces
        #: through it, so one run holds one database's memory and threads, not two.
        self.connection = self._reader.connection
        #: Events whose fields could not be read, named (file and record) and counted.
        self.skipped = self._reader.skipped

    def process(self, batch: pa.Table) -> None:
        """Evaluate every rule on one batch and record the matches."""
        n = batch.num_rows
        if n == 0:
            return
        self.events_seen += n
        self._recorder.begin(batch)
        for turn in _turns(self._reads(batch)):
            # One DuckDB call reads a turn's EventData fields: a call costs milliseconds whatever
            # its rows, and a batch of real logs holds a hundred cells or more.
            lists = self._reader.lists(batch, [(read.rows, read.names) for read in turn])
            at = 0
            for read in turn:
                part = lists.slice(at, len(read.rows))
                at += len(read.rows)
                if read.grouped:
                    self._run_small(batch, read, part)
                else:
                    cols = self._reader.columns(batch, read.rows, read.names, part)
                    self._run_cell(batch, read.rows, read.cells[0][1], cols)
        self._recorder.flush()
        # Hand the batch's Arrow buffers back to the system: the allocator would keep them.
        pa.default_memory_pool().release_unused()

    def _reads(self, batch: pa.Table) -> list[Read]:
        """The batch's reads: a large cell is a read of its own, small ones are gathered up to
        ``SMALL_CELLS_READS`` rows times fields."""
        out: list[Read] = []
        small: list[tuple[np.ndarray[Any, Any], Cell]] = []
        names: set[str] = set()  # the fields the gathered small cells read, together
        n_small = 0

        def gathered() -> None:
            if small:
                rows = np.concatenate([r for r, _ in small])
                out.append(
                    Read(rows, list(dict.fromkeys(f for _, c in small for f in c.fields)), small, True)
                )

        for channel, code, rows in cells(batch):
            cell = self._plan.cell(channel, code)
            if not cell.rules:
                continue
            if len(rows) > SMALL_CELL_ROWS:
                out.append(Read(rows, cell.fields, [(rows, cell)], False))
                continue
            small.append((rows, cell))
            names.update(cell.fields)
            n_small += len(rows)
            if n_small * len(names) >= SMALL_CELLS_READS:
                gathered()
                small, names, n_small = [], set(), 0
        gathered()
        return out

    def _run_small(self, batch: pa.Table, read: Read, lists: pa.ChunkedArray) -> None:
        """Small cells, their fields in one dictionary per field and their atoms evaluated once, each then run.

        An automaton pass or a kernel call costs about the same whatever its values, and real logs
        hold many cells of a few events each: the group shares one dictionary per field
        (``Column.part``) and one evaluation of its atoms (``SharedHits``); each row gets the values
        its own read would give.
        """
        small = read.cells
        group = self._reader.columns(batch, read.rows, read.names, lists)
        shared = SharedHits((cell for _, cell in small), group, len(self._plan.atoms.atoms))
        start = 0
        for r, cell in small:
            end = start + len(r)
            self._run_cell(batch, r, cell, {f: group[f].part(start, end) for f in cell.fields}, shared)
            start = end

    def _run_cell(
        self,
        batch: pa.Table,
        rows: np.ndarray[Any, Any],
        cell: Cell,
        cols: dict[str, Column],
        shared: SharedHits | None = None,
    ) -> None:
        """Every rule of one cell that can match, on its candidate rows only."""
        hits = CellHits(cell, cols, self._plan.atoms.atoms, shared)
        matcher = CellMatcher(hits, len(rows))
        for i in hits.alive(cell).tolist():
            cand = hits.candidates(self._plan.clauses[i])
            if cand is not None and not len(cand):
                continue
            where = matcher.rows(self._programs[i], cand)
            if len(where):
                self._recorder.record(self.rules[i], batch, rows, where, cols)

    def run(
        self,
        batches: Iterable[pa.Table],
        progress: Callable[[int], None] | None = None,
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        """Process a stream of batches, gathered up to ``batch_rows`` rows (the results do not
        depend on it: it trades the per-batch cost of every rule against peak memory)."""
        # The compiled rules are hundreds of thousands of long-lived objects: without freezing
        # them, every full cyclic-GC pass triggered by the per-batch allocations walks them all
        # (measured: about a third of the CPU time on a 0.05 GB input).
        with frozen(), returning_pool():
            self._run(batches, progress, batch_rows)

    def _run(
        self, batches: Iterable[pa.Table], progress: Callable[[int], None] | None, batch_rows: int
    ) -> None:
        pending: list[pa.Table] = []
        size = 0
        for b in batches:
            pending.append(b)
            size += b.num_rows
            if size >= batch_rows:
                self._process_gathered(pending)
                if progress:
                    progress(size)
                size = 0
        if pending:
            self._process_gathered(pending)
            if progress:
                progress(size)

    def _process_gathered(self, pending: list[pa.Table]) -> None:
        """One contiguous batch of the pending tables; the pieces are let go before it runs."""
        table = pa.concat_tables(pending)
        pending.clear()
        if table.num_rows and table.column(0).num_chunks > 1:
            # Rebound, not passed as an expression: the chunked table would stay alive (as this
            # frame's local) beside its contiguous copy while the batch runs.
            table = table.combine_chunks()
        self.process(table)
