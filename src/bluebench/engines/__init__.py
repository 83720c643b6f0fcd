"""Where detector SQL runs: DuckDB on one machine, or Spark when the data outgrows it.

Every detector writes its SQL once, in DuckDB's dialect, and asks an :class:`Engine` for
rows. :class:`DuckDBEngine` runs the text as written; ``bluebench.engines.spark`` transpiles
it with sqlglot to Spark SQL (PySpark is an optional extra, imported only there). The Python
that turns rows into findings is shared, so both engines give the same alerts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeAlias, runtime_checkable

import duckdb
import numpy as np

from bluebench.schema import Alert

#: Query parameters: positional for ``?`` markers, named for ``$name`` markers (DuckDB's styles).
Params: TypeAlias = Sequence[Any] | Mapping[str, Any] | None


@runtime_checkable
class Engine(Protocol):
    """Runs DuckDB-dialect SQL over an ``events`` table and returns plain Python values."""

    name: str

    def execute(self, statement: str) -> None:
        """Run a statement that returns nothing (the shared views detectors query)."""

    def rows(self, query: str, params: Params = None) -> list[dict[str, Any]]:
        """Rows as dicts: maps as dict, lists as list, timestamps as naive UTC datetimes."""

    def columns(self, query: str, params: Params = None) -> dict[str, np.ndarray[Any, Any]]:
        """Whole columns as numpy arrays, for feature tables that go to a model."""


class DuckDBEngine:
    """The workspace's own DuckDB connection: SQL runs exactly as the detectors wrote it."""

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def execute(self, statement: str) -> None:
        """Run a statement that returns nothing."""
        self.con.execute(statement)

    def rows(self, query: str, params: Params = None) -> list[dict[str, Any]]:
        """Rows as dicts (few rows: one per finding or candidate)."""
        cur = self.con.execute(query, _duck_params(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def columns(self, query: str, params: Params = None) -> dict[str, np.ndarray[Any, Any]]:
        """Columns as numpy arrays (DuckDB's own conversion)."""
        out: dict[str, np.ndarray[Any, Any]] = self.con.execute(query, _duck_params(params)).fetchnumpy()
        return out


def _duck_params(params: Params) -> Any:
    if params is None:
        return []
    return dict(params) if isinstance(params, Mapping) else list(params)


#: What a detector reads from: an engine, or a DuckDB connection (wrapped on use).
Db: TypeAlias = Engine | duckdb.DuckDBPyConnection


def as_engine(db: Db) -> Engine:
    """The engine behind ``db``: a bare DuckDB connection runs through :class:`DuckDBEngine`."""
    if isinstance(db, duckdb.DuckDBPyConnection):
        return DuckDBEngine(db)
    return db


def parity_key(a: Alert) -> tuple[Any, ...]:
    """What two engines must agree on for an alert (scores are compared apart, within a tolerance)."""
    return (
        a.id,
        a.severity,
        a.techniques,
        sorted(a.entities.items()),
        a.first_seen,
        a.last_seen,
        a.reasons,
        a.event_ids,
    )


__all__ = ["Db", "DuckDBEngine", "Engine", "Params", "as_engine", "parity_key"]
