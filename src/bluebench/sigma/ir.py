"""A small boolean expression IR for Sigma detections, compiled once per rule.

pySigma parses a rule (modifiers, ``1 of``/``all of`` selectors, ``not``/``and``/``or``);
``convert.compile_condition`` turns its condition tree into these nodes, which two consumers share
without a second copy of the logic: the columnar evaluator (``engine``) and ``to_sql``, a
portable SQL WHERE clause that DuckDB runs as it is and sqlglot can transpile to Spark SQL.

Semantics fixed here once: string comparison is case-insensitive unless ``cased``; a field
that is absent never matches an atom, so ``not`` of anything over a missing field is true.
"""

from __future__ import annotations

from dataclasses import dataclass

# Atom operators. Literal ones (eq .. endswith) go through one multi-pattern pass per field.
LITERAL_OPS = ("eq", "contains", "startswith", "endswith")
KEYWORD_FIELD = "_text"  # a keyword (field-less) value is searched in the whole event text


class CompileError(ValueError):
    """A rule uses something the engine cannot evaluate; the message is the reason shown."""


@dataclass(frozen=True, slots=True)
class Atom:
    """One comparison of one field. ``value`` is lowercased for case-insensitive literal ops."""

    field: str
    op: str  # eq contains startswith endswith like re lt lte gt gte exists null fieldref*
    value: str = ""
    cased: bool = False


@dataclass(frozen=True, slots=True)
class And:
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    arg: Node


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


Node = Atom | And | Or | Not | Const


def atoms(node: Node) -> list[Atom]:
    """Every atom in ``node``, in order (duplicates kept once)."""
    out: dict[Atom, None] = {}

    def walk(n: Node) -> None:
        if isinstance(n, Atom):
            out[n] = None
        elif isinstance(n, And | Or):
            for a in n.args:
                walk(a)
        elif isinstance(n, Not):
            walk(n.arg)

    walk(node)
    return list(out)


def fields(node: Node) -> list[str]:
    """Fields the expression reads (the second field of a fieldref included)."""
    out: dict[str, None] = {}
    for a in atoms(node):
        out[a.field] = None
        if a.op.startswith("fieldref"):
            out[a.value] = None
    return list(out)


# ------------------------------------------------------------------- to SQL ----


def _lit(s: str) -> str:
    """A SQL string literal of rule text (rule text is data: quotes doubled, nothing else)."""
    return "'" + s.replace("'", "''") + "'"


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def col(field: str) -> str:
    """The quoted column a field lives in."""
    return '"' + field.replace('"', '""') + '"'


def atom_sql(a: Atom) -> str:
    """One atom as a portable SQL predicate (NULL when the field is absent)."""
    c = col(a.field)
    v = c if a.cased else f"lower({c})"
    if a.op == "eq":
        return f"{v} = {_lit(a.value)}"
    if a.op == "contains":
        return f"{v} LIKE {_lit('%' + _like_escape(a.value) + '%')} ESCAPE '\\'"
    if a.op == "startswith":
        return f"{v} LIKE {_lit(_like_escape(a.value) + '%')} ESCAPE '\\'"
    if a.op == "endswith":
        return f"{v} LIKE {_lit('%' + _like_escape(a.value))} ESCAPE '\\'"
    if a.op == "like":
        return f"{v} LIKE {_lit(a.value)} ESCAPE '\\'"
    if a.op == "re":
        return f"regexp_matches({c}, {_lit(a.value)})"
    if a.op in ("lt", "lte", "gt", "gte"):
        sym = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}[a.op]
        return f"TRY_CAST({c} AS DOUBLE) {sym} {float(a.value)!r}"
    if a.op == "exists":
        return f"{c} IS NOT NULL"
    if a.op == "null":
        return f"{c} IS NULL"
    other = f"lower({col(a.value)})"
    if a.op == "fieldref_eq":
        return f"{v} = {other}"
    if a.op == "fieldref_startswith":
        return f"starts_with({v}, {other})"
    if a.op == "fieldref_endswith":
        return f"ends_with({v}, {other})"
    if a.op == "fieldref_contains":
        return f"contains({v}, {other})"
    raise CompileError(f"no SQL for operator {a.op}")


def to_sql(node: Node) -> str:
    """A WHERE clause with Sigma's semantics: NOT of an absent field's comparison is true.

    SQL's three-valued logic would make ``NOT (x LIKE ...)`` NULL, and the row dropped,
    where ``x`` is missing (the trap of the published DuckDB backend); ``coalesce`` at every
    NOT makes absent mean false first.
    """
    if isinstance(node, Atom):
        return atom_sql(node)
    if isinstance(node, Const):
        return "TRUE" if node.value else "FALSE"
    if isinstance(node, Not):
        return f"NOT coalesce({to_sql(node.arg)}, FALSE)"
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(to_sql(a) for a in node.args) + ")"
