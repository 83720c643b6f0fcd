"""The workspace's events as partitioned Parquet: what Spark (or any engine) reads at scale.

Events stream out of DuckDB in Arrow batches into a Hive-partitioned dataset
(``event_day=YYYY-MM-DD/``), so memory stays bounded by one batch whatever the workspace
holds, and a cluster reads only the days a query needs. Columns and types are exactly the
``events`` table's (timestamps stay naive UTC); the partition column is added, not changed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from bluebench.errors import BluebenchError
from bluebench.schema import EVENT_COLUMN_NAMES, q

PARTITION_COLUMN = "event_day"
BATCH_ROWS = 100_000


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote: events, day partitions and files."""

    path: str
    events: int
    partitions: int
    files: int


def export_parquet(con: duckdb.DuckDBPyConnection, out: str | Path, overwrite: bool = False) -> ExportSummary:
    """Write every stored event under ``out`` as Parquet partitioned by day (UTC)."""
    target = Path(out)
    if target.exists() and any(target.iterdir()):
        if not overwrite:
            raise BluebenchError(f"{target}: folder is not empty; choose another or pass --overwrite")
        # Only an earlier export is replaced, never a folder holding anything else.
        if not all(c.is_dir() and c.name.startswith(f"{PARTITION_COLUMN}=") for c in target.iterdir()):
            raise BluebenchError(f"{target}: not an earlier event export; refusing to replace it")
        shutil.rmtree(target)
    cols = ", ".join(q(c) for c in EVENT_COLUMN_NAMES)
    # Ordered by time so each day's file holds its events in order (row groups prune well).
    reader: pa.RecordBatchReader = con.sql(
        f"""SELECT {cols}, CAST(CAST("@timestamp" AS DATE) AS VARCHAR) AS {PARTITION_COLUMN}
            FROM events ORDER BY "@timestamp", "event.id" """
    ).to_arrow_reader(BATCH_ROWS)
    count = 0

    def counted() -> Iterator[pa.RecordBatch]:
        nonlocal count
        for batch in reader:
            count += batch.num_rows
            yield batch

    ds.write_dataset(
        pa.RecordBatchReader.from_batches(reader.schema, counted()),
        target,
        format="parquet",
        partitioning=ds.partitioning(pa.schema([(PARTITION_COLUMN, pa.string())]), flavor="hive"),
        existing_data_behavior="error",
        max_rows_per_group=BATCH_ROWS,
    )
    files = sorted(target.rglob("*.parquet"))
    return ExportSummary(
        path=str(target), events=count, partitions=len({f.parent for f in files}), files=len(files)
    )
