"""Sigma correlation rules over the matches of the rules they reference.

Windows are anchored at each event of a group in time order: the window holds the events
within ``timespan`` after the anchor. When the condition holds, the window is one hit and
the next anchor is the first event after it; otherwise the next event anchors. For "at
least" conditions this finds every burst a sliding window finds, with one hit per burst.
Events further apart than the timespan are never counted together (the published DuckDB
backend ignores the timespan; the tests check this).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from bluebench.sigma.match import RuleMatches
from bluebench.sigma.rules import CompiledCorrelation

OPS: dict[str, Callable[[float, float], bool]] = {
    "gte": operator.ge,
    "gt": operator.gt,
    "lte": operator.le,
    "lt": operator.lt,
    "eq": operator.eq,
    "neq": operator.ne,
}


@dataclass
class CorrelationHit:
    """One group and window where a correlation's condition held."""

    correlation: CompiledCorrelation
    group: dict[str, str | None]
    first: float
    last: float
    count: int  # events in the window
    measure: float  # what the condition compared: events, distinct values or rules
    rules: list[str]


def correlate(corr: CompiledCorrelation, matches: dict[str, RuleMatches]) -> list[CorrelationHit]:
    """Every hit of one correlation rule."""
    events: dict[tuple[str | None, ...], list[tuple[float, str, str | None]]] = {}
    for rid in corr.rules:
        rm = matches.get(rid)
        if rm is None:
            continue
        for t, key, value in rm.keys:
            events.setdefault(key, []).append((t, rid, value))
    hits: list[CorrelationHit] = []
    test = OPS[corr.op]
    for key, evs in sorted(events.items(), key=lambda kv: [str(k) for k in kv[0]]):
        evs.sort(key=lambda e: (e[0], corr.rules.index(e[1])))
        i, n = 0, len(evs)
        while i < n:
            j = i
            while j + 1 < n and evs[j + 1][0] - evs[i][0] <= corr.timespan_s:
                j += 1
            window = evs[i : j + 1]
            measure = _measure(corr, window)
            if test(measure, corr.count):
                hits.append(
                    CorrelationHit(
                        corr,
                        dict(zip(corr.group_by, key, strict=True)),
                        window[0][0],
                        window[-1][0],
                        len(window),
                        measure,
                        sorted({e[1] for e in window}, key=corr.rules.index),
                    )
                )
                i = j + 1
            else:
                i += 1
    return hits


def _measure(corr: CompiledCorrelation, window: list[tuple[float, str, str | None]]) -> float:
    if corr.type == "event_count":
        return float(len(window))
    if corr.type == "value_count":
        return float(len({e[2] for e in window if e[2] is not None}))
    if corr.type == "temporal":
        return float(len({e[1] for e in window}))
    # temporal_ordered: how many of the rules occur in the given order within the window
    k = 0
    for _, rid, _ in window:
        if k < len(corr.rules) and rid == corr.rules[k]:
            k += 1
    return float(k)
