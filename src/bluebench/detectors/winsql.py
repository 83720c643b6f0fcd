"""SQL pieces the detectors share: gap-based grouping, EventData fields, scoring.

Everything here returns SQL text built only from constants the detectors define; values
from events never become SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bluebench.detectors.base import Finding
from bluebench.schema import EVENT_DATA_FIELDS, EVENT_DATA_PREFIX, q

# Process-creation events with a command line (Security 4688, Sysmon 1).
PROCESS_EVENTS = """"event.action" = 'process-created' AND "process.command_line" IS NOT NULL"""
# Prefixes and suffixes that make a person's separate admin account (adm-alice, alice_adm, ...).
ADMIN_AFFIX_RE = re.compile(r"^(adm|admin|a|da|sa|t[0-2])[-_.]|[-_.](adm|admin|a|da|t[0-2])$", re.IGNORECASE)


def same_person(a: str, b: str) -> bool:
    """Whether two account names are one person's: equal, or one is the other's admin account."""
    a, b = (x.lower().split("\\")[-1].split("@")[0] for x in (a, b))
    return a == b or ADMIN_AFFIX_RE.sub("", a) == ADMIN_AFFIX_RE.sub("", b)


def ed(field: str, of: str = "") -> str:
    """One EventData field (a constant name) as text, with Windows' '-' and '' as NULL; ``of``: a table alias.

    A promoted field (``EVENT_DATA_FIELDS``) is its own column, filled at ingest: no JSON is
    parsed at query time. Any other field is read from the JSON, the same way.
    """
    prefix = f"{of}." if of else ""
    if field in EVENT_DATA_FIELDS:
        return prefix + q(EVENT_DATA_PREFIX + field)
    return f"nullif(nullif(trim(json_extract_string({prefix}\"winlog.event_data\", '$.{field}')), '-'), '')"


def sql_list(values: Iterable[str]) -> str:
    """A SQL list literal of constants the code defines (never of event data)."""
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def remote_source(column: str = '"source.ip"') -> str:
    """True when an address is present and is not this host's loopback."""
    return f"({column} IS NOT NULL AND {column} NOT IN ('127.0.0.1', '::1', '-', ''))"


def short_name(expr: str) -> str:
    """An account or host name reduced to compare across events: lower case, no realm, no domain."""
    return f"lower(regexp_replace(regexp_replace({expr}, '@.*$', ''), '^.*\\\\', ''))"


def grouped(signals: str, key: str) -> str:
    """Gap-based groups over ``signals`` (columns ``ts``, ``eid`` and those ``key`` uses).

    Signals of one key belong to one group while each follows the previous within the gap,
    bound as the first query parameter (minutes). Adds columns ``gk`` and ``grp``.
    """
    return f"""
    WITH s AS ({signals}),
    keyed AS (SELECT *, {key} AS gk FROM s WHERE ts IS NOT NULL),
    lagged AS (SELECT *, lag(ts) OVER (PARTITION BY gk ORDER BY ts, eid) AS prev FROM keyed),
    g AS (
        SELECT *, sum(CASE WHEN prev IS NULL OR ts - prev > to_minutes(CAST(? AS BIGINT)) THEN 1 ELSE 0 END)
                  OVER (PARTITION BY gk ORDER BY ts, eid) AS grp
        FROM lagged
    )
    """


def with_days(signals: str, keys: str) -> str:
    """``signals`` with a ``days`` column: on how many distinct days its ``keys`` occur in the data.

    A pattern seen on many days (a nightly backup, a legacy client) is routine for this
    environment; detectors use it to leave such patterns out. Signals need ``ts`` and ``keys``.
    """
    return f"""
        SELECT x.*, d.days FROM ({signals}) x
        JOIN (SELECT {keys}, count(DISTINCT CAST(ts AS DATE)) AS days FROM ({signals}) GROUP BY ALL) d
        USING ({keys})
    """


def combine(scores: Iterable[float]) -> float:
    """Independent signals raise the score together: 1 - prod(1 - s), within 0..1."""
    rest = 1.0
    for s in scores:
        rest *= 1.0 - min(max(s, 0.0), 1.0)
    return 1.0 - rest


def severity_for(score: float) -> str:
    """The severity a person expects from a score: high from 0.8, medium from 0.45."""
    score = round(score, 6)
    if score >= 0.8:
        return "high"
    if score >= 0.45:
        return "medium"
    return "low"


def uniq(values: Iterable[Any] | None) -> list[Any]:
    """Distinct non-empty values in first-seen order (a SQL NULL list is empty)."""
    out: list[Any] = []
    for v in values or ():
        if v not in (None, "") and v not in out:
            out.append(v)
    return out


@dataclass
class Tally:
    """What one finding collects signal by signal, so each reason can live in its own helper."""

    scores: list[float] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)

    def add(self, score: float | None, reason: str | None, *techniques: str) -> None:
        """Record a signal; a reason without a score explains, a score without one adds weight."""
        if score is not None:
            self.scores.append(score)
        if reason is not None:
            self.reasons.append(reason)
        self.techniques.extend(techniques)

    def finding(self, row: Mapping[str, Any], entities: dict[str, str], event_ids: list[str]) -> Finding:
        """The finding over a grouped row's span (``first``, ``last``); no technique keeps the detector's."""
        score = combine(self.scores)
        return Finding(
            score=score,
            entities=entities,
            first_seen=row["first"],
            last_seen=row["last"],
            event_ids=event_ids,
            reasons=self.reasons,
            severity=severity_for(score),
            techniques=uniq(self.techniques) if self.techniques else None,
        )


def when(ts: datetime) -> str:
    """A timestamp as reasons show it: to the second, UTC."""
    return ts.strftime("%Y-%m-%d %H:%M:%S UTC")


def names(values: Sequence[Any] | None, limit: int = 4, width: int = 60) -> str:
    """'a, b, c and 2 more' for reasons; each value cut to ``width`` characters; NULLs left out."""
    items = [
        s if len(s := str(v)) <= width else s[: width - 3] + "..." for v in values or () if v is not None
    ]
    head = ", ".join(items[:limit])
    return head + (f" and {len(items) - limit} more" if len(items) > limit else "")
