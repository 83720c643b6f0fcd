"""Where labelled data lives in the workspace: stored files by the paths labels name.

Labels name files as published (relative to the labels file, or 'x.zip!member'); the
workspace stores paths as they were typed at ingest. ``build_index`` maps one onto the
other, and ``attach_evidence`` gives alerts made in memory the file and record of each
event they cite.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
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

    def lookup(self, path: Path, given: str) -> str | None:
        """The stored file a label's path refers to, or None when it was never ingested."""
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


def build_index(con: duckdb.DuckDBPyConnection, cwd: Path | None = None) -> FileIndex:
    """Resolve stored paths (relative to ``cwd``, as the user typed them) to absolute paths."""
    cwd = cwd or Path.cwd()
    canonical: dict[str, str] = {}
    stored: set[str] = set()
    for path, duplicate_of in con.execute("SELECT path, duplicate_of FROM files").fetchall():
        canonical.setdefault(resolve_path(path, cwd), duplicate_of or path)
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
                canonical.setdefault(resolve_path(owner, cwd) + ev_path[cut:], ev_path)
        container[ev_path] = owner
        events[owner] += int(n)
    return FileIndex(canonical, container, dict(events))


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
