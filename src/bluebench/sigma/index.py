"""Rules as numbers: every atom numbered once, each rule's atoms, pruning clauses and program as ids.

This is what the engine derives from the rules before it reads an event (``RulePlan`` and the
rule programs start from it). It depends only on the rules, so the compiled-rule cache keeps it
beside them (``cache``): a warm start reads plain int lists instead of hashing some 100,000
atoms again. Pure Python, no numpy: the cache and the compiler import it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bluebench.sigma.ir import And, Atom, Const, Node, Not, Or, atoms

ATOM, NOT, AND, OR, CONST = range(5)  # node kinds of a rule's compiled program

#: A rule's condition with atoms as ids: nested (kind, ...) tuples.
Program = tuple[Any, ...]


class AtomTable:
    """Atoms numbered once: the per-batch work handles ints, not dataclass hashes.

    Looked up by a plain tuple of the atom's fields: its hash runs in C, where a frozen
    dataclass's runs a Python method. The lookup is built on first use only: a table read
    from the cache, LIKE pieces included (``RuleIndex.pieces``), never needs it during a run,
    and it is a few MB for SigmaHQ's rules.
    """

    __slots__ = ("_ids", "atoms")

    def __init__(self, atoms: Iterable[Atom] = ()) -> None:
        self.atoms: list[Atom] = []
        self._ids: dict[tuple[str, str, str, bool], int] | None = {}
        for a in atoms:
            self.number(a)

    @classmethod
    def of_distinct(cls, atoms: list[Atom]) -> AtomTable:
        """A table of atoms known to be distinct, numbered by position (the lookup left for later)."""
        out = cls()
        out.atoms, out._ids = atoms, None
        return out

    def number(self, a: Atom) -> int:
        """The atom's id, given on first sight."""
        ids = self._ids
        if ids is None:
            ids = self._ids = {(b.field, b.op, b.value, b.cased): k for k, b in enumerate(self.atoms)}
        key = (a.field, a.op, a.value, a.cased)
        k = ids.get(key)
        if k is None:
            k = ids[key] = len(self.atoms)
            self.atoms.append(a)
        return k

    def copy(self) -> AtomTable:
        """A table with the same ids that can grow apart from this one."""
        out = AtomTable()
        out.atoms = list(self.atoms)
        out._ids = None if self._ids is None else dict(self._ids)
        return out


@dataclass(eq=False)
class RuleIndex:
    """Per rule (in the rule set's order): its atom ids, pruning clauses and program, over one table.

    ``pieces``: per LIKE atom worth prefiltering, the id of the ``contains`` atom of its longest
    literal piece (``like_piece``); those atoms are in the table too, so a run adds none.
    """

    atoms: AtomTable
    rule_ids: list[str]
    rule_atoms: list[list[int]]
    clauses: list[list[list[int]]]
    programs: list[Program]
    pieces: dict[int, int]

    @classmethod
    def build(cls, rules: Sequence[Any]) -> RuleIndex:
        """Number the atoms of ``rules`` (anything with ``id`` and ``node``) and derive the rest."""
        table = AtomTable()
        rule_atoms = [[table.number(a) for a in atoms(r.node)] for r in rules]
        pieces: dict[int, int] = {}
        for ids in rule_atoms:
            for k in ids:
                piece = like_piece(table.atoms[k])
                if piece is not None:
                    pieces[k] = table.number(piece)
        return cls(
            table,
            [r.id for r in rules],
            rule_atoms,
            [[[table.number(a) for a in cl] for cl in clauses(r.node)] for r in rules],
            [program(r.node, table.number) for r in rules],
            pieces,
        )

    def fits(self, rules: Sequence[Any]) -> bool:
        """Whether this index describes exactly these rules, in this order."""
        return len(rules) == len(self.rule_ids) and all(
            r.id == rid for r, rid in zip(rules, self.rule_ids, strict=True)
        )

    def subset(self, keep: Sequence[int]) -> RuleIndex:
        """The index of the rules at positions ``keep`` (the atom table is shared, ids unchanged)."""
        return RuleIndex(
            self.atoms,
            [self.rule_ids[i] for i in keep],
            [self.rule_atoms[i] for i in keep],
            [self.clauses[i] for i in keep],
            [self.programs[i] for i in keep],
            self.pieces,
        )


def like_piece(a: Atom) -> Atom | None:
    """A case-insensitive LIKE's longest literal piece as a ``contains`` atom, when 3 characters or more.

    It goes through the field's automaton: only the values holding it are given to the LIKE kernel.
    """
    if a.op != "like" or a.cased:
        return None
    piece = _longest_piece(a.value)
    return Atom(a.field, "contains", piece) if len(piece) >= 3 else None


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


def program(node: Node, number: Callable[[Atom], int]) -> Program:
    """The rule's condition with atoms as ids: (op, ...) tuples walked per candidate rows."""
    if isinstance(node, Atom):
        return (ATOM, number(node))
    if isinstance(node, Not):
        return (NOT, program(node.arg, number))
    if isinstance(node, Const):
        return (CONST, node.value)
    return (AND if isinstance(node, And) else OR, tuple(program(x, number) for x in node.args))


def clauses(node: Node) -> list[list[Atom]]:
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
