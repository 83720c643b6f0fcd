"""The embedded DuckDB workspace: events, ingested files, skipped records, alerts.

Each input file is ingested in its own transaction, or with others in one (small files, and
files DuckDB reads itself) that is retried file by file when it fails, so a failure part-way
through a file leaves the workspace exactly as it was before that file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from bluebench.errors import BluebenchError, InputError
from bluebench.events import direct, storage
from bluebench.events.direct import fingerprint_and_lines
from bluebench.events.eventdata import NETWORK_SHAPES, event_data_fields_sql
from bluebench.events.lock import WorkspaceLock, busy_from_duckdb
from bluebench.events.normalize import SOURCES_VARIABLE, normalize_sql, unstored_sql
from bluebench.schema import EVENT_DATA_FIELDS, EVENT_DATA_PREFIX, q
from bluebench.sources import InputFile, RawBatch, Reader, ReadOptions, Skipped, detect_reader

DB_NAME = "bluebench.duckdb"
SMALL_FILE_BYTES = 16 * 1024 * 1024
GROUP_ROWS = 100_000
GROUP_FILES = 500
JSON_SHAPES = ("evtx", "winlogbeat", "otrf", "mapped-jsonl", "zeek-json")
DEFAULT_WORKSPACE = ".bluebench"
FILE_UNIT, RECORD_UNIT = "file", "record"  # what a row of ``skipped`` stands for

SCHEMA_SQL = [
    *storage.SCHEMA_SQL,
    """CREATE TABLE IF NOT EXISTS files (
        fingerprint VARCHAR, path VARCHAR, reader VARCHAR, size BIGINT,
        events BIGINT, skipped BIGINT, ingested_at TIMESTAMP, duplicate_of VARCHAR,
        location VARCHAR, PRIMARY KEY (fingerprint, path))""",
    # Where each file was read (its absolute path), so labels can find it from any folder;
    # workspaces made before it was kept gain the column empty.
    "ALTER TABLE files ADD COLUMN IF NOT EXISTS location VARCHAR",
    """CREATE TABLE IF NOT EXISTS skipped (
        file VARCHAR, record BIGINT, reason VARCHAR, kept BOOLEAN, logged_at TIMESTAMP,
        fingerprint VARCHAR, unit VARCHAR)""",
    # Skips are kept per file fingerprint (a rescan adds none again) and as a whole file or
    # a record; workspaces made before gain the columns, their file skips told by the reasons
    # ingest gave them.
    "ALTER TABLE skipped ADD COLUMN IF NOT EXISTS fingerprint VARCHAR",
    "ALTER TABLE skipped ADD COLUMN IF NOT EXISTS unit VARCHAR",
    f"""UPDATE skipped SET unit = CASE WHEN record IS NULL AND (reason LIKE 'file not ingested:%'
        OR reason LIKE 'not a recognised log format%' OR reason IN ('empty file', 'no such file'))
        THEN '{FILE_UNIT}' ELSE '{RECORD_UNIT}' END WHERE unit IS NULL""",
    """CREATE TABLE IF NOT EXISTS alerts (
        id VARCHAR PRIMARY KEY, detector VARCHAR, title VARCHAR, severity VARCHAR, score DOUBLE,
        tactics VARCHAR[], techniques VARCHAR[], entities JSON, first_seen TIMESTAMP,
        last_seen TIMESTAMP, event_count BIGINT, reasons VARCHAR[], created_at TIMESTAMP)""",
    "CREATE TABLE IF NOT EXISTS alert_events (alert_id VARCHAR, event_id VARCHAR)",
    # The calibrated confidence of each alert; workspaces made before it was kept gain it empty.
    "ALTER TABLE alerts ADD COLUMN IF NOT EXISTS confidence DOUBLE",
    # Promoted EventData columns a workspace gained empty and that are still to be filled.
    "CREATE TABLE IF NOT EXISTS events_to_fill (name VARCHAR)",
]


@dataclass
class FileResult:
    """What happened to one input file."""

    file: str
    reader: str | None
    events: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    status: str = "ingested"  # ingested | duplicate | failed | unrecognised
    error: str | None = None


@dataclass
class _Pending:
    """A file checked and fingerprinted, waiting to be stored."""

    file: InputFile
    result: FileResult
    reader: Reader | None
    digest: str
    size: int
    batches: list[RawBatch] = field(default_factory=list)
    lines: int = 0  # LF-separated lines, counted while fingerprinting (for the direct path)


@dataclass
class IngestSummary:
    """Totals of one ingest run; ``skipped_records`` counts records dropped, not repaired."""

    files: list[FileResult] = field(default_factory=list)

    @property
    def events(self) -> int:
        return sum(f.events for f in self.files)

    @property
    def skipped_records(self) -> int:
        return sum(1 for f in self.files for s in f.skipped if not s.kept)

    @property
    def repaired_records(self) -> int:
        return sum(1 for f in self.files for s in f.skipped if s.kept)

    @property
    def had_problems(self) -> bool:
        """True when any input was skipped, failed or unrecognised (exit code 1)."""
        return self.skipped_records > 0 or any(f.status in ("failed", "unrecognised") for f in self.files)


def fingerprint(path: Path) -> str:
    """Content hash of a file: the same bytes under another name are the same input.

    SHA-256, which CPUs with SHA extensions compute about twice as fast as BLAKE2b; every
    input byte passes through it once, so it is a visible share of ingest time.
    """
    return fingerprint_and_lines(path)[0]


class Workspace:
    """A folder holding one DuckDB database; every stage reads and writes through it."""

    def __init__(
        self,
        folder: str | Path = DEFAULT_WORKSPACE,
        memory_limit: str = "1GB",
        temp_limit: str = "10GB",
        *,
        read_only: bool = False,
        command: str = "bluebench",
    ) -> None:
        """Open (a writer creates) the workspace; ``command`` names this user in a refusal to others.

        A writer holds the workspace alone; readers share it. Either is refused at once, with
        WorkspaceBusy naming the holder, when the other kind holds it.
        """
        self.folder = Path(folder)
        self.read_only = read_only
        if not read_only:
            self.folder.mkdir(parents=True, exist_ok=True)
        elif not (self.folder / DB_NAME).is_file():
            raise BluebenchError(
                f"{self.folder}: no bluebench workspace here (run `bluebench scan PATH -w {self.folder}` first)"
            )
        self._lock = WorkspaceLock(self.folder, command, write=not read_only)
        self._lock.acquire()
        try:
            self.con = connect(self.folder, read_only)
            self._configure(memory_limit, temp_limit)
        except BaseException:
            self._lock.release()
            raise
        self._files_cache: tuple[dict[str, str], set[str]] | None = None

    def _configure(self, memory_limit: str, temp_limit: str) -> None:
        self._memory_limit = _checked_size(memory_limit)
        # What DuckDB may use while it reads several parts of a direct group at once.
        self._parts_memory = int(_size_bytes(memory_limit) * direct.PARALLEL_MEMORY_SHARE)
        self.con.execute(f"SET memory_limit = '{self._memory_limit}'")
        self.con.execute("SET temp_directory = ?", [str(self.folder / "tmp")])
        # A query that spills more than this fails with an error instead of filling the disk
        # (DuckDB's default is 90% of the free space).
        self.con.execute(f"SET max_temp_directory_size = '{_checked_size(temp_limit)}'")
        self.con.execute("SET preserve_insertion_order = false")
        if self.read_only:
            return
        # Parallel bulk inserts leave some row groups partly filled; DuckDB's checkpoint would
        # rewrite ("vacuum") them all again, single-threaded, which costs about as much as
        # storing them did. Events are never deleted, so there is nothing else to reclaim.
        self.con.execute("SET max_vacuum_tasks = 0")
        self._in_transaction(self._create_schema)
        self._fill_promoted()

    def _create_schema(self) -> None:
        """Tables, columns and the events view (inside the caller's transaction)."""
        before = storage.upgrade(self.con)
        for stmt in SCHEMA_SQL:
            self.con.execute(stmt)
        # Columns an existing workspace gains now are filled below; a fill cut short goes on next time.
        missing = [(c,) for c in PROMOTED_COLUMNS if before and c not in before]
        if missing:
            self.con.executemany("INSERT INTO events_to_fill VALUES (?)", missing)

    def _fill_promoted(self, chunk: int = 10_000) -> None:
        """Fill the EventData columns a workspace made before their promotion gained empty.

        Chunk by chunk of stored rows, each in its own transaction (an UPDATE of every row at
        once would hold them all in memory); the columns stay listed in ``events_to_fill``
        until every chunk is done, so an interrupted fill resumes on the next open.
        """
        columns = [r[0] for r in self.con.execute("SELECT DISTINCT name FROM events_to_fill").fetchall()]
        fill = event_data_fields_sql(q("winlog.event_data"))
        columns = [c for c in PROMOTED_COLUMNS if c in columns]
        if not columns:
            return
        sets = ", ".join(f"{q(c)} = {fill[c]}" for c in columns)
        network = ", ".join(f"'{d}'" for d in NETWORK_SHAPES)
        top = int(self.scalar(f"SELECT coalesce(max(rowid), -1) FROM {storage.EVENT_STORE}"))
        sql = (
            f'UPDATE {storage.EVENT_STORE} SET {sets} WHERE rowid >= ? AND rowid < ? AND "winlog.event_data" IS NOT NULL '
            f'AND "event.dataset" NOT IN ({network})'
        )
        for start in range(0, top + 1, chunk):
            self._in_transaction(partial(self.con.execute, sql, [start, start + chunk]))
        self.con.execute("DELETE FROM events_to_fill")

    def close(self) -> None:
        """Checkpoint and close the database, then let other processes in."""
        try:
            self.con.close()
        finally:
            self._lock.release()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- ingest

    def ingest(
        self,
        files: Iterable[InputFile],
        options: ReadOptions | None = None,
        progress: Callable[[FileResult], None] | None = None,
    ) -> IngestSummary:
        """Read, normalize and store each file; one bad file never stops the others.

        Small files are read whole and stored together in one transaction, since each
        query has a fixed planning cost that would otherwise dominate folders of small
        EVTX files; if that shared insert fails, each file is retried on its own. Plain
        Windows JSON-lines files are read by DuckDB itself (``events.direct``), together up to
        ``DIRECT_GROUP_BYTES``; a group that does not store every line is tried file by file,
        and a file that does not either goes through its reader.
        """
        options = options or ReadOptions()
        summary = IngestSummary()
        group: list[_Pending] = []
        group_rows = 0
        # Files DuckDB reads itself (events.direct), stored together; one of the two groups is
        # always empty, so results come in the order of the files.
        fast: list[_Pending] = []

        def flush() -> None:
            nonlocal group, group_rows, fast
            for res in [*self._store_group(group), *self._store_direct(fast, options)]:
                summary.files.append(res)
                if progress:
                    progress(res)
            group, group_rows, fast = [], 0, []

        for f, hashed in direct.fingerprinted_ahead(files):
            pending = self._prepare(f, options, hashed)
            if pending.digest and any(g.digest == pending.digest for g in [*group, *fast]):
                flush()  # a copy of a file still in the group: store the group, then look again
                pending = self._prepare(f, options, hashed)
            if pending.reader is None or pending.result.status != "ingested":
                flush()
                summary.files.append(pending.result)
                if progress:
                    progress(pending.result)
                continue
            if self._direct(pending, options):
                if group:
                    flush()
                fast.append(pending)
                if sum(p.size for p in fast) >= direct.DIRECT_GROUP_BYTES or len(fast) >= GROUP_FILES:
                    flush()
                continue
            if fast:
                flush()
            if pending.size > SMALL_FILE_BYTES:
                flush()
                res = self._store_streaming(pending, options)
                summary.files.append(res)
                if progress:
                    progress(res)
                continue
            try:
                pending.batches = list(
                    pending.reader.read(f.path, f.display, pending.result.skipped, options)
                )
            except Exception as exc:  # a reader failing on one file must not stop the run
                self._fail(pending, exc)
                flush()
                summary.files.append(pending.result)
                if progress:
                    progress(pending.result)
                continue
            group.append(pending)
            group_rows += sum(b.table.num_rows for b in pending.batches)
            if group_rows >= GROUP_ROWS or len(group) >= GROUP_FILES:
                flush()
        flush()
        self.release_memory()
        return summary

    def release_memory(self) -> None:
        """Hand back to the system what DuckDB's allocator kept of an ingest's freed memory.

        Setting the memory limit (to the same value) makes DuckDB flush its allocator; without
        it a scan's detection starts with the ingest's buffers still counted in the process.
        """
        self.con.execute(f"SET memory_limit = '{self._memory_limit}'")

    def _prepare(
        self, f: InputFile, options: ReadOptions, hashed: Future[tuple[str, int]] | None = None
    ) -> _Pending:
        """Check the file, fingerprint it (or take ``hashed``, computed ahead) and choose its reader."""
        try:
            if not f.path.is_file():
                raise InputError(f.display, "no such file")
            size = f.path.stat().st_size
            if size == 0:
                raise InputError(f.display, "empty file")
            digest, lines = hashed.result() if hashed is not None else fingerprint_and_lines(f.path)
        except (OSError, InputError) as exc:
            return self._not_read(f, "failed", _reason(exc))
        known = self._known()[0].get(digest)
        if known is not None:
            res = FileResult(f.display, None, status="duplicate", error=f"same content as {known}")
            if known != f.display:
                # Remember the alias, so labels naming this path still find its events.
                self._files_cache = None
                self._in_transaction(
                    lambda: self.con.execute(
                        "INSERT OR IGNORE INTO files VALUES (?, ?, 'duplicate', ?, 0, 0, ?, ?, ?)",
                        [digest, f.display, size, _now(), known, _location(f)],
                    )
                )
            return _Pending(f, res, None, digest, size)
        try:
            reader = detect_reader(f.path, options)
        except (OSError, InputError) as exc:
            return self._not_read(f, "failed", _reason(exc), digest, size)
        if reader is None:
            return self._not_read(f, "unrecognised", UNRECOGNISED, digest, size)
        return _Pending(f, FileResult(f.display, reader.name), reader, digest, size, lines=lines)

    def _not_read(self, f: InputFile, status: str, why: str, digest: str = "", size: int = 0) -> _Pending:
        """A file that cannot be read at all: one skip for the file, kept once per content."""
        res = FileResult(f.display, None, status=status, error=why)
        self._in_transaction(lambda: self._log_skipped([Skipped(f.display, None, why)], digest, FILE_UNIT))
        return _Pending(f, res, None, digest, size)

    def _in_transaction(self, fn: Callable[[], object]) -> None:
        self.con.execute("BEGIN TRANSACTION")
        try:
            fn()
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def _finish(self, *done: _Pending) -> None:
        """Record files and their skipped records; called inside their transaction.

        One query for all the files of a group, since a folder of small EVTX files would
        otherwise pay a round trip per file.
        """
        now = _now()
        rows = pa.table(
            {
                "fingerprint": [p.digest for p in done],
                "path": [p.file.display for p in done],
                "reader": pa.array([p.result.reader for p in done], pa.string()),
                "size": pa.array([p.size for p in done], pa.int64()),
                "events": pa.array([p.result.events for p in done], pa.int64()),
                "skipped": pa.array(
                    [sum(1 for s in p.result.skipped if not s.kept) for p in done], pa.int64()
                ),
                "ingested_at": pa.array([now] * len(done), pa.timestamp("us")),
                "location": pa.array([_location(p.file) for p in done], pa.string()),
            }
        )
        self._files_cache = None
        self.con.register("done_files", rows)
        try:
            self.con.execute(
                "INSERT INTO files SELECT fingerprint, path, reader, size, events, skipped, ingested_at, NULL, "
                "location FROM done_files"
            )
        finally:
            self._unregister("done_files")
        for p in done:
            self._log_skipped(p.result.skipped, p.digest)

    def _known(self) -> tuple[dict[str, str], set[str]]:
        """Stored originals by fingerprint, and every stored path; read again after a change."""
        if self._files_cache is None:
            originals: dict[str, str] = {}
            paths: set[str] = set()
            for digest, path, duplicate_of in self.con.execute(
                "SELECT fingerprint, path, duplicate_of FROM files"
            ).fetchall():
                paths.add(path)
                if duplicate_of is None:
                    originals.setdefault(digest, path)
            self._files_cache = (originals, paths)
        return self._files_cache

    def _store_group(self, group: list[_Pending]) -> list[FileResult]:
        """Store several fully read files in one transaction, or one by one if that fails."""
        if not group:
            return []
        try:

            def together(checked: bool) -> None:
                batches = [b for p in group for b in p.batches]
                counts = self._insert_many(
                    batches, _sources(group), any(self._dedupe(p) for p in group), checked
                )
                for p in group:
                    # A zip's events are counted under its members' names.
                    names = {b.file for b in p.batches} | {p.file.display}
                    p.result.events = sum(counts.get(name, 0) for name in names)
                    self._report_bad_json(p)
                self._finish(*group)

            self._optimistic(together)
            return [p.result for p in group]
        except Exception:
            pass
        for p in group:
            try:

                def one(checked: bool, p: _Pending = p) -> None:
                    counts = self._insert_many(p.batches, _sources([p]), self._dedupe(p), checked)
                    p.result.events = sum(counts.values())
                    self._report_bad_json(p)
                    self._finish(p)

                self._optimistic(one)
            except Exception as exc:
                self._fail(p, exc)
        return [p.result for p in group]

    def _direct(self, p: _Pending, options: ReadOptions) -> bool:
        """Whether DuckDB may read the file itself (``events.direct``): a plain file of a shape it
        cuts, small enough to read whole, not a log seen before under its name (those are deduplicated)."""
        return (
            p.reader is not None
            and p.reader.name in direct.DIRECT_SHAPES
            and options.mapping is None
            and 0 < p.size <= direct.DIRECT_MAX_BYTES
            and not self._dedupe(p)
            and direct.readable(p.file.path)
        )

    def _store_direct(self, group: list[_Pending], options: ReadOptions) -> list[FileResult]:
        """Store files DuckDB reads itself, in one transaction; any doubt sends them to their reader.

        Kept only when every line of every file became an event: otherwise (a line that is not
        JSON, no event, blank, too long, not UTF-8) the transaction is rolled back and each file
        is tried again alone; one that fails alone is stored by ``_store_streaming``, which
        names its bad lines.
        """
        if not group:
            return []
        memory = self._parts_memory
        parts = direct.parts_for([p.size for p in group], self._threads(), memory)
        try:
            with self._memory_for_parts(parts, memory):
                self._in_transaction(lambda: self._insert_direct(group, options.limits.record_bytes, parts))
        except duckdb.InterruptException:
            raise KeyboardInterrupt from None  # the user stopped the run: nothing to fall back to
        except (duckdb.Error, direct.NotEveryLine):
            for p in group:
                p.result.events = 0
                if len(group) == 1:
                    self._store_streaming(p, options)
                else:  # the others of the group are still read directly, each on its own
                    self._store_direct([p], options)
        return [p.result for p in group]

    def _threads(self) -> int:
        """DuckDB's threads: as many parts of a direct group as it can read side by side."""
        return int(self.scalar("SELECT current_setting('threads')"))

    @contextlib.contextmanager
    def _memory_for_parts(self, parts: int, memory: int) -> Iterator[None]:
        """Keep a direct INSERT of ``parts`` files at once within the memory the workspace was given.

        Each part holds its file (twice: the text and its lines) and an uncompressed row group, so
        two parts fill DuckDB's whole limit where one used about two thirds of it; the process
        holds Python and Arrow beside it. While several parts run, DuckDB gets ``memory`` bytes
        (``direct.PARALLEL_MEMORY_SHARE`` of the limit) and spills what goes beyond.
        """
        if parts < 2:
            yield
            return
        self.con.execute(f"SET memory_limit = '{int(memory)}B'")
        try:
            yield
        finally:
            self.release_memory()

    def _insert_direct(self, group: list[_Pending], max_line: int, parts: int = 1) -> None:
        """One INSERT per shape of the files' lines (inside the caller's transaction), its files read
        in ``parts`` parts of about equal size side by side (``direct.raw_lines_sql``)."""
        self._set_sources({p.file.display: p.digest for p in group})
        shapes: dict[str, list[_Pending]] = {}
        for p in group:
            assert p.reader is not None
            shapes.setdefault(p.reader.name, []).append(p)
        for shape, same in shapes.items():
            paths = [direct.path_text(p.file.path) for p in same]
            split = direct.split_by_size([p.size for p in same], parts)
            params: dict[str, object] = {
                "paths": paths,
                "names": [p.file.display for p in same],
                "max_line": max_line,
                **{direct.part_parameter(i): [paths[j] for j in part] for i, part in enumerate(split)},
            }
            sql = direct.insert_sql(shape, len(split))
            stored = int(self.con.execute(sql, params).fetchall()[0][0])
            if stored != sum(p.lines for p in same):
                raise direct.NotEveryLine(shape)
        for p in group:
            p.result.events = p.lines
        self._finish(*group)

    def _optimistic(self, store: Callable[[bool], None], undo: Callable[[], None] | None = None) -> None:
        """Run ``store`` in a transaction without the JSON validity filter, which costs a second
        parse of every line; if a line is not JSON the query fails, the transaction is rolled
        back, and ``store`` runs again with the filter (after ``undo`` resets its results)."""
        try:
            self._in_transaction(lambda: store(False))
        except duckdb.InvalidInputException as exc:
            if "Malformed JSON" not in str(exc):
                raise
            if undo is not None:
                undo()
            self._in_transaction(lambda: store(True))

    def _insert_many(
        self, batches: list[RawBatch], sources: dict[str, str], dedupe: bool, checked: bool = True
    ) -> dict[str, int]:
        """Insert batches, one query per shape; returns events stored per file."""
        counts: dict[str, int] = {}
        keyed: dict[tuple[str, str, str], list[RawBatch]] = {}
        for b in batches:
            keyed.setdefault(_batch_key(b), []).append(b)
        self._set_sources(sources, batches)
        for same in keyed.values():
            table = pa.concat_tables([_with_file(b) for b in same])
            files = {b.file for b in same}
            sql = self._insert_sql(same[0], dedupe, returning=len(files) > 1, checked=checked)
            self.con.register("raw_batch", table)
            try:
                if len(files) == 1:
                    stored = int(self.con.execute(sql).fetchall()[0][0])
                    counts[same[0].file] = counts.get(same[0].file, 0) + stored
                else:
                    for (name,) in self.con.execute(sql).fetchall():
                        counts[name] = counts.get(name, 0) + 1
            finally:
                self._unregister("raw_batch")
        return counts

    @staticmethod
    def _insert_sql(batch: RawBatch, dedupe: bool, returning: bool = False, checked: bool = True) -> str:
        """INSERT of the normalized ``raw_batch``; with ``dedupe``, only records not yet stored.

        A record is already stored when the same file path holds the same record number with
        the same text from the same reader (ids cannot tell: they hash the file's content
        fingerprint, which changes when a log grows).
        """
        sql = normalize_sql(batch.shape, batch.params, checked)
        if dedupe:
            sql = (
                f"SELECT * FROM ({sql}) n WHERE NOT EXISTS (SELECT 1 FROM events e "
                f'WHERE e."log.file.path" = n."log.file.path" AND e."log.record" = n."log.record" '
                f'AND e."event.dataset" = n."event.dataset" AND e."event.original" = n."event.original")'
            )
        return storage.insert_sql(batch.shape, sql) + (' RETURNING "log.file.path"' if returning else "")

    def _set_sources(self, sources: dict[str, str], batches: Iterable[RawBatch] = ()) -> None:
        """Bind each file's source key for the ids (file names are values, never SQL text)."""
        keys = dict(sources)
        for b in batches:
            keys.setdefault(b.file, b.file)
        self.con.execute(
            f"SET VARIABLE {SOURCES_VARIABLE} = MAP(?::VARCHAR[], ?::VARCHAR[])",
            [list(keys), list(keys.values())],
        )

    def _store_streaming(self, p: _Pending, options: ReadOptions) -> FileResult:
        """Store a large file inside one transaction, never holding it whole.

        The reader's batches flow into one INSERT per run of batches of the same shape
        through an Arrow stream, so the normalization query is planned once per file (not
        once per batch) and DuckDB normalizes batches on all its threads while the next
        ones are read.
        """
        assert p.reader is not None
        kept = len(p.result.skipped)

        def undo() -> None:
            del p.result.skipped[kept:]  # the file is read again from the start

        try:

            def run(checked: bool) -> None:
                assert p.reader is not None
                dedupe = self._dedupe(p)
                batches = p.reader.read(p.file.path, p.file.display, p.result.skipped, options)
                stored, rows, json_rows = self._insert_stream(batches, p, dedupe, checked)
                p.result.events = stored
                if json_rows and stored < rows and not dedupe:
                    # Only a file with lines that are not JSON pays for a second read.
                    scratch: list[Skipped] = []
                    for b in p.reader.read(p.file.path, p.file.display, scratch, options):
                        if b.shape in JSON_SHAPES:
                            self._skip_bad_json(b, p.result.skipped)
                self._finish(p)

            self._optimistic(run, undo)
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            self._fail(p, exc)
        return p.result

    def _insert_stream(
        self, batches: Iterable[RawBatch], p: _Pending, dedupe: bool, checked: bool = True
    ) -> tuple[int, int, int]:
        """Insert a stream of batches; returns (events stored, rows read, rows of JSON shapes).

        Consecutive batches of one file (or zip member), shape, parameters and columns go
        through one query; a batch that differs ends that query and starts the next. An
        error raised by the reader is raised again as itself, not as DuckDB's wrapping of it.
        """
        it = iter(batches)
        head: RawBatch | None = next(it, None)
        stored = rows = json_rows = 0
        while head is not None:
            first: RawBatch = head
            key = _batch_key(first)
            state: dict[str, Any] = {"rows": 0, "next": None, "error": None}

            def feed(
                first: RawBatch = first, key: tuple[str, str, str] = key, state: dict[str, Any] = state
            ) -> Iterator[pa.RecordBatch]:
                b: RawBatch | None = first
                try:
                    while b is not None:
                        if _batch_key(b) != key or b.file != first.file:
                            state["next"] = b
                            return
                        table = _with_file(b)
                        state["rows"] += table.num_rows
                        yield from table.to_batches()
                        b = next(it, None)
                except BaseException as exc:
                    state["error"] = exc
                    raise

            schema = _with_file(first).schema
            self._set_sources({first.file: _source_key(p, first.file)})
            self.con.register("raw_batch", pa.RecordBatchReader.from_batches(schema, feed()))
            try:
                sql = self._insert_sql(first, dedupe, checked=checked)
                stored += int(self.con.execute(sql).fetchall()[0][0])
            except Exception:
                if state["error"] is not None:
                    raise state["error"] from None
                raise
            finally:
                self._unregister("raw_batch")
            rows += state["rows"]
            if first.shape in JSON_SHAPES:
                json_rows += state["rows"]
            head = state["next"]
        return stored, rows, json_rows

    def _fail(self, p: _Pending, exc: BaseException) -> None:
        p.result.status, p.result.error, p.result.events = "failed", _reason(exc), 0
        lost = [Skipped(p.file.display, None, f"file not ingested: {p.result.error}")]
        self._in_transaction(lambda: self._log_skipped(lost, p.digest, FILE_UNIT))

    def _dedupe(self, p: _Pending) -> bool:
        # Records of a file seen before under the same name (a log that grew) are compared
        # with those stored; new files skip that join, which is what keeps first ingests fast.
        return p.file.display in self._known()[1]

    def _report_bad_json(self, p: _Pending) -> None:
        """Name the records of a fully read file that were not stored: not JSON, or not an event."""
        rows = sum(b.table.num_rows for b in p.batches)
        if p.batches and p.batches[0].shape in JSON_SHAPES and p.result.events < rows:
            for b in p.batches:
                self._skip_bad_json(b, p.result.skipped)

    def _skip_bad_json(self, batch: RawBatch, skipped: list[Skipped]) -> None:
        # Only the rare batch with lines left out pays for this second pass.
        sql = unstored_sql(batch.shape, batch.params)
        if sql is None:
            return
        self.con.register("bad_batch", batch.table)
        try:
            bad = self.con.execute(sql).fetchall()
        finally:
            self.con.unregister("bad_batch")
        skipped.extend(Skipped(batch.file, r, f"{why}: {t!r}") for r, why, t in bad)

    def _unregister(self, name: str) -> None:
        """Drop a registered batch; inside a failed transaction DuckDB refuses until rollback."""
        with contextlib.suppress(duckdb.Error):
            self.con.unregister(name)

    def _count(self) -> int:
        return int(self.scalar("SELECT count(*) FROM events") or 0)

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        """First column of the first row, fetching everything so the connection stays usable."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def _log_skipped(self, skipped: list[Skipped], fingerprint: str, unit: str = RECORD_UNIT) -> None:
        """Record skips of one input (by its content fingerprint), leaving out those already
        recorded: a rescan meets the same unreadable files again and must not count them twice."""
        if not skipped:
            return
        rows = pa.table(
            {
                "file": pa.array([s.file for s in skipped], pa.string()),
                "record": pa.array([s.record for s in skipped], pa.int64()),
                "reason": pa.array([s.reason for s in skipped], pa.string()),
                "kept": pa.array([s.kept for s in skipped], pa.bool_()),
            }
        )
        self.con.register("new_skips", rows)
        try:
            self.con.execute(LOG_SKIPPED_SQL, [_now(), fingerprint or None, unit])
        finally:
            self._unregister("new_skips")

    # ----------------------------------------------------------------- reads

    def event_count(self) -> int:
        """Number of stored events."""
        return self._count()


UNRECOGNISED = (
    "not a recognised log format (EVTX, Windows JSON lines, syslog, .eml/mbox mail, Zeek logs, "
    "Argus flows; "
    "use --mapping for other CSV/JSON lines)"
)
PROMOTED_COLUMNS = tuple(EVENT_DATA_PREFIX + f for f in EVENT_DATA_FIELDS)
LOG_SKIPPED_SQL = """
    INSERT INTO skipped (file, record, reason, kept, logged_at, fingerprint, unit)
    SELECT DISTINCT n.file, n.record, n.reason, n.kept, $1::TIMESTAMP, $2, $3 FROM new_skips n
    WHERE NOT EXISTS (SELECT 1 FROM skipped s WHERE s.fingerprint IS NOT DISTINCT FROM $2
        AND s.file = n.file AND s.record IS NOT DISTINCT FROM n.record AND s.reason = n.reason)
"""


def connect(folder: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The workspace database in UTC; a lock held by another process becomes WorkspaceBusy."""
    try:
        con = duckdb.connect(str(Path(folder) / DB_NAME), read_only=read_only)
    except duckdb.IOException as exc:
        busy = busy_from_duckdb(Path(folder), exc)
        if busy is None:
            raise
        raise busy from None
    con.execute("SET TimeZone = 'UTC'")
    return con


def _source_key(p: _Pending, file: str) -> str:
    """The source key of a file (or zip member) for event ids: content fingerprint + member."""
    display = p.file.display
    if file == display:
        return p.digest
    return p.digest + (file[len(display) :] if file.startswith(display) else "|" + file)


def _sources(pending: list[_Pending]) -> dict[str, str]:
    """Each file's source key, for the files of fully read pending inputs."""
    keys = {p.file.display: p.digest for p in pending}
    for p in pending:
        keys.update({b.file: _source_key(p, b.file) for b in p.batches})
    return keys


def _batch_key(b: RawBatch) -> tuple[str, str, str]:
    """Batches with the same key are normalized by the same query."""
    return (b.shape, repr(sorted(b.params.items())), str(b.table.schema))


def _with_file(b: RawBatch) -> pa.Table:
    """The batch plus its file name as a column: dictionary-encoded, so no string per row."""
    n = b.table.num_rows
    names = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([b.file], pa.string())
    )
    return b.table.append_column("file", names)


def _size_bytes(text: str) -> int:
    """Bytes in a memory size (KB, MB... in powers of 1000; KiB, MiB... of 1024), or a clear error."""
    import re

    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT])(i?)B", text.strip())
    if match is None:
        raise BluebenchError(f"invalid memory size {text!r}; use e.g. 1GB or 512MB")
    number, unit, binary = match.groups()
    return int(float(number) * (1024 if binary else 1000) ** ("KMGT".index(unit) + 1))


def _checked_size(text: str) -> str:
    """Memory sizes are formatted into a SET statement, so only a number and a unit pass."""
    _size_bytes(text)
    return text.strip()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, InputError):
        return exc.reason
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def _location(f: InputFile) -> str:
    """The file's absolute path: stored paths are as typed, relative to where ingest ran."""
    return str(f.path.resolve())


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def workspace_folder(folder: str | None) -> Path:
    """The folder the user chose, or BLUEBENCH_WORKSPACE, or ./.bluebench."""
    return Path(folder or os.environ.get("BLUEBENCH_WORKSPACE", DEFAULT_WORKSPACE))


def workspace_from_env(
    folder: str | None, *, command: str = "bluebench", read_only: bool = False
) -> Workspace:
    """Open the workspace the user chose, or BLUEBENCH_WORKSPACE, or ./.bluebench."""
    return Workspace(workspace_folder(folder), command=command, read_only=read_only)
