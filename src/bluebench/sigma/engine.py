"""Evaluate every compiled Sigma rule over columnar batches of Windows events.

Per batch (Arrow: code, channel, provider, host, ts, ed, file, record, event_id):

1. Rows are split into *cells*: one per (channel, event id) present. A cell's rules are
   those whose log source admits it (known once per cell and cached), so a Security 4624
   row is never shown a Sysmon rule.
2. The fields those rules read are pulled out of the EventData JSON once per row, in one
   DuckDB call per cell (field names are bound parameters), and dictionary-encoded: most
   values repeat (images, paths, users), so every comparison runs on distinct values only.
3. Per field, all literal patterns of all rules are found in one pass of an Aho-Corasick
   automaton over the lowercased distinct values (equality is a hash lookup); wildcards,
   regexes and numbers use Arrow's vectorised kernels on the same distinct values.
4. A rule whose pruning clauses cannot all hold anywhere in the cell is skipped (one numpy
   pass for all of the cell's rules); the others are evaluated only on their candidate rows,
   the rows where every clause has an atom that holds (an atom's rows = its distinct-value
   hits gathered through the dictionary indices).

Memory is bounded by the batch: nothing per event is kept. Per (rule, host) the engine keeps
the exact match count, the first and last match time and the first ``evidence_cap`` matched
events as evidence, so every host gets its alert and the state grows with the hosts and rules
that matched, not with the events. Only the rules that correlation rules reference keep a key
per match (time, group key, value), as the correlation's window needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from typing import Any

import ahocorasick
import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluebench.arrays import unique
from bluebench.heap import frozen
from bluebench.sigma.ir import KEYWORD_FIELD, And, Atom, Const, Node, Not, Or, atoms
from bluebench.sigma.pipeline import FIELD_ALIASES, SYSTEM_FIELDS
from bluebench.sigma.rules import CompiledRule, RuleSet, admits

# Rows evaluated together. Every rule has a fixed cost per batch and cell, so larger is faster;
# peak memory grows with it, not with the input (bench/sigma.py measures both at two sizes).
BATCH_ROWS = 16_000
STREAM_ROWS = 8_192  # rows per Arrow chunk streamed back from DuckDB
SCAN_ROWS = 2_048  # rows per chunk handed to DuckDB: one chunk is scanned by one thread
_EMPTY_ROWS = np.zeros(0, dtype=np.int32)
_ATOM, _NOT, _AND, _OR, _CONST = range(5)  # node kinds of a rule's compiled program

BATCH_COLUMNS = ("code", "channel", "provider", "host", "ts", "ed", "file", "record", "event_id")


@dataclass(slots=True)
class MatchEvent:
    """One event a rule matched: where it came from and the fields that made it match."""

    ts: datetime | None
    file: str | None
    record: int | None
    event_id: str | None
    host: str | None
    matched: dict[str, str]


@dataclass(slots=True)
class HostMatches:
    """One rule's matches on one host: exact count, time span, and the first events as evidence."""

    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    events: list[MatchEvent] = field(default_factory=list)


@dataclass
class RuleMatches:
    """Everything kept of one rule's matches: per host counts and capped evidence, correlation keys."""

    rule: CompiledRule
    count: int = 0
    hosts: dict[str, HostMatches] = field(default_factory=dict)
    # (epoch seconds, group key values, value-count value) for correlations
    keys: list[tuple[float, tuple[str | None, ...], str | None]] = field(default_factory=list)

    @property
    def events(self) -> list[MatchEvent]:
        """The evidence kept on every host, host by host in the order hosts first matched."""
        return [e for h in self.hosts.values() for e in h.events]


class _Column:
    """One field over a cell's rows, dictionary-encoded."""

    __slots__ = ("_lower", "_order", "_starts", "idx", "lower_arr", "nd", "values")

    def __init__(self, values: pa.Array, lower_arr: pa.Array, idx: np.ndarray[Any, Any]) -> None:
        self.values = values  # distinct values (original case)
        self.lower_arr = lower_arr  # the same, lowercased
        self.idx = idx  # per row: index into values, nd where absent
        self.nd = len(values)
        self._lower: list[str] | None = None
        self._order: np.ndarray[Any, Any] | None = None
        self._starts: np.ndarray[Any, Any] | None = None

    @property
    def lower(self) -> list[str]:
        """The lowercased distinct values as Python strings, made only where needed (automaton)."""
        if self._lower is None:
            self._lower = [s if s is not None else "" for s in self.lower_arr.to_pylist()]
        return self._lower

    def rows_of(self, pos: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """The sorted rows whose value is one of ``pos`` (distinct-value positions), in O(hits)."""
        if self._order is None:
            self._order = np.argsort(self.idx, kind="stable").astype(np.int32)
            self._starts = np.searchsorted(self.idx[self._order], np.arange(self.nd + 2))
        assert self._starts is not None
        lo = self._starts[pos]
        lens = self._starts[pos + 1] - lo
        total = int(lens.sum())
        if total == 0:
            return _EMPTY_ROWS
        offs = np.repeat(lo - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
        return np.sort(self._order[offs + np.arange(total)])


@dataclass
class _FieldPlan:
    """The atoms of one field in one cell and the automaton for its literal patterns."""

    other: list[tuple[int, Atom]]  # (atom id, atom) decided by Arrow kernels
    eq_keys: dict[str, list[int]]  # value -> atom ids
    automaton: Any
    keys: list[str]  # the automaton's patterns
    key_atoms: list[list[tuple[int, str]]]  # per automaton key: (atom id, op)
    key_lens: list[int]
    key_lens_arr: np.ndarray[Any, Any]
    like_pre: dict[int, int]  # LIKE atom id -> the id of its longest literal piece
    eq_list: list[str]
    eq_set: pa.Array


@dataclass
class _Cell:
    """The rules that apply to one (channel, event id) and what they need to read."""

    rules: list[int]
    fields: list[str]
    plans: dict[str, _FieldPlan]
    # The pruning clauses of the cell's rules, flattened so that one numpy pass tells which
    # rules can match at all: atom ids clause by clause, each clause's start, each rule's
    # first clause (rules with clauses only; ``free`` are the cell's rules without any).
    clause_atoms: np.ndarray[Any, Any] = field(default_factory=lambda: _EMPTY_ROWS)
    clause_starts: np.ndarray[Any, Any] = field(default_factory=lambda: _EMPTY_ROWS)
    rule_starts: np.ndarray[Any, Any] = field(default_factory=lambda: _EMPTY_ROWS)
    clausal: np.ndarray[Any, Any] = field(default_factory=lambda: _EMPTY_ROWS)
    free: np.ndarray[Any, Any] = field(default_factory=lambda: _EMPTY_ROWS)


class SigmaEngine:
    """Streams batches through all rules; ``matches`` holds the result.

    ``evidence_cap`` bounds the events kept per rule and host (counts and times are always
    exact), so memory does not grow with a noisy rule on a large input.
    """

    def __init__(self, ruleset: RuleSet, evidence_cap: int = 20, threads: int = 2) -> None:
        if evidence_cap < 1:
            raise ValueError(f"evidence_cap must be at least 1, got {evidence_cap}")
        self.ruleset = ruleset
        self.rules = ruleset.rules
        self.evidence_cap = evidence_cap
        self._interned: dict[str, str] = {}  # file and host names, one string object each
        self.matches: dict[str, RuleMatches] = {r.id: RuleMatches(r) for r in self.rules}
        self.events_seen = 0
        self._cells: dict[tuple[str, str], _Cell] = {}
        # Per rule, this batch's evidence candidates (row, host, event) and correlation keys.
        self._new_hosts: dict[str, dict[str, list[Any]]] = {}  # rule -> host -> [first row, state]
        self._host_idx: np.ndarray[Any, Any] = np.zeros(0, dtype=np.int64)
        self._host_names: list[str | None] = []
        self._ts_key: np.ndarray[Any, Any] = np.zeros(0, dtype=np.int64)
        self._ts_col: pa.Array | None = None
        self._ts_ranked: list[Any] = []  # time values by rank, for a time column not of timestamps
        self._pending: dict[str, tuple[list[tuple[int, HostMatches, MatchEvent]], list[Any]]] = {}
        # Fields each rule must keep for its correlations: group-by and value fields.
        self._corr_fields = ruleset.correlation_fields()
        # Atoms are numbered once: the per-batch work handles ints, not dataclass hashes.
        self._atom_ids: dict[Atom, int] = {}
        self._atom_list: list[Atom] = []
        self._atoms = [[self._aid(a) for a in atoms(r.node)] for r in self.rules]
        self._progs = [self._program(r.node) for r in self.rules]
        self._clauses = [[[self._aid(a) for a in cl] for cl in _clauses(r.node)] for r in self.rules]
        self._plans: dict[tuple[int, ...], tuple[list[str], dict[str, _FieldPlan]]] = {}
        self._field_plans: dict[tuple[str, tuple[int, ...]], _FieldPlan] = {}  # shared by cells
        self._by_source: dict[tuple[frozenset[str] | None, frozenset[str] | None], list[int]] = {}
        for i, r in enumerate(self.rules):
            self._by_source.setdefault((r.channels, r.codes), []).append(i)
        self._con = duckdb.connect()
        self._con.execute(f"SET threads = {int(threads)}")
        self._con.execute("SET memory_limit = '64MB'")
        self._con.execute("SET allocator_flush_threshold = '8MB'")
        self._con.execute("SET allocator_bulk_deallocation_flush_threshold = '8MB'")

    # ------------------------------------------------------------------ cells ----

    def _cell(self, channel: str, code: str) -> _Cell:
        key = (channel, code)
        cell = self._cells.get(key)
        if cell is None:
            # Rules grouped by log source filter: each filter is tested once per cell.
            idx = tuple(
                sorted(
                    i
                    for (chans, codes), members in self._by_source.items()
                    if admits(chans, codes, channel, code)
                    for i in members
                )
            )
            shared = self._plans.get(idx)
            if shared is None:
                flds: dict[str, None] = {}
                by_field: dict[str, dict[int, None]] = {}
                for i in idx:
                    for k in self._atoms[i]:
                        a = self._atom_list[k]
                        by_field.setdefault(a.field, {})[k] = None
                        flds[a.field] = None
                        if a.op.startswith("fieldref"):
                            flds[a.value] = None
                    extra, value = self._corr_fields.get(self.rules[i].id, ([], None))
                    for f in [*extra, *([value] if value else [])]:
                        flds[f] = None
                plans: dict[str, _FieldPlan] = {}
                for f, ids in by_field.items():
                    pkey = (f, tuple(ids))
                    plan = self._field_plans.get(pkey)
                    if plan is None:
                        plan = self._field_plans[pkey] = self._plan(list(ids))
                    plans[f] = plan
                shared = (list(flds), plans)
                self._plans[idx] = shared
            cell = _Cell(list(idx), shared[0], shared[1])
            flat: list[int] = []
            cstarts: list[int] = []
            rstarts: list[int] = []
            clausal: list[int] = []
            free: list[int] = []
            for i in idx:
                cls = self._clauses[i]
                if not cls:
                    free.append(i)
                    continue
                clausal.append(i)
                rstarts.append(len(cstarts))
                for cl in cls:
                    cstarts.append(len(flat))
                    flat.extend(cl)
            cell.clause_atoms = np.array(flat, dtype=np.int64)
            cell.clause_starts = np.array(cstarts, dtype=np.int64)
            cell.rule_starts = np.array(rstarts, dtype=np.int64)
            cell.clausal = np.array(clausal, dtype=np.int64)
            cell.free = np.array(free, dtype=np.int64)
            self._cells[key] = cell
        return cell

    # ---------------------------------------------------------------- batches ----

    def process(self, batch: pa.Table) -> None:
        """Evaluate every rule on one batch and record the matches."""
        n = batch.num_rows
        if n == 0:
            return
        self.events_seen += n
        host = batch.column("host").combine_chunks().cast(pa.string())
        enc = pc.dictionary_encode(host)
        self._host_names = [*enc.dictionary.to_pylist(), None]
        self._host_idx = enc.indices.fill_null(len(enc.dictionary)).to_numpy(zero_copy_only=False)
        self._ts_col = batch.column("ts").combine_chunks()
        self._ts_key, self._ts_ranked = _time_key(self._ts_col)
        channel = _dict(pc.utf8_lower(batch.column("channel").combine_chunks().cast(pa.string())))
        code = _dict(batch.column("code").combine_chunks().cast(pa.string()))
        # One cell id per row from the two dictionaries.
        cell_of = channel.idx.astype(np.int64) * (code.nd + 1) + code.idx
        order = np.argsort(cell_of, kind="stable")
        sorted_cells = cell_of[order]
        bounds = np.flatnonzero(np.diff(sorted_cells)) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [n]])
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            cid = int(sorted_cells[s])
            ci, ki = divmod(cid, code.nd + 1)
            ch = channel.lower[ci] if ci < channel.nd else ""
            cd = code.lower[ki] if ki < code.nd else ""
            cell = self._cell(ch, cd)
            if not cell.rules:
                continue
            rows = np.sort(order[s:e])
            self._run_cell(batch, rows, cell)
        self._flush()
        # Hand the batch's Arrow buffers back to the system: the allocator would keep them.
        pa.default_memory_pool().release_unused()

    def _aid(self, a: Atom) -> int:
        k = self._atom_ids.get(a)
        if k is None:
            k = self._atom_ids[a] = len(self._atom_list)
            self._atom_list.append(a)
        return k

    def _program(self, node: Node) -> tuple[Any, ...]:
        """The rule's condition with atoms as ids: (op, ...) tuples walked per candidate rows."""
        if isinstance(node, Atom):
            return (_ATOM, self._aid(node))
        if isinstance(node, Not):
            return (_NOT, self._program(node.arg))
        if isinstance(node, Const):
            return (_CONST, node.value)
        return (_AND if isinstance(node, And) else _OR, tuple(self._program(x) for x in node.args))

    def _plan(self, ids: list[int]) -> _FieldPlan:
        return _plan([(k, self._atom_list[k]) for k in ids], self._aid)

    def _run_cell(self, batch: pa.Table, rows: np.ndarray[Any, Any], cell: _Cell) -> None:
        take = pa.array(rows)
        cols = self._extract(batch, take, cell.fields)
        m = len(rows)
        positions: Positions = {}  # None: decided per row; _Lazy: computed when first needed
        for f, plan in cell.plans.items():
            _eval_field(plan, cols[f], positions)
        atom_list = self._atom_list
        row_sets: dict[int, np.ndarray[Any, Any]] = {}
        full: dict[int, np.ndarray[Any, Any]] = {}  # atom values over all rows (rules with no clause)

        def rows_of(k: int) -> np.ndarray[Any, Any]:
            """The rows where atom ``k`` holds, sorted (sparse: most atoms hold nowhere)."""
            got = row_sets.get(k)
            if got is None:
                pos = _resolve(positions, k)
                if pos is None:
                    a = atom_list[k]
                    got = np.flatnonzero(_fieldref(a, cols[a.field], cols[a.value], None)).astype(np.int32)
                else:
                    got = cols[atom_list[k].field].rows_of(pos)
                row_sets[k] = got
            return got

        def atom_at(k: int, r: np.ndarray[Any, Any] | None) -> np.ndarray[Any, Any]:
            """Atom ``k`` over the rows ``r`` (None: all rows)."""
            if r is None:
                got = full.get(k)
                if got is not None:
                    return got
            a = atom_list[k]
            pos = _resolve(positions, k)
            if pos is None:
                got = _fieldref(a, cols[a.field], cols[a.value], r)
            else:
                col = cols[a.field]
                vi = col.idx if r is None else col.idx[r]
                got = np.isin(vi, pos)
            if r is None:
                full[k] = got
            return got

        # Which rules can match at all: each of their clauses has an atom true somewhere.
        possible = np.ones(len(atom_list), dtype=bool)
        gone = [k for k, pos in positions.items() if type(pos) is np.ndarray and not len(pos)]
        if gone:
            possible[gone] = False
        if len(cell.clausal):
            clause_ok = np.logical_or.reduceat(possible[cell.clause_atoms], cell.clause_starts)
            rule_ok = np.logical_and.reduceat(clause_ok, cell.rule_starts)
            alive = unique(np.concatenate((cell.free, cell.clausal[rule_ok])))
        else:
            alive = cell.free
        for i in alive.tolist():
            clauses = self._clauses[i]
            # Candidate rows: those where every clause has an atom that holds.
            cand: np.ndarray[Any, Any] | None = None
            for clause in clauses:
                got = rows_of(clause[0]) if len(clause) == 1 else _union([rows_of(k) for k in clause])
                cand = got if cand is None else np.intersect1d(cand, got, assume_unique=True)
                if not len(cand):
                    break
            if cand is not None and not len(cand):
                continue
            hit = _evaluate(self._progs[i], cand, m if cand is None else len(cand), atom_at)
            where = np.flatnonzero(hit) if cand is None else cand[hit].astype(np.int64)
            if len(where):
                self._record(self.rules[i], batch, rows, where, cols)

    def _extract(self, batch: pa.Table, take: pa.Array, names: list[str]) -> dict[str, _Column]:
        """The named fields for the given rows, dictionary-encoded."""
        return {f: _dict(a) for f, a in extract_fields(self._con, batch, take, names).items()}

    def _record(
        self,
        rule: CompiledRule,
        batch: pa.Table,
        rows: np.ndarray[Any, Any],
        where: np.ndarray[Any, Any],
        cols: dict[str, _Column],
    ) -> None:
        """Count one cell's matches of a rule; its evidence and keys wait for ``_flush``.

        Counts and times do not depend on order; evidence (the first events per host) and
        correlation keys do, so each cell hands over its candidates with their batch row
        and ``_flush`` takes them in input order: the result is the same for any batch size.
        """
        rm = self.matches[rule.id]
        rm.count += len(where)
        global_rows = rows[where]
        hc = self._host_idx[global_rows]
        order = np.argsort(hc, kind="stable")
        hs = hc[order]
        starts = np.flatnonzero(np.concatenate([[True], hs[1:] != hs[:-1]])) if len(hs) else hs
        ends = np.append(starts[1:], len(hs)).tolist()
        # First and last time per host in one pass: rows without a time are left out of both.
        t = self._ts_key[global_rows[order]]
        has = t != _NO_TIME
        lo_t = np.minimum.reduceat(np.where(has, t, _MAX_TIME), starts) if len(hs) else t
        hi_t = np.maximum.reduceat(t, starts) if len(hs) else t
        any_t = np.logical_or.reduceat(has, starts) if len(hs) else has
        lo_v = self._ts_values(lo_t)
        hi_v = self._ts_values(hi_t)
        first_row = global_rows[order[starts]].tolist()
        keep_parts: list[np.ndarray[Any, Any]] = []  # positions in ``where`` that may become evidence
        keep_host: list[HostMatches] = []
        first_of: list[bool] = []  # the host's first candidate in this cell
        pending: dict[int, int] = {}  # id(host state) -> candidates taken in this cell
        new_hosts = self._new_hosts.setdefault(rule.id, {})
        names = self._host_names
        cap = self.evidence_cap
        for u, (s0, e0, code) in enumerate(zip(starts.tolist(), ends, hs[starts].tolist(), strict=True)):
            name = names[code] or ""
            hm = rm.hosts.get(name)
            if hm is None:
                got = new_hosts.get(name)
                if got is None:
                    got = new_hosts[name] = [first_row[u], HostMatches()]
                else:
                    got[0] = min(got[0], first_row[u])
                hm = got[1]
            hm.count += e0 - s0
            if any_t[u]:
                lo, hi = lo_v[u], hi_v[u]
                if hm.first is None or lo < hm.first:
                    hm.first = lo
                if hm.last is None or hi > hm.last:
                    hm.last = hi
            taken = pending.get(id(hm), 0)
            room = cap - len(hm.events) - taken
            if room > 0:
                part = order[s0 : min(e0, s0 + room)]
                pending[id(hm)] = taken + len(part)
                keep_parts.append(part)
                keep_host.extend([hm] * len(part))
                first_of.extend([taken == 0] + [False] * (len(part) - 1))
        keep = np.concatenate(keep_parts).tolist() if keep_parts else []
        times = batch.column("ts").take(pa.array(global_rows[keep] if keep else [], pa.int64())).to_pylist()
        hosts = [self._host_names[int(hc[j])] for j in keep]
        out = self._pending.setdefault(rule.id, ([], []))
        if keep:
            sel = where[keep]
            g = pa.array(rows[sel])
            files = batch.column("file").take(g).to_pylist()
            recs = batch.column("record").take(g).to_pylist()
            ids = batch.column("event_id").take(g).to_pylist()
            shown = [f for f in rule.shown_fields if f in cols]
            grow = rows[sel].tolist()
            for k, (r, hm) in enumerate(zip(sel.tolist(), keep_host, strict=True)):
                matched: dict[str, str] = {}
                if first_of[k] and not hm.events:  # the fields that matched: a host's first event
                    for f in shown:
                        c = cols[f]
                        vi = int(c.idx[r])
                        if vi < c.nd:
                            matched[f] = str(c.values[vi].as_py())
                file, host = files[k], hosts[k]
                ev = MatchEvent(
                    times[k],
                    self._intern(file) if file is not None else None,
                    recs[k],
                    ids[k],
                    self._intern(host) if host is not None else None,
                    matched,
                )
                out[0].append((grow[k], hm, ev))
        corr = self._corr_fields.get(rule.id)
        if corr is not None:
            group, value_field = corr

            def val(f: str, r: int) -> str | None:
                c = cols.get(f)
                if c is None:
                    return None
                vi = int(c.idx[r])
                return c.lower[vi] if vi < c.nd else None

            all_times = batch.column("ts").take(pa.array(global_rows)).to_pylist()
            for j, (r, gr) in enumerate(zip(where.tolist(), global_rows.tolist(), strict=True)):
                out[1].append(
                    (
                        gr,
                        (
                            epoch_seconds(all_times[j]),
                            tuple(val(f, r) for f in group),
                            val(value_field, r) if value_field else None,
                        ),
                    )
                )

    def _flush(self) -> None:
        """Evidence and correlation keys of the batch's cells, in input order (see ``_record``)."""
        for rid, new in self._new_hosts.items():
            hosts = self.matches[rid].hosts
            for name, (_, hm) in sorted(new.items(), key=lambda kv: kv[1][0]):
                hosts[self._intern(name)] = hm
        self._new_hosts.clear()
        for rid, (cands, keys) in self._pending.items():
            rm = self.matches[rid]
            cands.sort(key=lambda c: c[0])
            for _, hm, ev in cands:
                if len(hm.events) < self.evidence_cap:
                    if hm.events:
                        ev.matched = {}
                    hm.events.append(ev)
            keys.sort(key=lambda c: c[0])
            rm.keys.extend(k for _, k in keys)
        self._pending.clear()

    def _ts_values(self, keys: np.ndarray[Any, Any]) -> list[Any]:
        """Time keys back to the batch's time values (datetimes as the column gives them)."""
        assert self._ts_col is not None
        if not len(keys):
            return []
        if pa.types.is_timestamp(self._ts_col.type):
            ok = (keys != _NO_TIME) & (keys != _MAX_TIME)
            arr = pa.array(np.where(ok, keys, 0), pa.int64()).cast(self._ts_col.type)
            return [v if o else None for v, o in zip(arr.to_pylist(), ok.tolist(), strict=True)]
        return [self._ts_ranked[k] if 0 <= k < len(self._ts_ranked) else None for k in keys.tolist()]

    def _intern(self, s: str) -> str:
        """One string object per distinct file or host name, however many events name it."""
        return self._interned.setdefault(s, s)

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
        with frozen():
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
        self.process(table.combine_chunks() if table.num_rows and table.column(0).num_chunks > 1 else table)


# ------------------------------------------------------------------ helpers ----


AtomAt = Callable[[int, "np.ndarray[Any, Any] | None"], "np.ndarray[Any, Any]"]


def _evaluate(
    prog: tuple[Any, ...], r: np.ndarray[Any, Any] | None, n: int, atom_at: AtomAt
) -> np.ndarray[Any, Any]:
    """A rule's program over the rows ``r`` (None: all ``n`` rows); an AND stops once all false.

    A module function, not a closure in ``_run_cell``: a closure that calls itself is a
    reference cycle, and the cell's columns it holds would wait for the cyclic GC.
    """
    op = prog[0]
    if op == _ATOM:
        return atom_at(prog[1], r)
    if op == _NOT:
        return ~_evaluate(prog[1], r, n, atom_at)
    if op == _CONST:
        return np.full(n, prog[1])
    args = prog[1]
    acc = _evaluate(args[0], r, n, atom_at)
    if op == _AND:
        for x in args[1:]:
            if not acc.any():
                break
            acc = acc & _evaluate(x, r, n, atom_at)
    else:
        for x in args[1:]:
            acc = acc | _evaluate(x, r, n, atom_at)
    return acc


def epoch_seconds(t: object) -> float:
    """A correlation key's time: naive times are UTC; an event without a time counts as 0."""
    return t.replace(tzinfo=UTC).timestamp() if isinstance(t, datetime) else 0.0


def extract_fields(
    con: duckdb.DuckDBPyConnection, batch: pa.Table, take: pa.Array, names: list[str]
) -> dict[str, pa.Array]:
    """The named Sigma fields of the given rows, as the engine and the SQL form read them.

    System fields come from the batch columns, the keyword text from the EventData JSON
    (backslashes as logged), the rest from EventData (with FIELD_ALIASES coalesced in).
    """
    out: dict[str, pa.Array] = {}
    json_names: list[str] = []
    for f in names:
        if f in SYSTEM_FIELDS:
            out[f] = batch.column(SYSTEM_FIELDS[f]).take(take).combine_chunks().cast(pa.string())
        elif f != KEYWORD_FIELD:
            json_names.append(f)
    ed: pa.Array | None = None
    if KEYWORD_FIELD in names or json_names:
        ed = batch.column("ed").take(take).combine_chunks().cast(pa.string())
    if KEYWORD_FIELD in names:
        text = ed
        # JSON doubles backslashes; the text searched is the values as logged.
        out[KEYWORD_FIELD] = pc.replace_substring(text, "\\\\", "\\")
    if json_names:
        paths: list[str] = []
        for f in json_names:
            paths.append(_path(f))
            paths.extend(_path(a) for a in FIELD_ALIASES.get(f, ()))
        # Output columns are named by position: field names (rule text) stay bound data.
        select = ", ".join(f"v[{i + 1}] AS c{i}" for i in range(len(paths)))
        # In chunks of DuckDB's vector size, so its threads share the scan (order is kept).
        con.register("sigma_cell", pa.Table.from_batches(pa.table({"ed": ed}).to_batches(SCAN_ROWS)))
        try:
            res = con.sql(
                f"SELECT {select} FROM (SELECT json_extract_string(ed, $p) AS v FROM sigma_cell)",
                params={"p": paths},
            ).to_arrow_reader(STREAM_ROWS)
            # Streamed: DuckDB never holds the whole result besides the Arrow copy.
            res = res.read_all()
        finally:
            con.unregister("sigma_cell")
        j = 0
        for f in json_names:
            arr = res.column(j).combine_chunks()
            j += 1
            for _alias in FIELD_ALIASES.get(f, ()):
                arr = pc.coalesce(arr, res.column(j).combine_chunks())
                j += 1
            out[f] = arr
    return out


def fields_table(batch: pa.Table, names: list[str]) -> pa.Table:
    """A wide table, one column per Sigma field, over which ``CompiledRule.where`` runs as SQL."""
    con = duckdb.connect()
    try:
        cols = extract_fields(con, batch.combine_chunks(), pa.array(np.arange(batch.num_rows)), names)
    finally:
        con.close()
    return pa.table({f: cols[f] for f in names})


def _path(f: str) -> str:
    return '$."' + f.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dict(arr: pa.Array) -> _Column:
    """Dictionary-encode a string array; absent values index one past the dictionary."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    enc = pc.dictionary_encode(arr)
    values = enc.dictionary
    idx = enc.indices.fill_null(len(values)).to_numpy(zero_copy_only=False).astype(np.int64)
    return _Column(values, pc.utf8_lower(values), idx)


def _plan(field_atoms: list[tuple[int, Atom]], aid: Callable[[Atom], int]) -> _FieldPlan:
    """Split a field's atoms: literal (one automaton pass, equality by hash) and the rest."""
    literal = [
        (k, a)
        for k, a in field_atoms
        if a.op in ("contains", "startswith", "endswith") and not a.cased and a.value
    ]
    eq_keys: dict[str, list[int]] = {}
    for k, a in field_atoms:
        if a.op == "eq" and not a.cased:
            eq_keys.setdefault(a.value, []).append(k)
    lit = {k for k, _ in literal}
    other = [(k, a) for k, a in field_atoms if k not in lit and not (a.op == "eq" and not a.cased)]
    # A LIKE pattern's longest literal piece goes through the automaton: only the values
    # holding it are given to the LIKE kernel.
    like_pre: dict[int, int] = {}
    for k, a in other:
        if a.op == "like" and not a.cased:
            piece = _longest_piece(a.value)
            if len(piece) >= 3:
                pa_ = Atom(a.field, "contains", piece)
                pk = aid(pa_)
                like_pre[k] = pk
                if pk not in lit:
                    lit.add(pk)
                    literal.append((pk, pa_))
    keys: dict[str, list[tuple[int, str]]] = {}
    for k, a in literal:
        keys.setdefault(a.value, []).append((k, a.op))
    key_atoms = list(keys.values())
    automaton = None
    if keys:
        automaton = ahocorasick.Automaton()
        for kid, key in enumerate(keys):
            automaton.add_word(key, kid)
        automaton.make_automaton()
    lens = [len(key) for key in keys]
    return _FieldPlan(
        other,
        eq_keys,
        automaton,
        list(keys),
        key_atoms,
        lens,
        np.array(lens, dtype=np.int64),
        like_pre,
        list(eq_keys),
        pa.array(list(eq_keys), pa.string()),
    )


def _longest_piece(pattern: str) -> str:
    """The longest run of literal characters in a LIKE pattern (escapes resolved)."""
    pieces, cur, i = [], "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            cur += pattern[i + 1]
            i += 2
            continue
        if c in "%_":
            pieces.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    pieces.append(cur)
    return max(pieces, key=len)


def _resolve(positions: Positions, k: int) -> np.ndarray[Any, Any] | None:
    """Atom ``k``'s positions, a lazy atom computed (once) on first use."""
    pos = positions[k]
    if isinstance(pos, _Lazy):
        pos = positions[k] = pos.compute()
    return pos


def _clauses(node: Node) -> list[list[Atom]]:
    """Pruning clauses: the rule can match only if each clause has an atom true somewhere.

    From the top-level AND: a child whose every path to a match needs one of its positive
    atoms gives a clause (those atoms); a child under NOT, or holding one, gives none.
    """
    parts = node.args if isinstance(node, And) else (node,)
    out: list[list[Atom]] = []
    for p in parts:
        got = _positive_atoms(p)
        if got:
            out.append(got)
    return out


def _positive_atoms(node: Node) -> list[Atom] | None:
    """Atoms one of which must hold for ``node`` to hold; None when not derivable."""
    if isinstance(node, Atom):
        return None if node.op in ("null",) else [node]
    if isinstance(node, Or):
        out: list[Atom] = []
        for a in node.args:
            got = _positive_atoms(a)
            if got is None:
                return None
            out.extend(got)
        return out
    if isinstance(node, And):
        best: list[Atom] | None = None
        for a in node.args:
            got = _positive_atoms(a)
            if got is not None and (best is None or len(got) < len(best)):
                best = got
        return best
    return None


class _Lazy:
    """A LIKE, regex or comparison atom over a field, computed only if a rule still needs it.

    Most rules are ruled out by their literal patterns first; their costlier atoms never run.
    """

    __slots__ = ("atom", "col", "pre")

    def __init__(self, atom: Atom, col: _Column, pre: np.ndarray[Any, Any] | None) -> None:
        self.atom, self.col, self.pre = atom, col, pre

    def compute(self) -> np.ndarray[Any, Any]:
        """The distinct-value positions where the atom holds."""
        a, col = self.atom, self.col
        if self.pre is not None:  # only the values holding the LIKE's longest piece are tried
            cand = unique(self.pre)
            sub = pc.take(col.lower_arr, pa.array(cand))
            res = pc.match_like(sub, a.value).fill_null(False).to_numpy(zero_copy_only=False)
            return np.asarray(cand[res])
        return np.flatnonzero(_eval_other(a, col))


Positions = dict[int, "np.ndarray[Any, Any] | _Lazy | None"]


def _eval_field(plan: _FieldPlan, col: _Column, out: Positions) -> None:
    """Each atom's hits as positions in the column's distinct values (len = absent), into ``out``.

    None marks an atom decided per row (field references).
    """
    empty = _EMPTY_ROWS
    if plan.eq_keys:
        # Equality: one vectorised lookup of every distinct value in the rules' value set.
        where = pc.index_in(col.lower_arr, value_set=plan.eq_set).to_numpy(zero_copy_only=False)
        hit_rows = np.flatnonzero(~np.isnan(where)) if where.dtype.kind == "f" else np.flatnonzero(where >= 0)
        eq_ids = plan.eq_keys
        if len(hit_rows):
            key_of = where[hit_rows].astype(np.int64)
            order_eq = np.argsort(key_of, kind="stable")
            key_of, hit_rows = key_of[order_eq], hit_rows[order_eq]
            nk = len(plan.eq_list)
            lo_eq = np.searchsorted(key_of, np.arange(nk), side="left")
            hi_eq = np.searchsorted(key_of, np.arange(nk), side="right")
            for j in np.flatnonzero(hi_eq > lo_eq).tolist():
                hits = hit_rows[lo_eq[j] : hi_eq[j]]
                for k in eq_ids[plan.eq_list[j]]:
                    out[k] = hits
        for ids in eq_ids.values():
            for k in ids:
                if k not in out:
                    out[k] = empty
    if plan.automaton is not None:
        v, kk, sa, ea = _automaton_hits(plan, col.lower)
        found = np.zeros(len(plan.key_atoms), dtype=bool)
        if len(kk):
            order = np.argsort(kk, kind="stable")
            kk, v, sa, ea = kk[order], v[order], sa[order], ea[order]
            lo = np.searchsorted(kk, np.arange(len(plan.key_atoms)), side="left")
            hi = np.searchsorted(kk, np.arange(len(plan.key_atoms)), side="right")
            found = hi > lo
            for kid in np.flatnonzero(found).tolist():
                a0, b0 = int(lo[kid]), int(hi[kid])
                vv = v[a0:b0]
                for k, op in plan.key_atoms[kid]:
                    if op == "contains":
                        out[k] = vv
                    elif op == "startswith":
                        out[k] = vv[sa[a0:b0]]
                    else:
                        out[k] = vv[ea[a0:b0]]
        for kid in np.flatnonzero(~found).tolist():
            for k, _ in plan.key_atoms[kid]:
                out[k] = empty
    for k, a in plan.other:
        pre = plan.like_pre.get(k)
        piece_hits = out.get(pre) if pre is not None else None
        # A LIKE's literal piece is always an automaton key: its positions are known by now.
        assert piece_hits is None or isinstance(piece_hits, np.ndarray)
        if piece_hits is not None and not len(piece_hits):
            out[k] = empty  # its longest literal piece occurs nowhere
        else:
            out[k] = None if a.op.startswith("fieldref") else _Lazy(a, col, piece_hits)


AUTOMATON_CHUNK = 4096  # distinct values per automaton pass: bounds the memory of the raw matches


def _automaton_hits(
    plan: _FieldPlan, values: list[str]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(value index, key id, at start, at end) once per value and key that occur together.

    Values are joined by NUL (never in a pattern) a chunk at a time, so the automaton runs in
    C over each chunk; every occurrence of a short key is reduced to one row per value and
    key before the next chunk, so memory stays bounded by the chunk, not the batch.
    """
    nkeys = max(len(plan.key_lens), 1)
    parts: list[tuple[np.ndarray[Any, Any], ...]] = []
    for lo in range(0, len(values), AUTOMATON_CHUNK):
        chunk = values[lo : lo + AUTOMATON_CHUNK]
        lens = np.fromiter(map(len, chunk), dtype=np.int64, count=len(chunk))
        starts = np.concatenate([[0], np.cumsum(lens + 1)[:-1]])
        found = plan.automaton.iter("\x00".join(chunk))
        pairs = np.fromiter(chain.from_iterable(found), dtype=np.int64).reshape(-1, 2)
        if not len(pairs):
            continue
        ends, k = pairs[:, 0], pairs[:, 1]
        v = np.searchsorted(starts, ends, side="right") - 1
        sa = ends - plan.key_lens_arr[k] + 1 == starts[v]
        ea = ends == starts[v] + lens[v] - 1
        key = v * nkeys + k
        order = np.argsort(key, kind="stable")
        key, sa, ea = key[order], sa[order], ea[order]
        first = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
        uk = key[first]
        parts.append(
            (
                uk // nkeys + lo,
                uk % nkeys,
                np.logical_or.reduceat(sa, first),
                np.logical_or.reduceat(ea, first),
            )
        )
    if not parts:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e.astype(bool), e.astype(bool)
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))  # type: ignore[return-value]


def _eval_other(a: Atom, col: _Column) -> np.ndarray[Any, Any]:
    """Hits of a non-literal atom over the distinct values (plus one for 'absent')."""
    nd = col.nd
    hits = np.zeros(nd + 1, dtype=bool)
    if a.op == "exists":
        hits[:nd] = True
        return hits
    if a.op == "null":
        hits[nd] = True
        return hits
    if nd == 0:
        return hits
    subject = col.values if a.cased else col.lower_arr
    res: Any
    if a.op == "eq":
        res = pc.equal(subject, a.value)
    elif a.op == "contains":
        res = pc.match_substring(subject, a.value)
    elif a.op == "startswith":
        res = pc.starts_with(subject, a.value)
    elif a.op == "endswith":
        res = pc.ends_with(subject, a.value)
    elif a.op == "like":
        res = pc.match_like(subject, a.value)
    elif a.op == "re":
        try:
            res = pc.match_substring_regex(col.values, a.value)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            rx = re.compile(a.value)
            res = pa.array([v is not None and rx.search(v) is not None for v in col.values.to_pylist()])
    elif a.op in ("lt", "lte", "gt", "gte"):
        limit = float(a.value)
        x = np.array([_float(s) for s in col.lower], dtype=float)
        with np.errstate(invalid="ignore"):
            hits[:nd] = {"lt": x < limit, "lte": x <= limit, "gt": x > limit, "gte": x >= limit}[a.op]
        return hits
    else:
        raise ValueError(f"unknown operator {a.op}")
    hits[:nd] = res.fill_null(False).to_numpy(zero_copy_only=False)
    return hits


def _float(s: str) -> float:
    try:
        return float(s)
    except ValueError:
        return float("nan")


def _fieldref(a: Atom, left: _Column, right: _Column, r: np.ndarray[Any, Any] | None) -> np.ndarray[Any, Any]:
    """Row-wise comparison of two fields, case-insensitive, over rows ``r`` (None: all)."""
    li = left.idx if r is None else left.idx[r]
    ri = right.idx if r is None else right.idx[r]
    lv = np.array([*left.lower, None], dtype=object)[li]
    rv = np.array([*right.lower, None], dtype=object)[ri]
    out = np.zeros(len(lv), dtype=bool)
    for i, (x, y) in enumerate(zip(lv, rv, strict=True)):
        if x is None or y is None:
            continue
        if a.op == "fieldref_eq":
            out[i] = x == y
        elif a.op == "fieldref_startswith":
            out[i] = x.startswith(y)
        elif a.op == "fieldref_endswith":
            out[i] = x.endswith(y)
        else:
            out[i] = y in x
    return out


_NO_TIME = np.iinfo(np.int64).min
_MAX_TIME = np.iinfo(np.int64).max


def _time_key(ts: pa.Array) -> tuple[np.ndarray[Any, Any], list[Any]]:
    """Sortable int64 per row (``_NO_TIME`` where null), for first/last per host without Python.

    Timestamps are their integer value; any other type is ranked (the values by rank returned).
    """
    ranked: list[Any] = []
    if pa.types.is_timestamp(ts.type):
        key = ts.cast(pa.int64())
    else:
        vals = ts.to_pylist()
        ranked = sorted({v for v in vals if v is not None})
        rank = {v: i for i, v in enumerate(ranked)}
        key = pa.array([rank.get(v) if v is not None else None for v in vals], pa.int64())
    return np.asarray(key.fill_null(_NO_TIME).to_numpy(zero_copy_only=False), dtype=np.int64), ranked


def _union(parts: list[np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
    """Sorted union of sorted row arrays."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return _EMPTY_ROWS
    if len(parts) == 1:
        return parts[0]
    return unique(np.concatenate(parts))
