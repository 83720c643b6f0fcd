"""What a user must know about the data before trusting any result computed from it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from bluebench.events.normalize import WINDOWS_ACTIONS

#: No log bluebench reads was written before this: an earlier date is a clock that was never set
#: (counting from 1970) or a capture's times relative to its start (Argus without absolute times).
EPOCH_DATED_BEFORE = datetime(1990, 1, 1)


@dataclass
class QualityReport:
    """Counts of the problems that distort detections, and the time span covered."""

    events: int
    first: datetime | None
    last: datetime | None
    no_timestamp: int
    no_user: int
    future: int
    out_of_order: int
    duplicates: int
    unknown_codes: int
    skipped_records: int
    repaired_records: int
    skipped_files: int = 0
    epoch_dated: int = 0
    by_dataset: dict[str, int] = field(default_factory=dict)
    top_unknown_codes: list[tuple[str, int]] = field(default_factory=list)

    def findings(self) -> list[str]:
        """Sentences for the problems found, empty when the data looks sound."""
        out = []
        if self.no_timestamp:
            out.append(
                f"{self.no_timestamp} events have no readable timestamp and are ignored by time windows"
            )
        if self.no_user:
            out.append(f"{self.no_user} authentication events name no user")
        if self.future:
            out.append(f"{self.future} events are dated in the future: check the source clock or time zone")
        if self.epoch_dated:
            out.append(
                f"{self.epoch_dated} events are dated before {EPOCH_DATED_BEFORE:%Y}: a clock never set, or times "
                "counted from the start of a capture (hour-of-day and per-day baselines mean nothing for them)"
            )
        if self.out_of_order:
            out.append(
                f"{self.out_of_order} events are earlier than the record before them in the same file (clock jumps or merged logs)"
            )
        if self.duplicates:
            out.append(f"{self.duplicates} events repeat an identical record of the same file")
        if self.unknown_codes:
            codes = ", ".join(f"{c} ({n})" for c, n in self.top_unknown_codes)
            out.append(
                f"{self.unknown_codes} events have codes no built-in detector reads; most common: {codes}"
            )
        if self.skipped_files:
            out.append(
                f"{self.skipped_files} files could not be read at all and were skipped "
                "(not a log format, empty, or failed; see `bluebench ingest` output)"
            )
        if self.skipped_records:
            out.append(
                f"{self.skipped_records} records could not be read and were skipped (see `bluebench ingest` output)"
            )
        if self.repaired_records:
            out.append(
                f"{self.repaired_records} records had invalid UTF-8 and were kept with replacement characters"
            )
        return out

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form for ``--json`` and stored reports."""
        d = asdict(self)
        d["first"] = self.first.isoformat() + "Z" if self.first else None
        d["last"] = self.last.isoformat() + "Z" if self.last else None
        d["findings"] = self.findings()
        return d


# A file not read at all counts once as a file, never as records; a skip seen again (a rescan
# of the same folder in a workspace made before skips were kept once) counts once.
SKIPPED_SQL = """SELECT count(DISTINCT (file, record, reason)) FILTER (WHERE unit <> 'file' AND NOT kept),
                        count(DISTINCT (file, record, reason)) FILTER (WHERE unit <> 'file' AND kept),
                        count(DISTINCT file) FILTER (WHERE unit = 'file')
                 FROM skipped"""
# A workspace made before skips had units, opened read-only (a writer adds them on opening).
SKIPPED_SQL_BEFORE_UNITS = """SELECT count(DISTINCT (file, record, reason)) FILTER (WHERE NOT kept),
                                     count(DISTINCT (file, record, reason)) FILTER (WHERE kept), 0
                              FROM skipped"""


def _has_units(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute(
        "SELECT 1 FROM duckdb_columns() WHERE table_name = 'skipped' AND column_name = 'unit'"
    ).fetchall()
    return bool(rows)


#: Records per block of a file in :data:`OUT_OF_ORDER_SQL`.
OUT_OF_ORDER_BLOCK = 65_536
# Events dated earlier than the record before them in the same file (EVTX aside: its records are
# written out of time order by design). A window over a whole file is one sort on one thread, so
# each file is cut into blocks of $block record numbers, each block compared within itself on
# its own thread, and the first record of each block compared with the last of the block before
# (the previous block that holds any): the same pairs as one window over the file.
OUT_OF_ORDER_SQL = """
WITH e AS (
    SELECT "log.file.path" AS f, "log.record" AS r, "@timestamp" AS ts, "log.record" // $block AS b
    FROM events WHERE "event.dataset" <> 'evtx'
),
inside AS (
    SELECT count(*) FILTER (WHERE ts < prev) AS n
    FROM (SELECT ts, lag(ts) OVER (PARTITION BY f, b ORDER BY r) AS prev FROM e)
),
edges AS (SELECT f, b, arg_min_null(ts, r) AS first_ts, arg_max_null(ts, r) AS last_ts FROM e GROUP BY f, b),
across AS (
    SELECT count(*) FILTER (WHERE first_ts < prev_last) AS n
    FROM (SELECT first_ts, lag(last_ts) OVER (PARTITION BY f ORDER BY b) AS prev_last FROM edges)
)
SELECT (SELECT n FROM inside) + (SELECT n FROM across)
"""


def out_of_order(con: duckdb.DuckDBPyConnection, block: int = OUT_OF_ORDER_BLOCK) -> int:
    """Events dated earlier than the record before them in the same file (see :data:`OUT_OF_ORDER_SQL`)."""
    return int(con.execute(OUT_OF_ORDER_SQL, {"block": int(block)}).fetchall()[0][0])


def quality_report(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> QualityReport:
    """Compute the report in a few vectorised queries over the whole workspace."""
    known = [*WINDOWS_ACTIONS, "104", "7045"]
    row = con.execute(
        """SELECT count(*), min("@timestamp"), max("@timestamp"),
                  count(*) FILTER (WHERE "@timestamp" IS NULL),
                  count(*) FILTER (WHERE "event.category" = 'authentication' AND "user.name" IS NULL),
                  count(*) FILTER (WHERE "@timestamp" > coalesce(?::TIMESTAMP, now()::TIMESTAMP) + INTERVAL 1 DAY),
                  count(*) FILTER (WHERE "event.code" IS NOT NULL AND NOT list_contains(?, "event.code")
                                    AND "event.action" IS NULL),
                  count(*) FILTER (WHERE "@timestamp" < ?::TIMESTAMP)
           FROM events""",
        [now, known, EPOCH_DATED_BEFORE],
    ).fetchall()[0]
    ooo = out_of_order(con)
    dups = con.execute(
        """SELECT coalesce(sum(n - 1), 0) FROM (
             SELECT count(*) AS n FROM events GROUP BY "log.file.path", hash("event.original") HAVING count(*) > 1)"""
    ).fetchall()[0][0]
    skipped = con.execute(SKIPPED_SQL if _has_units(con) else SKIPPED_SQL_BEFORE_UNITS).fetchall()[0]
    by_dataset = dict(
        con.execute('SELECT "event.dataset", count(*) FROM events GROUP BY 1 ORDER BY 2 DESC').fetchall()
    )
    top_unknown = con.execute(
        """SELECT "event.code", count(*) FROM events
           WHERE "event.code" IS NOT NULL AND NOT list_contains(?, "event.code") AND "event.action" IS NULL
           GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5""",
        [known],
    ).fetchall()
    return QualityReport(
        events=row[0],
        first=row[1],
        last=row[2],
        no_timestamp=row[3],
        no_user=row[4],
        future=row[5],
        out_of_order=int(ooo),
        duplicates=int(dups),
        unknown_codes=row[6],
        skipped_records=int(skipped[0]),
        repaired_records=int(skipped[1]),
        skipped_files=int(skipped[2]),
        epoch_dated=row[7],
        by_dataset={str(k): int(v) for k, v in by_dataset.items()},
        top_unknown_codes=[(str(c), int(n)) for c, n in top_unknown],
    )
