"""Where labelled data lives in the workspace: stored files by the paths labels name.

Labels name files as published (relative to the labels file, or 'x.zip!member'); the
workspace stores paths as they were typed at ingest and, since issue 14, where each file
was read. ``build_index`` maps one onto the other (a label's path is tried under the labels
file's folder, the working folder and any ``--root``), and ``attach_evidence`` gives alerts made in memory the file and record of each
event they cite.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from bluebench.schema import Alert, Evidence


@dataclass
class FileIndex:
    """Stored files by absolute path, and the file each stored event path belongs to."""

    canonical: dict[str, str]  # absolute path (or 'abs!member') -> stored path holding its events
    container: dict[str, str]  # stored event path ("log.file.path") -> canonical stored file
    events: dict[str, int]  # canonical stored file -> events stored
    #: Folders a label's relative path is tried against after the labels file's own folder
    #: (the working folder, then ``--root``): label files are published relative to themselves.
    roots: tuple[Path, ...] = ()
    #: Absolute paths tried for labels that matched nothing, so a miss can say where it looked.
    tried: list[str] = field(default_factory=list)
    hits: int = 0
    #: Stored file path -> its absolute path (where ingest read it, or as typed from the cwd).
    located: dict[str, str] = field(default_factory=dict)

    def absolute(self, stored: str) -> str:
        """Where a stored file lies on disk, for scoping files under the labels' folder."""
        return self.located.get(stored) or str(Path(stored).resolve())

    def lookup(self, path: Path, given: str) -> str | None:
        """The stored file a label's path refers to, or None when it was never ingested."""
        candidates = [path]
        if not Path(given).is_absolute():
            candidates += [(root / given).resolve() for root in self.roots]
        for candidate in dict.fromkeys(candidates):
            found = self._one(candidate, given)
            if found is not None:
                self.hits += 1
                return found
        if len(self.tried) < 9:  # the first few labels' candidates say enough
            self.tried.extend(str(c) for c in dict.fromkeys(candidates))
        return None

    def _one(self, path: Path, given: str) -> str | None:
        key = str(path)
        if key in self.canonical:
            return self.canonical[key]
        if "!" in given:  # a zip member named as 'x.zip!member'
            outer, _, member = given.partition("!")
            return self.canonical.get(str(path.parent / Path(outer).name) + "!" + member)
        return None


def resolve_path(path: str, cwd: Path) -> str:
    """A stored path as the user typed it at ingest (relative to ``cwd``), made absolute."""
    return str((cwd / path).resolve())


def _stored_files(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None, str | None]]:
    """(path as typed, original when a duplicate, absolute location at ingest) of every stored file."""
    has_location = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'files' AND column_name = 'location'"
    ).fetchall()[0][0]
    location = "location" if has_location else "NULL"  # read-only workspaces made before it
    rows: list[tuple[str, str | None, str | None]] = con.execute(
        f"SELECT path, duplicate_of, {location} FROM files"
    ).fetchall()
    return rows


def build_index(
    con: duckdb.DuckDBPyConnection, cwd: Path | None = None, roots: Sequence[Path] = ()
) -> FileIndex:
    """Stored paths to absolute ones: where ingest read them, else relative to ``cwd`` as typed."""
    cwd = cwd or Path.cwd()
    canonical: dict[str, str] = {}
    stored: set[str] = set()
    located: dict[str, str] = {}
    for path, duplicate_of, location in _stored_files(con):
        absolute = location or resolve_path(path, cwd)
        located[path] = absolute
        # Where ingest read it, and where its typed path points from here (a folder moved
        # with its workspace): a label naming either finds it.
        for key in (absolute, resolve_path(path, cwd)):
            canonical.setdefault(key, duplicate_of or path)
        if duplicate_of is None:
            stored.add(path)
    container: dict[str, str] = {}
    events: dict[str, int] = defaultdict(int)
    rows = con.execute('SELECT "log.file.path", count(*) FROM events GROUP BY 1').fetchall()
    for ev_path, n in rows:
        owner = ev_path
        if ev_path not in stored:
            # 'x.zip!member' belongs to the stored file x.zip; try each '!' from the right.
            cut = ev_path.rfind("!")
            while cut > 0 and ev_path[:cut] not in stored:
                cut = ev_path.rfind("!", 0, cut)
            if cut > 0:
                owner = ev_path[:cut]
                for key in (located.get(owner, resolve_path(owner, cwd)), resolve_path(owner, cwd)):
                    canonical.setdefault(key + ev_path[cut:], ev_path)
        container[ev_path] = owner
        events[owner] += int(n)
    return FileIndex(canonical, container, dict(events), roots=(cwd, *roots), located=located)


def attach_evidence(con: duckdb.DuckDBPyConnection, alerts: Sequence[Alert]) -> None:
    """Fill ``evidence`` of alerts made in memory (not read from the store) from their event ids."""
    ids = sorted({e for a in alerts if not a.evidence for e in a.event_ids})
    if not ids:
        return
    con.register("eval_ids", pa.table({"id": pa.array(ids, pa.string())}))
    try:
        rows = con.execute(
            'SELECT e."event.id", e."log.file.path", e."log.record" FROM events e '
            'JOIN eval_ids i ON i.id = e."event.id"'
        ).fetchall()
    finally:
        con.unregister("eval_ids")
    where = {r[0]: Evidence(r[1], int(r[2])) for r in rows}
    for a in alerts:
        if not a.evidence:
            a.evidence = [where[e] for e in a.event_ids if e in where]
