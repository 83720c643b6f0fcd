"""A small boolean expression IR for Sigma detections, compiled once per rule.

pySigma parses a rule (modifiers, ``1 of``/``all of`` selectors, ``not``/``and``/``or``);
``compile_condition`` turns its condition tree into these nodes, which two consumers share
without a second copy of the logic: the columnar evaluator (``engine``) and ``to_sql``, a
portable SQL WHERE clause that DuckDB runs as it is and sqlglot can transpile to Spark SQL.

Semantics fixed here once: string comparison is case-insensitive unless ``cased``; a field
that is absent never matches an atom, so ``not`` of anything over a missing field is true.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

# Atom operators. Literal ones (eq .. endswith) go through one multi-pattern pass per field.
LITERAL_OPS = ("eq", "contains", "startswith", "endswith")
KEYWORD_FIELD = "_text"  # a keyword (field-less) value is searched in the whole event text


class CompileError(ValueError):
    """A rule uses something the engine cannot evaluate; the message is the reason shown."""


@dataclass(frozen=True)
class Atom:
    """One comparison of one field. ``value`` is lowercased for case-insensitive literal ops."""

    field: str
    op: str  # eq contains startswith endswith like re lt lte gt gte exists null fieldref*
    value: str = ""
    cased: bool = False


@dataclass(frozen=True)
class And:
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    arg: Node


@dataclass(frozen=True)
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


# ------------------------------------------------------------- from pySigma ----


def compile_condition(cond: Any) -> Node:
    """pySigma's postprocessed condition tree -> IR."""
    if isinstance(cond, ConditionAND):
        return _flat(And, [compile_condition(a) for a in cond.args])
    if isinstance(cond, ConditionOR):
        return _flat(Or, [compile_condition(a) for a in cond.args])
    if isinstance(cond, ConditionNOT):
        return Not(compile_condition(cond.args[0]))
    if isinstance(cond, ConditionFieldEqualsValueExpression):
        return compile_value(cond.field, cond.value)
    if isinstance(cond, ConditionValueExpression):
        return compile_value(None, cond.value)
    raise CompileError(f"unsupported condition element {type(cond).__name__}")


def _flat(kind: type[And] | type[Or], args: list[Node]) -> Node:
    """And/Or with nested same-kind nodes merged; a single argument is itself."""
    out: list[Node] = []
    for a in args:
        out.extend(a.args if isinstance(a, kind) else (a,))
    return out[0] if len(out) == 1 else kind(tuple(out))


def compile_value(field: str | None, value: Any) -> Node:
    """One field/value comparison (after modifiers) -> IR."""
    f = field if field is not None else KEYWORD_FIELD
    if isinstance(value, SigmaExpansion):
        return _flat(Or, [compile_value(field, v) for v in value.values])
    if isinstance(value, SigmaString):
        cased = isinstance(value, SigmaCasedString)
        if field is None:  # a keyword is a substring of the event text, as every backend reads it
            many = SpecialChars.WILDCARD_MULTI
            parts = list(value.s)
            wrapped = SigmaString()
            wrapped.s = (
                ([] if parts[:1] == [many] else [many]) + parts + ([] if parts[-1:] == [many] else [many])
            )
            return _string(f, wrapped, cased)
        return _string(f, value, cased)
    if isinstance(value, SigmaBool):
        return Atom(f, "eq", "true" if value.boolean else "false")
    if isinstance(value, SigmaCompareExpression):
        op = value.op.name.lower()
        return Atom(f, op, _num(value.number.number))
    if isinstance(value, SigmaNumber):
        return Atom(f, "eq", _num(value.number))
    if isinstance(value, SigmaRegularExpression):
        flags = {
            SigmaRegularExpressionFlag.IGNORECASE: "i",
            SigmaRegularExpressionFlag.MULTILINE: "m",
            SigmaRegularExpressionFlag.DOTALL: "s",
        }
        prefix = "".join(flags[fl] for fl in value.flags)
        regex = (f"(?{prefix})" if prefix else "") + str(value.regexp)
        try:
            re.compile(regex)
        except re.error as exc:
            raise CompileError(f"invalid regular expression: {exc}") from exc
        return Atom(f, "re", regex, cased=True)
    if isinstance(value, SigmaCIDRExpression):
        # Wildcard prefixes as pySigma expands them: the same strings for every engine.
        return _flat(Or, [_string(f, SigmaString(p), cased=False) for p in value.expand("*")])
    if isinstance(value, SigmaNull):
        return Atom(f, "null")
    if isinstance(value, SigmaExists):
        return Atom(f, "exists") if value.exists else Not(Atom(f, "exists"))
    if isinstance(value, SigmaFieldReference):
        op = "fieldref_startswith" if value.starts_with else "fieldref_eq"
        if value.ends_with:
            op = "fieldref_contains" if value.starts_with else "fieldref_endswith"
        return Atom(f, op, value.field)
    raise CompileError(f"unsupported value type {type(value).__name__}")


def _num(n: int | float) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)


def _string(field: str, s: SigmaString, cased: bool) -> Node:
    """A Sigma string with wildcards -> the cheapest literal op, else a LIKE pattern."""
    parts = list(s.s)
    if any(isinstance(p, Placeholder) for p in parts):
        raise CompileError("unresolved placeholder (the rule needs an |expand value list)")
    many, one = SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE
    norm = (lambda t: t) if cased else str.lower
    texts = [p for p in parts if isinstance(p, str)]
    if not any(isinstance(p, SpecialChars) for p in parts):
        return Atom(field, "eq", norm("".join(texts)), cased)
    if len(parts) == 1 and parts[0] == many:
        return Atom(field, "exists")
    if len(parts) == 2 and parts[0] == many and isinstance(parts[1], str):
        return Atom(field, "endswith", norm(parts[1]), cased)
    if len(parts) == 2 and parts[1] == many and isinstance(parts[0], str):
        return Atom(field, "startswith", norm(parts[0]), cased)
    if len(parts) == 3 and parts[0] == many and parts[2] == many and isinstance(parts[1], str):
        return Atom(field, "contains", norm(parts[1]), cased)
    pattern = ""
    for p in parts:
        if p == many:
            pattern += "%"
        elif p == one:
            pattern += "_"
        else:
            assert isinstance(p, str)
            pattern += norm(p).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Atom(field, "like", pattern, cased)


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
