"""Where events are stored: one table with every column, one narrow table for network records.

DuckDB's cost of storing a row grows with its columns whether they hold values or NULLs, and
a Zeek conn record fills about a quarter of the event columns: storing the rest as NULLs was
about a third of its INSERT (``bench/netflow_ingest_cost.py`` measures both layouts). Network
records (Zeek, Argus) therefore go to ``flow_store``, which holds only the columns a network
log fills (``netflow.FLOW_COLUMNS``); every other record goes to
``event_store``. The view ``events`` is both, every column in schema order, so every stage
reads one table as before; DuckDB pushes a query's filters and columns into each side.

A workspace made before has its ``events`` table renamed ``event_store`` on the first open
for writing; its rows stay where they are. Table names are constants of this module.
"""

from __future__ import annotations

import duckdb

from bluebench.events.eventdata import NETWORK_SHAPES
from bluebench.events.netflow import FLOW_ALIASES, FLOW_COLUMNS
from bluebench.schema import EVENT_COLUMN_NAMES, EVENT_COLUMNS, q

EVENT_STORE = "event_store"
FLOW_STORE = "flow_store"
#: Shapes stored in ``flow_store``: their normalization fills ``FLOW_COLUMNS`` alone.
FLOW_SHAPES = NETWORK_SHAPES

# Event columns from this index on came after the first release of the schema: an older
# workspace gains them on open.
ADDED_FROM = EVENT_COLUMN_NAMES.index("event.original") + 1

# The raw record and the EventData are most of the bytes stored: zstd compresses them ~20x
# and costs a third of what DuckDB's default string compression costs on insert.
COMPRESSION = {"event.original": "zstd", "winlog.event_data": "zstd"}


def column_sql(name: str, typ: str) -> str:
    """A column's DDL as the workspace makes it (with its compression, if it has one)."""
    return f"{q(name)} {typ}" + (f" USING COMPRESSION {COMPRESSION[name]}" if name in COMPRESSION else "")


_FLOW = {c for c, _, _ in FLOW_COLUMNS}


def _flow_column(name: str, typ: str) -> str:
    """The flow table's value of event column ``name``: its own, its alias's, or a typed NULL."""
    if name in _FLOW:
        return q(name)
    if name in FLOW_ALIASES:
        return f"{q(FLOW_ALIASES[name])} AS {q(name)}"
    return f"CAST(NULL AS {typ}) AS {q(name)}"


#: Every event column of both tables, the flow table's missing ones as typed NULLs.
VIEW_SQL = (
    "CREATE OR REPLACE VIEW events AS SELECT "
    + ", ".join(q(c) for c in EVENT_COLUMN_NAMES)
    + f" FROM {EVENT_STORE} UNION ALL SELECT "
    + ", ".join(_flow_column(c, t) for c, t, _ in EVENT_COLUMNS)
    + f" FROM {FLOW_STORE}"
)
#: Tables, the columns a workspace made before gains (in schema order, so that positional
#: inserts into ``event_store`` still line up), then the view over both.
SCHEMA_SQL = [
    f"CREATE TABLE IF NOT EXISTS {EVENT_STORE} ("
    + ", ".join(column_sql(c, t) for c, t, _ in EVENT_COLUMNS)
    + ")",
    *(
        f"ALTER TABLE {EVENT_STORE} ADD COLUMN IF NOT EXISTS {q(c)} {t}"
        for c, t, _ in EVENT_COLUMNS[ADDED_FROM:]
    ),
    f"CREATE TABLE IF NOT EXISTS {FLOW_STORE} ("
    + ", ".join(column_sql(c, t) for c, t, _ in FLOW_COLUMNS)
    + ")",
    *(f"ALTER TABLE {FLOW_STORE} ADD COLUMN IF NOT EXISTS {q(c)} {t}" for c, t, _ in FLOW_COLUMNS),
    VIEW_SQL,
]

_BASE_TABLE_SQL = (
    "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ? AND NOT temporary"
)
_COLUMNS_SQL = (
    f"SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = '{EVENT_STORE}'"
)


def upgrade(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Rename a workspace's ``events`` table (made before this layout) to ``event_store``.

    Returns the columns ``event_store`` holds (none for a new workspace), so the caller knows
    which columns the schema is about to add. Run inside the caller's transaction.
    """
    if con.execute(_BASE_TABLE_SQL, ["events"]).fetchone() == (1,):
        con.execute(f"ALTER TABLE events RENAME TO {EVENT_STORE}")
    return [r[0] for r in con.execute(_COLUMNS_SQL).fetchall()]


def store_for(shape: str) -> str:
    """The table a batch of ``shape`` is stored in."""
    return FLOW_STORE if shape in FLOW_SHAPES else EVENT_STORE


def insert_sql(shape: str, select: str) -> str:
    """INSERT of ``select`` (a shape's normalization, its columns in storage order) into its table.

    A network shape's columns are matched by name: a flow table made before a column joined
    ``FLOW_COLUMNS`` gained it at the end.
    """
    if store_for(shape) == FLOW_STORE:
        return f"INSERT INTO {FLOW_STORE} BY NAME {select}"
    return f"INSERT INTO {EVENT_STORE} {select}"
