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
4. A rule whose positive part cannot be true anywhere in the cell is skipped; the others are
   evaluated as numpy boolean arrays over the cell's rows (an atom's row hits = its
   distinct-value hits gathered by the dictionary indices), each atom once per cell.

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

from bluebench.sigma.ir import KEYWORD_FIELD, And, Atom, Const, Node, Not, Or, atoms
from bluebench.sigma.pipeline import FIELD_ALIASES, SYSTEM_FIELDS
from bluebench.sigma.rules import CompiledRule, RuleSet

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


@dataclass
class _Column:
    """One field over a cell's rows, dictionary-encoded."""

    values: pa.Array  # distinct values (original case)
    lower_arr: pa.Array  # the same, lowercased
    lower: list[str]  # the same, lowercased, as Python strings for the automaton
    idx: np.ndarray[Any, Any]  # per row: index into values, len(values) where absent


@dataclass
class _FieldPlan:
    """The atoms of one field in one cell and the automaton for its literal patterns."""

    literal: list[Atom]
    other: list[Atom]
    eq_keys: dict[str, list[Atom]]
    automaton: Any
    key_atoms: list[list[Atom]]
    key_lens: list[int]
    key_lens_arr: np.ndarray[Any, Any]
    like_pre: dict[Atom, Atom]
    eq_list: list[str]
    eq_set: pa.Array


@dataclass
class _Cell:
    """The rules that apply to one (channel, event id) and what they need to read."""

    rules: list[int]
    fields: list[str]
    plans: dict[str, _FieldPlan]


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
        # Fields each rule must keep for its correlations: group-by and value fields.
        self._corr_fields: dict[str, tuple[list[str], str | None]] = {}
        for c in ruleset.correlations:
            for rid in c.rules:
                self._corr_fields[rid] = (
                    [c.field_for(g, rid) for g in c.group_by],
                    c.field_for(c.value_field, rid) if c.value_field else None,
                )
        self._atoms = [atoms(r.node) for r in self.rules]
        self._clauses = [_clauses(r.node) for r in self.rules]
        self._plans: dict[tuple[int, ...], tuple[list[str], dict[str, _FieldPlan]]] = {}
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
            idx = tuple(
                i
                for i, r in enumerate(self.rules)
                if (r.channels is None or channel in r.channels) and (r.codes is None or code in r.codes)
            )
            shared = self._plans.get(idx)
            if shared is None:
                flds: dict[str, None] = {}
                by_field: dict[str, dict[Atom, None]] = {}
                for i in idx:
                    for a in self._atoms[i]:
                        by_field.setdefault(a.field, {})[a] = None
                        flds[a.field] = None
                        if a.op.startswith("fieldref"):
                            flds[a.value] = None
                    extra, value = self._corr_fields.get(self.rules[i].id, ([], None))
                    for f in [*extra, *([value] if value else [])]:
                        flds[f] = None
                shared = (list(flds), {f: _plan(list(a)) for f, a in by_field.items()})
                self._plans[idx] = shared
            cell = _Cell(list(idx), shared[0], shared[1])
            self._cells[key] = cell
        return cell

    # ---------------------------------------------------------------- batches ----

    def process(self, batch: pa.Table) -> None:
        """Evaluate every rule on one batch and record the matches."""
        n = batch.num_rows
        if n == 0:
            return
        self.events_seen += n
        batch = batch.combine_chunks()
        channel = _dict(pc.utf8_lower(batch.column("channel").combine_chunks().cast(pa.string())))
        code = _dict(batch.column("code").combine_chunks().cast(pa.string()))
        # One cell id per row from the two dictionaries.
        cell_of = channel.idx.astype(np.int64) * (len(code.lower) + 1) + code.idx
        order = np.argsort(cell_of, kind="stable")
        sorted_cells = cell_of[order]
        bounds = np.flatnonzero(np.diff(sorted_cells)) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [n]])
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            cid = int(sorted_cells[s])
            ci, ki = divmod(cid, len(code.lower) + 1)
            ch = channel.lower[ci] if ci < len(channel.lower) else ""
            cd = code.lower[ki] if ki < len(code.lower) else ""
            cell = self._cell(ch, cd)
            if not cell.rules:
                continue
            rows = np.sort(order[s:e])
            self._run_cell(batch, rows, cell)
        # Hand the batch's Arrow buffers back to the system: the allocator would keep them.
        pa.default_memory_pool().release_unused()

    def _run_cell(self, batch: pa.Table, rows: np.ndarray[Any, Any], cell: _Cell) -> None:
        take = pa.array(rows)
        cols = self._extract(batch, take, cell.fields)
        m = len(rows)
        dense: dict[Atom, np.ndarray[Any, Any]] = {}
        positions: dict[Atom, np.ndarray[Any, Any] | None] = {}  # None: decided per row
        for f, plan in cell.plans.items():
            positions.update(_eval_field(plan, cols[f]))

        def atom_rows(a: Atom) -> np.ndarray[Any, Any]:
            got = dense.get(a)
            if got is None:
                pos = positions[a]
                if pos is None:
                    got = _fieldref(a, cols[a.field], cols[a.value])
                else:
                    column = cols[a.field]
                    hits = np.zeros(len(column.lower) + 1, dtype=bool)
                    hits[pos] = True
                    got = hits[column.idx]
                dense[a] = got
            return got

        def value(node: Node) -> np.ndarray[Any, Any]:
            if isinstance(node, Atom):
                return atom_rows(node)
            if isinstance(node, Not):
                return ~value(node.arg)
            if isinstance(node, Const):
                return np.full(m, node.value)
            if isinstance(node, And):
                acc = value(node.args[0])
                for x in node.args[1:]:
                    if not acc.any():
                        break
                    acc = acc & value(x)
                return acc
            acc = value(node.args[0])
            for x in node.args[1:]:
                acc = acc | value(x)
            return acc

        for i in cell.rules:
            if not all(any(_possible(positions.get(a)) for a in clause) for clause in self._clauses[i]):
                continue
            rule = self.rules[i]
            hit = value(rule.node)
            where = np.flatnonzero(hit)
            if len(where):
                self._record(rule, batch, rows, where, cols)

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
        rm = self.matches[rule.id]
        rm.count += len(where)
        global_rows = rows[where]
        g_all = pa.array(global_rows)
        hosts = batch.column("host").take(g_all).to_pylist()
        times = batch.column("ts").take(g_all).to_pylist()
        keep: list[int] = []  # positions in ``where`` kept as evidence
        keep_host: list[HostMatches] = []
        pending: dict[int, int] = {}  # id(host state) -> evidence taken in this batch
        for j, (h, t) in enumerate(zip(hosts, times, strict=True)):
            name = h or ""
            hm = rm.hosts.get(name)
            if hm is None:
                hm = rm.hosts[self._intern(name)] = HostMatches()
            hm.count += 1
            if t is not None:
                if hm.first is None or t < hm.first:
                    hm.first = t
                if hm.last is None or t > hm.last:
                    hm.last = t
            taken = pending.get(id(hm), 0)
            if len(hm.events) + taken < self.evidence_cap:
                pending[id(hm)] = taken + 1
                keep.append(j)
                keep_host.append(hm)
        if keep:
            sel = where[keep]
            g = pa.array(rows[sel])
            files = batch.column("file").take(g).to_pylist()
            recs = batch.column("record").take(g).to_pylist()
            ids = batch.column("event_id").take(g).to_pylist()
            shown = [f for f in rule.fields if f not in ("Channel", "EventID") and f in cols]
            for k, (j, r, hm) in enumerate(zip(keep, sel.tolist(), keep_host, strict=True)):
                matched: dict[str, str] = {}
                if not hm.events:  # the fields that matched are shown for a host's first event
                    for f in shown:
                        c = cols[f]
                        vi = int(c.idx[r])
                        if vi < len(c.lower):
                            matched[f] = str(c.values[vi].as_py())
                file, host = files[k], hosts[j]
                hm.events.append(
                    MatchEvent(
                        times[j],
                        self._intern(file) if file is not None else None,
                        recs[k],
                        ids[k],
                        self._intern(host) if host is not None else None,
                        matched,
                    )
                )
        corr = self._corr_fields.get(rule.id)
        if corr is not None:
            group, value_field = corr

            def val(f: str, r: int) -> str | None:
                c = cols.get(f)
                if c is None:
                    return None
                vi = int(c.idx[r])
                return c.lower[vi] if vi < len(c.lower) else None

            for j, r in enumerate(where.tolist()):
                t = times[j]
                epoch = t.replace(tzinfo=UTC).timestamp() if isinstance(t, datetime) else 0.0
                rm.keys.append(
                    (epoch, tuple(val(f, r) for f in group), val(value_field, r) if value_field else None)
                )

    def _intern(self, s: str) -> str:
        """One string object per distinct file or host name, however many events name it."""
        return self._interned.setdefault(s, s)

    def run(
        self,
        batches: Iterable[pa.Table],
        progress: Callable[[int], None] | None = None,
        batch_rows: int = 4_000,
    ) -> None:
        """Process a stream of batches, small ones (many small files) gathered up to ``batch_rows``."""
        pending: list[pa.Table] = []
        size = 0
        for b in batches:
            pending.append(b)
            size += b.num_rows
            if size >= batch_rows:
                self.process(pa.concat_tables(pending))
                if progress:
                    progress(size)
                pending, size = [], 0
        if pending:
            self.process(pa.concat_tables(pending))
            if progress:
                progress(size)


# ------------------------------------------------------------------ helpers ----


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
    if KEYWORD_FIELD in names:
        text = batch.column("ed").take(take).combine_chunks().cast(pa.string())
        # JSON doubles backslashes; the text searched is the values as logged.
        out[KEYWORD_FIELD] = pc.replace_substring(text, "\\\\", "\\")
    if json_names:
        paths: list[str] = []
        for f in json_names:
            paths.append(_path(f))
            paths.extend(_path(a) for a in FIELD_ALIASES.get(f, ()))
        ed = batch.column("ed").take(take).combine_chunks().cast(pa.string())
        # Output columns are named by position: field names (rule text) stay bound data.
        select = ", ".join(f"v[{i + 1}] AS c{i}" for i in range(len(paths)))
        con.register("sigma_cell", pa.table({"ed": ed}))
        try:
            res = con.sql(
                f"SELECT {select} FROM (SELECT json_extract_string(ed, $p) AS v FROM sigma_cell)",
                params={"p": paths},
            ).to_arrow_table()
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
    lower_arr = pc.utf8_lower(values)
    lower = lower_arr.to_pylist()
    return _Column(values, lower_arr, [s if s is not None else "" for s in lower], idx)


def _plan(field_atoms: list[Atom]) -> _FieldPlan:
    """Split a field's atoms: literal (one automaton pass, equality by hash) and the rest."""
    literal = [
        a for a in field_atoms if a.op in ("contains", "startswith", "endswith") and not a.cased and a.value
    ]
    eq_keys: dict[str, list[Atom]] = {}
    for a in field_atoms:
        if a.op == "eq" and not a.cased:
            eq_keys.setdefault(a.value, []).append(a)
    lit = set(literal)
    other = [a for a in field_atoms if a not in lit and not (a.op == "eq" and not a.cased)]
    # A LIKE pattern's longest literal piece goes through the automaton: only the values
    # holding it are given to the LIKE kernel.
    like_pre: dict[Atom, Atom] = {}
    for a in other:
        if a.op == "like" and not a.cased:
            piece = _longest_piece(a.value)
            if len(piece) >= 3:
                like_pre[a] = Atom(a.field, "contains", piece)
                if like_pre[a] not in lit:
                    lit.add(like_pre[a])
                    literal.append(like_pre[a])
    keys: dict[str, list[Atom]] = {}
    for a in literal:
        keys.setdefault(a.value, []).append(a)
    key_atoms = list(keys.values())
    automaton = None
    if keys:
        automaton = ahocorasick.Automaton()
        for kid, k in enumerate(keys):
            automaton.add_word(k, kid)
        automaton.make_automaton()
    lens = [len(k) for k in keys]
    return _FieldPlan(
        literal,
        other,
        eq_keys,
        automaton,
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


def _possible(pos: np.ndarray[Any, Any] | None) -> bool:
    return pos is None or len(pos) > 0


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


def _eval_field(plan: _FieldPlan, col: _Column) -> dict[Atom, np.ndarray[Any, Any] | None]:
    """Each atom's hits as positions in the column's distinct values (len = absent).

    None marks an atom decided per row (field references).
    """
    out: dict[Atom, np.ndarray[Any, Any] | None] = {}
    empty = np.zeros(0, dtype=np.int64)
    if plan.eq_keys:
        # Equality: one vectorised lookup of every distinct value in the rules' value set.
        where = pc.index_in(col.lower_arr, value_set=plan.eq_set).to_numpy(zero_copy_only=False)
        hit_rows = np.flatnonzero(~np.isnan(where)) if where.dtype.kind == "f" else np.flatnonzero(where >= 0)
        key_of = where[hit_rows].astype(np.int64)
        order_eq = np.argsort(key_of, kind="stable")
        key_of, hit_rows = key_of[order_eq], hit_rows[order_eq]
        nk = len(plan.eq_list)
        lo_eq = np.searchsorted(key_of, np.arange(nk), side="left")
        hi_eq = np.searchsorted(key_of, np.arange(nk), side="right")
        for j, key in enumerate(plan.eq_list):
            hits = hit_rows[lo_eq[j] : hi_eq[j]] if hi_eq[j] > lo_eq[j] else empty
            for a in plan.eq_keys[key]:
                out[a] = hits
    if plan.automaton is not None:
        v, k, sa, ea = _automaton_hits(plan, col.lower)
        order = np.argsort(k, kind="stable")
        k, v, sa, ea = k[order], v[order], sa[order], ea[order]
        lo = np.searchsorted(k, np.arange(len(plan.key_atoms)), side="left")
        hi = np.searchsorted(k, np.arange(len(plan.key_atoms)), side="right")
        for kid, ats in enumerate(plan.key_atoms):
            a0, b0 = int(lo[kid]), int(hi[kid])
            for a in ats:
                if b0 == a0:
                    out[a] = empty
                elif a.op == "contains":
                    out[a] = v[a0:b0]
                elif a.op == "startswith":
                    out[a] = v[a0:b0][sa[a0:b0]]
                else:
                    out[a] = v[a0:b0][ea[a0:b0]]
    for a in plan.other:
        pre = plan.like_pre.get(a)
        if pre is not None:
            cand = np.unique(out[pre])  # type: ignore[arg-type]
            if len(cand):
                sub = pa.array([col.lower[i] for i in cand.tolist()], pa.string())
                res = pc.match_like(sub, a.value).fill_null(False).to_numpy(zero_copy_only=False)
                out[a] = cand[res]
            else:
                out[a] = empty
            continue
        out[a] = None if a.op.startswith("fieldref") else np.flatnonzero(_eval_other(a, col))
    return out


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
    nd = len(col.lower)
    hits = np.zeros(nd + 1, dtype=bool)
    if a.op == "exists":
        hits[:nd] = True
        return hits
    if a.op == "null":
        hits[nd] = True
        return hits
    if nd == 0:
        return hits
    subject = col.values if a.cased else pa.array(col.lower, pa.string())
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


def _fieldref(a: Atom, left: _Column, right: _Column) -> np.ndarray[Any, Any]:
    """Row-wise comparison of two fields, case-insensitive."""
    lv = np.array([*left.lower, None], dtype=object)[left.idx]
    rv = np.array([*right.lower, None], dtype=object)[right.idx]
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
