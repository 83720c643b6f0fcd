"""pySigma's condition tree -> the IR of ``ir``: the only module that reads pySigma's value types.

Kept apart from ``ir`` so that loading compiled rules from the cache (``cache``) never
imports pySigma, whose import alone costs more than reading the whole cache.
"""

from __future__ import annotations

import re
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

from bluebench.sigma.ir import KEYWORD_FIELD, And, Atom, CompileError, Node, Not, Or


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
