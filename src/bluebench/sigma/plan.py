"""Sigma engine, stage 2: which rules can match a cell, and on which of its rows.

Built once per rule set (``RulePlan``): every atom is numbered, each rule's pruning clauses
are derived, and per (channel, event id) the admitted rules, the fields they read and, per
field, one Aho-Corasick automaton over all their literal patterns are worked out and cached
(``Cell``, ``FieldPlan``). Nothing here depends on the events, so it can be kept between runs.

Per cell of a batch (``CellHits``): one automaton pass per field over the lowercased
distinct values finds every literal atom at once (equality is a hash lookup); wildcards,
regexes and numbers use Arrow's kernels on the same distinct values, only when a rule still
needs them. A rule whose clauses cannot all hold anywhere in the cell is skipped (one numpy
pass for all of the cell's rules); the others get their candidate rows, the rows where every
clause has an atom that holds (an atom's rows = its distinct-value hits gathered through the
dictionary indices).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Any

import ahocorasick
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluebench.arrays import unique
from bluebench.sigma.extract import EMPTY_ROWS, Column
from bluebench.sigma.index import AtomTable, RuleIndex, like_piece
from bluebench.sigma.ir import Atom
from bluebench.sigma.rules import CompiledRule, admits

AUTOMATON_CHUNK = 4096  # distinct values per automaton pass: bounds the memory of the raw matches
#: Over distinct values of at least ``PREFILTER_BYTES``, a field plan of at most ``PREFILTER_KEYS``
#: automaton keys, none shorter than ``PREFILTER_MIN_KEY``, first asks RE2 (Arrow's kernel: in C,
#: no Python string per value) which values hold any key at all; only those go through the
#: automaton. Event texts (keywords) are long and rarely hold a key: the automaton's scan and the
#: Python strings it needs were most of their cost. Arrow compiles the pattern on every call, which
#: costs more than it saves on a few short values; short keys hold nearly everywhere.
PREFILTER_BYTES = 256 * 1024
PREFILTER_KEYS = 512
PREFILTER_MIN_KEY = 3

#: Per rule a correlation references: its group-by fields and its value field.
CorrelationFields = dict[str, tuple[list[str], str | None]]


@dataclass
class FieldPlan:
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
    prefilter: str | None  # RE2 pattern: where any automaton key may occur (``PREFILTER_KEYS``)


@dataclass
class Cell:
    """The rules that apply to one (channel, event id) and what they need to read."""

    rules: list[int]
    fields: list[str]
    plans: dict[str, FieldPlan]
    # The pruning clauses of the cell's rules, flattened so that one numpy pass tells which
    # rules can match at all: atom ids clause by clause, each clause's start, each rule's
    # first clause (rules with clauses only; ``free`` are the cell's rules without any).
    clause_atoms: np.ndarray[Any, Any]
    clause_starts: np.ndarray[Any, Any]
    rule_starts: np.ndarray[Any, Any]
    clausal: np.ndarray[Any, Any]
    free: np.ndarray[Any, Any]


class RulePlan:
    """What the rules need per (channel, event id): worked out on first sight, then cached."""

    def __init__(
        self, rules: list[CompiledRule], corr_fields: CorrelationFields, index: RuleIndex | None = None
    ) -> None:
        self.rules = rules
        if index is None or not index.fits(rules):
            index = RuleIndex.build(rules)
        self.atoms: AtomTable = index.atoms
        # LIKE pieces by (field, text): the field plans ask for them by atom, never adding one.
        self._piece_ids = {
            (self.atoms.atoms[p].field, self.atoms.atoms[p].value): p for p in index.pieces.values()
        }
        self.rule_atoms = index.rule_atoms
        #: Per rule, its pruning clauses as atom ids (see ``index.clauses``).
        self.clauses = index.clauses
        self.programs = index.programs
        # Fields each rule must keep for its correlations: group-by and value fields.
        self._corr_fields = corr_fields
        self._cells: dict[tuple[str, str], Cell] = {}
        self._shared: dict[tuple[int, ...], tuple[list[str], dict[str, FieldPlan]]] = {}
        self._field_plans: dict[tuple[str, tuple[int, ...]], FieldPlan] = {}  # shared by cells
        self._by_source: dict[tuple[frozenset[str] | None, frozenset[str] | None], list[int]] = {}
        for i, r in enumerate(rules):
            self._by_source.setdefault((r.channels, r.codes), []).append(i)

    def cell(self, channel: str, code: str) -> Cell:
        """The plan of one (lowercased channel, event id)."""
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
            shared = self._shared.get(idx)
            if shared is None:
                shared = self._shared[idx] = self._fields(idx)
            cell = self._cells[key] = Cell(list(idx), shared[0], shared[1], *self._flat_clauses(idx))
        return cell

    def _fields(self, idx: tuple[int, ...]) -> tuple[list[str], dict[str, FieldPlan]]:
        """The fields the rules ``idx`` read, and the plan of each field their atoms test."""
        flds: dict[str, None] = {}
        by_field: dict[str, dict[int, None]] = {}
        for i in idx:
            for k in self.rule_atoms[i]:
                a = self.atoms.atoms[k]
                by_field.setdefault(a.field, {})[k] = None
                flds[a.field] = None
                if a.op.startswith("fieldref"):
                    flds[a.value] = None
            extra, value = self._corr_fields.get(self.rules[i].id, ([], None))
            for f in [*extra, *([value] if value else [])]:
                flds[f] = None
        plans: dict[str, FieldPlan] = {}
        for f, ids in by_field.items():
            pkey = (f, tuple(ids))
            plan = self._field_plans.get(pkey)
            if plan is None:
                plan = self._field_plans[pkey] = field_plan(
                    [(k, self.atoms.atoms[k]) for k in ids], self._piece_id
                )
            plans[f] = plan
        return list(flds), plans

    def _piece_id(self, piece: Atom) -> int:
        """A LIKE piece's atom id: numbered with the index (``RuleIndex.pieces``), never added here."""
        return self._piece_ids[(piece.field, piece.value)]

    def _flat_clauses(self, idx: tuple[int, ...]) -> tuple[np.ndarray[Any, Any], ...]:
        """The clauses of the rules ``idx`` flattened as ``Cell`` keeps them (clause_atoms .. free)."""
        flat: list[int] = []
        cstarts: list[int] = []
        rstarts: list[int] = []
        clausal: list[int] = []
        free: list[int] = []
        for i in idx:
            cls = self.clauses[i]
            if not cls:
                free.append(i)
                continue
            clausal.append(i)
            rstarts.append(len(cstarts))
            for cl in cls:
                cstarts.append(len(flat))
                flat.extend(cl)
        return tuple(np.array(x, dtype=np.int64) for x in (flat, cstarts, rstarts, clausal, free))


def field_plan(field_atoms: list[tuple[int, Atom]], number: Callable[[Atom], int]) -> FieldPlan:
    """Split a field's atoms: literal (one automaton pass, equality by hash) and the rest.

    ``number`` gives an atom its id: a LIKE's longest literal piece becomes an atom of its own.
    """
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
        pa_ = like_piece(a)
        if pa_ is not None:
            pk = number(pa_)
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
    return FieldPlan(
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
        prefilter(list(keys)),
    )


def prefilter(keys: list[str]) -> str | None:
    """An RE2 pattern true on every value whose lowercase holds a key, when worth asking (else None).

    Keys are lowercase; the pattern reads a value as it is, folding case, so a long text is never
    lowercased whole. For a value of ASCII characters only, RE2's folding finds every key its
    lowercase holds; a value with any other character always passes (Unicode lowercasing and
    case folding differ there). Every key character is written as a literal.
    """
    if not keys or len(keys) > PREFILTER_KEYS or min(map(len, keys)) < PREFILTER_MIN_KEY:
        return None
    alternation = "|".join(
        "".join(c if c.isascii() and c.isalnum() else f"\\x{{{ord(c):x}}}" for c in k) for k in keys
    )
    return f"(?i:{alternation})|[^\\x{{0}}-\\x{{7f}}]"


# ------------------------------------------------------------- per cell of a batch ----


class Lazy:
    """A LIKE, regex or comparison atom over a field, computed only if a rule still needs it.

    Most rules are ruled out by their literal patterns first; their costlier atoms never run.
    """

    __slots__ = ("atom", "col", "pre")

    def __init__(self, atom: Atom, col: Column, pre: np.ndarray[Any, Any] | None) -> None:
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


#: Per atom id: its distinct-value positions; ``Lazy`` until first needed; None: decided per row.
Positions = dict[int, "np.ndarray[Any, Any] | Lazy | None"]


class SharedHits:
    """Where the atoms of a group of cells' rules hold, over the distinct values they share.

    Small cells are read in one call and share one dictionary per field (``Column.part``), so
    each field plan of the group is evaluated once for all of its cells instead of once per
    cell: cells with the same rules share their plans, and an automaton pass or a kernel call
    costs about the same for a few values as for many. A position depends only on the atom
    and the value, so every cell finds its own atoms' positions here.
    """

    __slots__ = ("masks", "positions", "possible")

    def __init__(self, cells: Iterable[Cell], cols: dict[str, Column], n_atoms: int) -> None:
        self.positions: Positions = {}
        self.masks: dict[int, np.ndarray[Any, Any]] = {}
        done: set[int] = set()
        for cell in cells:
            for f, fp in cell.plans.items():
                if id(fp) not in done:
                    done.add(id(fp))
                    _eval_field(fp, cols[f], self.positions)
        #: Atoms that may hold somewhere in the group (pruning is sound for each of its cells).
        self.possible = _possible(n_atoms, self.positions)


def _possible(n: int, positions: Positions) -> np.ndarray[Any, Any]:
    """False for the atoms known to hold on no value; True for the others."""
    possible = np.ones(n, dtype=bool)
    gone = [k for k, pos in positions.items() if type(pos) is np.ndarray and not len(pos)]
    if gone:
        possible[gone] = False
    return possible


class CellHits:
    """Where the atoms of one cell's rules hold: per distinct value of their field, then per row.

    Read-only over the cell's columns; what is computed (lazy atoms, row sets) is kept for the
    other rules of the cell (and, with ``shared``, positions for the other cells of its group).
    """

    __slots__ = ("_possible", "atoms", "cols", "masks", "positions", "row_sets")

    def __init__(
        self, cell: Cell, cols: dict[str, Column], atom_list: list[Atom], shared: SharedHits | None = None
    ) -> None:
        self.atoms = atom_list
        self.cols = cols
        self._possible: np.ndarray[Any, Any] | None = None
        if shared is not None:
            self.positions, self.masks = shared.positions, shared.masks
            self._possible = shared.possible
        else:
            self.positions = {}  # None: decided per row; Lazy: computed when first needed
            self.masks = {}
            for f, plan in cell.plans.items():
                _eval_field(plan, cols[f], self.positions)
        self.row_sets: dict[int, np.ndarray[Any, Any]] = {}

    def resolve(self, k: int) -> np.ndarray[Any, Any] | None:
        """Atom ``k``'s positions, a lazy atom computed (once) on first use."""
        pos = self.positions[k]
        if isinstance(pos, Lazy):
            pos = self.positions[k] = pos.compute()
        return pos

    def mask(self, k: int) -> np.ndarray[Any, Any] | None:
        """Atom ``k`` per distinct value of its field, absent last, as booleans (None: decided per row).

        A row's truth is then one gather through the dictionary indices (``mask[col.idx]``).
        """
        got = self.masks.get(k)
        if got is None:
            pos = self.resolve(k)
            if pos is None:
                return None
            got = self.masks[k] = np.zeros(self.cols[self.atoms[k].field].nd + 1, dtype=bool)
            got[pos] = True
        return got

    def holds(self, k: int) -> np.ndarray[Any, Any]:
        """Atom ``k`` per row of the cell, as booleans (kept for the cell's other rules)."""
        got = self.row_sets.get(k)
        if got is None:
            a, cols = self.atoms[k], self.cols
            m = self.mask(k)
            got = fieldref(a, cols[a.field], cols[a.value], None) if m is None else m[cols[a.field].idx]
            self.row_sets[k] = got
        return got

    def alive(self, cell: Cell) -> np.ndarray[Any, Any]:
        """The cell's rules that can match at all: each of their clauses has an atom true somewhere."""
        if not len(cell.clausal):
            return cell.free
        possible = (
            self._possible if self._possible is not None else _possible(len(self.atoms), self.positions)
        )
        clause_ok = np.logical_or.reduceat(possible[cell.clause_atoms], cell.clause_starts)
        rule_ok = np.logical_and.reduceat(clause_ok, cell.rule_starts)
        return unique(np.concatenate((cell.free, cell.clausal[rule_ok])))

    def candidates(self, rule_clauses: list[list[int]]) -> np.ndarray[Any, Any] | None:
        """A rule's candidate rows: those where every clause has an atom that holds (None: all rows)."""
        cand: np.ndarray[Any, Any] | None = None
        for clause in rule_clauses:
            got = self.holds(clause[0]) if len(clause) == 1 else self._any(clause)
            cand = got if cand is None else cand & got
            if not cand.any():
                return EMPTY_ROWS
        return None if cand is None else np.flatnonzero(cand)

    def _any(self, clause: list[int]) -> np.ndarray[Any, Any]:
        """Per row, whether one of the clause's atoms holds: masks of one field are OR-ed first, so
        each field is gathered through its indices once."""
        by_field: dict[str, np.ndarray[Any, Any]] = {}
        acc: np.ndarray[Any, Any] | None = None
        for k in clause:
            m = self.mask(k)
            if m is None:
                acc = self.holds(k) if acc is None else acc | self.holds(k)
                continue
            f = self.atoms[k].field
            prev = by_field.get(f)
            by_field[f] = m if prev is None else prev | m
        for f, m in by_field.items():
            acc = m[self.cols[f].idx] if acc is None else acc | m[self.cols[f].idx]
        assert acc is not None  # a clause holds one atom at least
        return acc


def _eval_field(plan: FieldPlan, col: Column, out: Positions) -> None:
    """Each atom's hits as positions in the column's distinct values (len = absent), into ``out``.

    None marks an atom decided per row (field references).
    """
    empty = EMPTY_ROWS
    if plan.eq_keys:
        _eval_equal(plan, col, out)
    if plan.automaton is not None:
        v, kk, sa, ea = _literal_hits(plan, col)
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
            out[k] = None if a.op.startswith("fieldref") else Lazy(a, col, piece_hits)


def _eval_equal(plan: FieldPlan, col: Column, out: Positions) -> None:
    """Equality atoms: one vectorised lookup of every distinct value in the rules' value set."""
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
                out[k] = EMPTY_ROWS


def _literal_hits(
    plan: FieldPlan, col: Column, min_bytes: int = PREFILTER_BYTES
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """``_automaton_hits`` over the column's distinct values; with a ``prefilter``, only over the
    values it passes, lowercased by Arrow as ``Column.lower_arr`` would be."""
    if plan.prefilter is None or col.values.nbytes < min_bytes:
        return _automaton_hits(plan, col.lower)
    try:
        maybe = pc.match_substring_regex(col.values, plan.prefilter).fill_null(False)
    except pa.ArrowInvalid:  # RE2 refused the pattern (too large for its memory): no prefilter
        return _automaton_hits(plan, col.lower)
    hit = np.flatnonzero(maybe.to_numpy(zero_copy_only=False))
    lowered = pc.utf8_lower(col.values.take(pa.array(hit))).to_pylist()
    v, kk, sa, ea = _automaton_hits(plan, [s if s is not None else "" for s in lowered])
    return hit[v], kk, sa, ea


def _automaton_hits(
    plan: FieldPlan, values: list[str]
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


def _eval_other(a: Atom, col: Column) -> np.ndarray[Any, Any]:
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
    """A value as a number for lt/gt; NaN (never true) where it is not one."""
    try:
        return float(s)
    except ValueError:
        return float("nan")


def fieldref(a: Atom, left: Column, right: Column, r: np.ndarray[Any, Any] | None) -> np.ndarray[Any, Any]:
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
