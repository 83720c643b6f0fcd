"""Sigma engine, stage 3: each rule's condition over its candidate rows, and what is kept of a match.

A rule's boolean IR is compiled once to a small program of atom ids (``program``) and run
with numpy booleans over the rule's candidate rows only (``CellMatcher``). Matches are
recorded by ``MatchRecorder``: per (rule, host) the exact match count, the first and last
match time and the first ``evidence_cap`` matched events as evidence, so every host gets its
alert and the state grows with the hosts and rules that matched, not with the events. Only
the rules that correlation rules reference keep a key per match (time, group key, value), as
the correlation's window needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluebench.sigma.extract import Column
from bluebench.sigma.index import AND, ATOM, CONST, NOT, Program
from bluebench.sigma.plan import CellHits, CorrelationFields, fieldref
from bluebench.sigma.rules import CompiledRule

_NO_TIME = np.iinfo(np.int64).min
_MAX_TIME = np.iinfo(np.int64).max

AtomAt = Callable[[int, "np.ndarray[Any, Any] | None"], "np.ndarray[Any, Any]"]
#: A correlation key of one match: (epoch seconds, group key values, value-count value).
CorrelationKey = tuple[float, tuple[str | None, ...], str | None]


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
    keys: list[CorrelationKey] = field(default_factory=list)

    @property
    def events(self) -> list[MatchEvent]:
        """The evidence kept on every host, host by host in the order hosts first matched."""
        return [e for h in self.hosts.values() for e in h.events]


def evaluate(prog: Program, r: np.ndarray[Any, Any] | None, n: int, atom_at: AtomAt) -> np.ndarray[Any, Any]:
    """A rule's program over the rows ``r`` (None: all ``n`` rows); an AND stops once all false.

    A module function, not a closure: a closure that calls itself is a reference cycle, and
    the cell's columns it holds would wait for the cyclic GC.
    """
    op = prog[0]
    if op == ATOM:
        return atom_at(prog[1], r)
    if op == NOT:
        return ~evaluate(prog[1], r, n, atom_at)
    if op == CONST:
        return np.full(n, prog[1])
    args = prog[1]
    acc = evaluate(args[0], r, n, atom_at)
    if op == AND:
        for x in args[1:]:
            if not acc.any():
                break
            acc = acc & evaluate(x, r, n, atom_at)
    else:
        for x in args[1:]:
            acc = acc | evaluate(x, r, n, atom_at)
    return acc


class CellMatcher:
    """Rule programs over one cell's rows; an atom's values over all rows are kept for the next
    rule without clauses (those are evaluated on every row)."""

    __slots__ = ("_full", "_hits", "_n")

    def __init__(self, hits: CellHits, n: int) -> None:
        self._hits = hits
        self._n = n
        self._full: dict[int, np.ndarray[Any, Any]] = {}

    def rows(self, prog: Program, cand: np.ndarray[Any, Any] | None) -> np.ndarray[Any, Any]:
        """The cell rows (positions) where the rule holds, among ``cand`` (None: all rows)."""
        hit = evaluate(prog, cand, self._n if cand is None else len(cand), self.atom_at)
        return np.flatnonzero(hit) if cand is None else cand[hit].astype(np.int64)

    def atom_at(self, k: int, r: np.ndarray[Any, Any] | None) -> np.ndarray[Any, Any]:
        """Atom ``k`` over the rows ``r`` (None: all rows)."""
        if r is None:
            got = self._full.get(k)
            if got is not None:
                return got
        hits = self._hits
        a = hits.atoms[k]
        m = hits.mask(k)
        if m is None:
            got = fieldref(a, hits.cols[a.field], hits.cols[a.value], r)
        else:
            col = hits.cols[a.field]
            got = m[col.idx if r is None else col.idx[r]]
        if r is None:
            self._full[k] = got
        return got


class MatchRecorder:
    """What is kept of every rule's matches (``matches``), batch by batch.

    Counts and times do not depend on order; evidence (the first events per host) and
    correlation keys do, so each cell hands over its candidates with their batch row and
    ``flush`` takes them in input order: the result is the same for any batch size.
    """

    def __init__(self, rules: list[CompiledRule], evidence_cap: int, corr_fields: CorrelationFields) -> None:
        self.evidence_cap = evidence_cap
        self.matches: dict[str, RuleMatches] = {r.id: RuleMatches(r) for r in rules}
        self._corr_fields = corr_fields
        self._interned: dict[str, str] = {}  # file and host names, one string object each
        # Per rule, this batch's evidence candidates (row, host, event) and correlation keys.
        self._new_hosts: dict[str, dict[str, list[Any]]] = {}  # rule -> host -> [first row, state]
        self._pending: dict[str, tuple[list[tuple[int, HostMatches, MatchEvent]], list[Any]]] = {}
        self._host_idx: np.ndarray[Any, Any] = np.zeros(0, dtype=np.int64)
        self._host_names: list[str | None] = []
        self._ts_key: np.ndarray[Any, Any] = np.zeros(0, dtype=np.int64)
        self._ts_col: pa.Array | None = None
        self._ts_ranked: list[Any] = []  # time values by rank, for a time column not of timestamps

    def begin(self, batch: pa.Table) -> None:
        """Host and time keys of a new batch's rows, read once for all of its cells."""
        host = batch.column("host").combine_chunks().cast(pa.string())
        enc = pc.dictionary_encode(host)
        self._host_names = [*enc.dictionary.to_pylist(), None]
        self._host_idx = enc.indices.fill_null(len(enc.dictionary)).to_numpy(zero_copy_only=False)
        self._ts_col = batch.column("ts").combine_chunks()
        self._ts_key, self._ts_ranked = _time_key(self._ts_col)

    def record(
        self,
        rule: CompiledRule,
        batch: pa.Table,
        rows: np.ndarray[Any, Any],
        where: np.ndarray[Any, Any],
        cols: dict[str, Column],
    ) -> None:
        """Count one cell's matches of a rule (cell rows ``where``); evidence and keys wait for ``flush``."""
        rm = self.matches[rule.id]
        rm.count += len(where)
        global_rows = rows[where]
        hc = self._host_idx[global_rows]
        keep, keep_host, first_of = self._count_hosts(rm, global_rows, hc)
        out = self._pending.setdefault(rule.id, ([], []))
        if keep:
            out[0].extend(self._evidence(rule, batch, rows, where, keep, keep_host, first_of, hc, cols))
        corr = self._corr_fields.get(rule.id)
        if corr is not None:
            out[1].extend(_correlation_keys(corr, batch, where, global_rows, cols))

    def _count_hosts(
        self, rm: RuleMatches, global_rows: np.ndarray[Any, Any], hc: np.ndarray[Any, Any]
    ) -> tuple[list[int], list[HostMatches], list[bool]]:
        """Per host: count and time span; which matches may become evidence (positions in
        ``where``), their host state, and whether each is its host's first in this cell."""
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
        new_hosts = self._new_hosts.setdefault(rm.rule.id, {})
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
        return keep, keep_host, first_of

    def _evidence(
        self,
        rule: CompiledRule,
        batch: pa.Table,
        rows: np.ndarray[Any, Any],
        where: np.ndarray[Any, Any],
        keep: list[int],
        keep_host: list[HostMatches],
        first_of: list[bool],
        hc: np.ndarray[Any, Any],
        cols: dict[str, Column],
    ) -> list[tuple[int, HostMatches, MatchEvent]]:
        """The evidence candidates ``keep`` (positions in ``where``) as (batch row, host state, event)."""
        sel = where[keep]
        g = pa.array(rows[sel])
        times = batch.column("ts").take(g).to_pylist()
        files = batch.column("file").take(g).to_pylist()
        recs = batch.column("record").take(g).to_pylist()
        ids = batch.column("event_id").take(g).to_pylist()
        hosts = [self._host_names[int(hc[j])] for j in keep]
        shown = [f for f in rule.shown_fields if f in cols]
        grow = rows[sel].tolist()
        out: list[tuple[int, HostMatches, MatchEvent]] = []
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
            out.append((grow[k], hm, ev))
        return out

    def flush(self) -> None:
        """Evidence and correlation keys of the batch's cells, in input order (see the class)."""
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


def _correlation_keys(
    corr: tuple[list[str], str | None],
    batch: pa.Table,
    where: np.ndarray[Any, Any],
    global_rows: np.ndarray[Any, Any],
    cols: dict[str, Column],
) -> list[tuple[int, CorrelationKey]]:
    """(batch row, correlation key) of every match of a rule that correlations reference."""
    group, value_field = corr

    def val(f: str, r: int) -> str | None:
        c = cols.get(f)
        if c is None:
            return None
        vi = int(c.idx[r])
        return c.lower[vi] if vi < c.nd else None

    all_times = batch.column("ts").take(pa.array(global_rows)).to_pylist()
    return [
        (
            gr,
            (
                epoch_seconds(all_times[j]),
                tuple(val(f, r) for f in group),
                val(value_field, r) if value_field else None,
            ),
        )
        for j, (r, gr) in enumerate(zip(where.tolist(), global_rows.tolist(), strict=True))
    ]


def epoch_seconds(t: object) -> float:
    """A correlation key's time: naive times are UTC; an event without a time counts as 0."""
    return t.replace(tzinfo=UTC).timestamp() if isinstance(t, datetime) else 0.0


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
