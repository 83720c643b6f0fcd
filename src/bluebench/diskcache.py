"""The on-disk caches' shared rules: one folder variable, atomic entries, the most recently used kept.

The Sigma rule cache and the parsed-feed cache store different things, but a reader must never
see half an entry, a full or read-only disk must only cost the next run its work, and each
kind keeps a bounded number of entries. Those rules live here once.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

#: Where caches live; an empty value turns them all off.
CACHE_ENV = "BLUEBENCH_CACHE_DIR"


def cache_dir(kind: str) -> Path | None:
    """$BLUEBENCH_CACHE_DIR/KIND, else the user's cache folder; None when turned off."""
    env = os.environ.get(CACHE_ENV)
    if env is not None:
        return Path(env) / kind if env else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bluebench" / kind


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """``write`` into a temporary file beside ``path``, then rename it; raises OSError, leaving no temporary."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def write_csv_atomic(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> None:
    """Rows as CSV under ``columns`` (other keys ignored), written whole: a reader never sees half a file."""

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)

    write_atomic(path, write)


def mark_used(path: Path) -> None:
    """Touch an entry that was read, so that eviction keeps it longest."""
    with contextlib.suppress(OSError):
        os.utime(path)


def keep_recent(folder: Path, suffix: str, keep: int, companions: tuple[str, ...] = ()) -> None:
    """Delete all but the ``keep`` most recently used ``*SUFFIX`` entries, and each one's companion files."""
    entries = sorted(folder.glob(f"*{suffix}"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in entries[keep:]:
        old.unlink(missing_ok=True)
        for other in companions:
            old.with_suffix(other).unlink(missing_ok=True)
