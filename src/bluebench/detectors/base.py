"""The detector contract every detection follows, and the SQL helpers they share.

A detector is a stable id plus a query (after detect-secrets' plugins): ``score`` computes
candidate findings with a score in 0..1 (higher = more suspicious) over the stored events,
without changing anything; ``detect`` keeps the candidates at or above ``min_score``. The
threshold is a parameter like any other, so ``bluebench tune`` can move it without
touching the scoring.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from bluebench.detectors.calibration import Calibration, shipped_calibration
from bluebench.engines import Db, DuckDBEngine, Params, as_engine
from bluebench.schema import SEVERITIES, Alert
from bluebench.sources.limits import DEFAULT_LIMITS, Limits

# Actions a domain controller (or whatever validates the password) logs for an attempt; the
# host the logon was tried on logs its own 4625 for the same attempt.
VALIDATOR_ACTIONS = ("kerberos-preauth-failed", "ntlm-credential-validation", "kerberos-tgt-request")
# Addresses that mean "this same machine": a failure from one is the host's own, so its origin is the host.
LOOPBACK = ("127.0.0.1", "::1", "-", "localhost")

# Failed authentications, once each: a PAM "authentication failure" line is dropped when
# sshd logged its own "Failed password" line for the same host and process, since both
# describe the same attempt. Windows failures are logged twice per attempt, by the host tried
# (4625) and by the domain controller that checked the password (4771/4776/4768): ``side``
# says which ('host' or 'dc'), so counts of attempts can take the larger side instead of the
# sum. ``origin`` is where an attempt came from: the remote address, or the host itself when
# the address is a loopback one (a typo at the console is not 'from 127.0.0.1' on every host).
AUTH_FAILURES_VIEW = f"""
CREATE OR REPLACE TEMP VIEW auth_failures AS
SELECT *,
       CASE WHEN "event.action" IN ('{"', '".join(VALIDATOR_ACTIONS)}') THEN 'dc' ELSE 'host' END AS side,
       CASE WHEN lower(coalesce("source.ip", "source.address", '-')) IN ('{"', '".join(LOOPBACK)}')
            THEN lower(split_part("host.name", '.', 1))
            ELSE coalesce("source.ip", "source.address") END AS origin
FROM events e
WHERE "event.outcome" = 'failure'
  AND "event.action" IN ('logon-failed', 'kerberos-preauth-failed', 'ntlm-credential-validation',
                         'kerberos-tgt-request', 'pam-auth-failure', 'invalid-user')
  AND NOT ("event.action" = 'invalid-user' AND EXISTS (
        SELECT 1 FROM events s
        WHERE s."event.action" = 'logon-failed' AND s."host.name" = e."host.name"
          AND s."process.pid" = e."process.pid" AND s."event.dataset" = 'authlog'))
  AND NOT ("event.action" = 'pam-auth-failure' AND EXISTS (
        SELECT 1 FROM events s
        WHERE s."event.action" IN ('logon-failed', 'invalid-user') AND s."host.name" = e."host.name"
          AND s."process.pid" = e."process.pid" AND s."event.dataset" = 'authlog'))
"""

AUTH_SUCCESS_VIEW = """
CREATE OR REPLACE TEMP VIEW auth_successes AS
SELECT * FROM events
WHERE "event.outcome" = 'success' AND "event.action" IN ('logon', 'ntlm-credential-validation')
"""


def prepare_views(con: Db) -> None:
    """Create the shared views detectors query; cheap, so every run recreates them."""
    engine = as_engine(con)
    engine.execute(AUTH_FAILURES_VIEW)
    engine.execute(AUTH_SUCCESS_VIEW)


@dataclass
class _Scans:
    """The subsets of events that one detect run has materialised so far (see :func:`shared_scans`)."""

    engine: DuckDBEngine
    tables: dict[tuple[str, str], str] = field(default_factory=dict)  # (select, its bound values) -> table


_T = TypeVar("_T")

# The detect run in progress (None outside one, and then every detector reads the events itself).
_SCANS: ContextVar[_Scans | None] = ContextVar("bluebench_shared_scans", default=None)
SHARED_TABLE = "bluebench_shared_scan_{n}"  # table names are constants: nothing from the data


@contextmanager
def shared_scans(db: Db) -> Iterator[None]:
    """A detect run in which a subset of the events that several detectors read is selected once.

    The behaviour detectors each picked the same successful logons out of every event and worked
    out the same account keys (regular expressions over each row); within this block the first
    to ask stores that subset in a temporary table (:func:`shared_table`) that the others read.
    A detector run alone, or on an engine other than DuckDB, reads the events as before, to the
    same findings. The tables are dropped at the end, so a later run (new events) selects afresh.
    """
    engine = as_engine(db)
    if not isinstance(engine, DuckDBEngine):
        yield
        return
    run = _Scans(engine)
    with run_tables(engine, _SCANS, run, run.tables):
        yield


@contextmanager
def run_tables(
    engine: DuckDBEngine, var: ContextVar[_T | None], run: _T, tables: Mapping[Any, str]
) -> Iterator[None]:
    """``run`` is ``var`` within the block; the temporary tables it made (``tables``) are dropped
    at the end, even when a detector fails, so a later run (new events) makes them afresh."""
    token = var.set(run)
    try:
        yield
    finally:
        var.reset(token)
        for name in tables.values():
            engine.execute(f"DROP TABLE IF EXISTS {name}")


def shared_table(db: Db, select: str, params: Mapping[str, Any]) -> str | None:
    """The run's temporary table of ``select`` with ``params`` bound (made on the first ask), or
    None outside :func:`shared_scans` or on another connection than the run's."""
    run, engine = _SCANS.get(), as_engine(db)
    if run is None or not isinstance(engine, DuckDBEngine) or engine.con is not run.engine.con:
        return None
    bound = bound_params(select, params)
    key = (select, repr(sorted(bound.items())))
    if key not in run.tables:
        run.tables[key] = temp_table(run.engine, SHARED_TABLE.format(n=len(run.tables)), select, bound)
    return run.tables[key]


def temp_table(engine: DuckDBEngine, name: str, select: str, params: Mapping[str, Any]) -> str:
    """``name`` (a constant of the code) made afresh as a temporary table of ``select``'s rows."""
    engine.execute(f"DROP TABLE IF EXISTS {name}")
    engine.con.execute(f"CREATE TEMP TABLE {name} AS {select}", dict(params))
    return name


def bound_params(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The named parameters ``sql`` has a ``$name`` marker for: DuckDB refuses values it was not asked for."""
    return {k: v for k, v in params.items() if re.search(rf"\${re.escape(k)}\b", sql)}


def saturating(value: float, half: float) -> float:
    """Map a count onto 0..1: ``half`` gives 0.5, twice it 0.75; more is always higher."""
    if value <= 0 or half <= 0:
        return 0.0
    return 1.0 - math.pow(0.5, value / half)


@dataclass
class Finding:
    """A scored candidate, before the threshold decides whether it becomes an alert."""

    score: float
    entities: dict[str, str]
    first_seen: datetime
    last_seen: datetime
    event_ids: list[str]
    reasons: list[str]
    severity: str | None = None
    techniques: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: A rule-driven detector (Sigma) names each finding after its rule and its tactics.
    title: str | None = None
    tactics: list[str] | None = None
    #: Events matched, when more matched than are cited (Sigma keeps the first few as evidence).
    matched: int | None = None


class Detector(ABC):
    """Base class: parameters in ``__init__``, read-only ``score``, deciding ``detect``."""

    #: Stable identity: stored alerts and verdicts refer to it; renaming orphans them.
    id: ClassVar[str]
    title: ClassVar[str]
    #: How a sentence names this detector's step ("password spraying", "a cleared log"):
    #: incident titles, timelines and the drill's subject binding read it.
    phrase: ClassVar[str]
    tactics: ClassVar[tuple[str, ...]]
    techniques: ClassVar[tuple[str, ...]]
    severity: ClassVar[str]
    description: ClassVar[str] = ""
    #: Each finding carries its own rule's title, level and ATT&CK ids (Sigma): the class
    #: declares none, and evaluation shows it only where it alerted.
    rule_driven: ClassVar[bool] = False
    #: False when its SQL uses what only DuckDB has (time-window passes over flows): on Spark it
    #: is not run, says so, and its stored alerts are kept.
    spark_ready: ClassVar[bool] = True
    #: Defaults for every parameter; the config file may override any of them.
    defaults: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.defaults) - {"min_score", "enabled"}
        if unknown:
            raise ValueError(f"{self.id}: unknown parameters {sorted(unknown)}")
        self.params: dict[str, Any] = {"min_score": 0.0, "enabled": True, **self.defaults, **params}
        #: How much of a file the detector may read (a model): the config's ``[limits]``.
        self.limits: Limits = DEFAULT_LIMITS
        #: What a user should know about the last run (a model missing, rules not loaded).
        self.notes: list[str] = []

    @property
    def configured(self) -> bool:
        """Whether the detector has what it needs to run; one that has not keeps its stored alerts."""
        return True

    @property
    def min_score(self) -> float:
        """The decision threshold on the score, 0 (keep all) unless tuned or configured."""
        return float(self.params["min_score"])

    @abstractmethod
    def score(self, con: Db) -> Iterable[Finding]:
        """Candidate findings with scores; reads events, changes nothing."""

    def detect(self, con: Db) -> list[Alert]:
        """Alerts for the findings whose score reaches ``min_score``."""
        alerts = []
        for f in self.score(con):
            if not self.reaches(f.score):
                continue
            score = stored_score(f.score)
            alerts.append(
                Alert(
                    detector=self.id,
                    title=f.title or self.title,
                    severity=f.severity or self.severity,
                    score=score,
                    tactics=list(self.tactics if f.tactics is None else f.tactics),
                    techniques=list(f.techniques or self.techniques),
                    entities={k: v for k, v in f.entities.items() if v},
                    first_seen=f.first_seen,
                    last_seen=f.last_seen,
                    event_count=len(f.event_ids) if f.matched is None else f.matched,
                    reasons=f.reasons,
                    event_ids=f.event_ids,
                    confidence=self.calibration().confidence(self.id, score),
                )
            )
        return alerts

    def reaches(self, score: float) -> bool:
        """Whether a score reaches ``min_score``: a detector that fetches evidence only for kept findings asks this."""
        # The stored score is rounded; deciding on that same value keeps tune's thresholds exact.
        return stored_score(score) >= self.min_score

    def calibration(self) -> Calibration:
        """Where this detector's alerts get their confidence: the measured, shipped calibration."""
        return shipped_calibration()

    def rows(self, con: Db, sql: str, params: Params = None) -> list[dict[str, Any]]:
        """Run a detector query on its engine and return rows as dicts (few rows: one per finding).

        ``params`` are positional for ``?`` markers or named for ``$name`` markers.
        """
        return as_engine(con).rows(sql, params or [])

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "severity", None) is not None and cls.severity not in SEVERITIES:
            raise TypeError(f"{cls.__name__}: unknown severity {cls.severity!r}")


def stored_score(score: float) -> float:
    """A score as alerts store it: clipped to 0..1 and rounded to 4 places."""
    return round(min(max(score, 0.0), 1.0), 4)


def duration(first: datetime, last: datetime) -> str:
    """A span as a person says it: '45 s', '3 min', '2.5 h', '4 days'."""
    s = max((last - first).total_seconds(), 0.0)
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 account', '3 accounts'."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def top_list(values: list[Any], counts: list[Any] | None = None, limit: int = 3) -> str:
    """'10.0.0.1 (12), 10.0.0.2 (3) and 4 more', most frequent first."""
    items = (
        [f"{v} ({c})" for v, c in zip(values, counts, strict=True)] if counts else [str(v) for v in values]
    )
    head = ", ".join(items[:limit])
    rest = len(items) - limit
    return head + (f" and {rest} more" if rest > 0 else "")
