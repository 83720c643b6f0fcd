"""Parsed feeds kept on disk: a second run reads columns instead of parsing every JSON record again.

A CVE archive holds tens of thousands of JSON records and parsing them is most of a small
report's ranking time. The parsed table and its skips are stored as Parquet beside a JSON
file, keyed by the source's bytes (a folder: its files' names, sizes and change times), the
parser's own code and the limits it ran under, so an edited archive, a new bluebench or other
limits parse again. A damaged or unreadable entry is ignored and written again; the cache
never changes what a run reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from bluebench.diskcache import CACHE_ENV as CACHE_ENV  # one variable for every cache
from bluebench.diskcache import cache_dir as cache_dir
from bluebench.diskcache import keep_recent, mark_used, write_atomic
from bluebench.sources.base import Skipped

FORMAT = 1
#: Entries kept per kind, the most recently used first.
KEEP = 4


def _digest(path: Path) -> bytes:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").digest()


def source_key(path: Path, code: Iterable[Path], extra: str) -> str | None:
    """SHA-256 of the source, the parser's code files and ``extra``; None when something is unreadable."""
    h = hashlib.sha256(f"format {FORMAT}\n{extra}\n".encode())
    try:
        for module in code:
            h.update(module.name.encode() + b"\0" + _digest(module))
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file():
                    st = f.stat()
                    h.update(f"{f.relative_to(path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        else:
            h.update(_digest(path))
    except OSError:
        return None
    return h.hexdigest()


def load(folder: Path, key: str) -> tuple[pa.Table, list[Skipped], dict[str, Any]] | None:
    """The stored table, skips and facts about the source for ``key``; None when absent or unreadable."""
    table_path, skips_path = folder / f"{key}.parquet", folder / f"{key}.json"
    try:
        table = pq.read_table(table_path)
        side = json.loads(skips_path.read_text(encoding="utf-8"))
        skips = [Skipped(**s) for s in side["skipped"]]
        meta = dict(side["meta"])
    except (OSError, ValueError, TypeError, KeyError, pa.ArrowException):
        return None
    mark_used(table_path)
    return table, skips, meta


def store(
    folder: Path, key: str, table: pa.Table, skipped: list[Skipped], meta: dict[str, Any] | None = None
) -> None:
    """Write an entry atomically (temporary file, then rename) and keep the KEEP most recent."""
    try:
        skips = [{"file": s.file, "record": s.record, "reason": s.reason, "kept": s.kept} for s in skipped]
        side = json.dumps({"skipped": skips, "meta": meta or {}})
        write_atomic(folder / f"{key}.json", lambda p: p.write_text(side, encoding="utf-8"))
        write_atomic(folder / f"{key}.parquet", lambda p: pq.write_table(table, p))
        keep_recent(folder, ".parquet", KEEP, companions=(".json",))
    except OSError:
        return  # a read-only or full disk costs the next run a parse, nothing else
