"""FIRST's EPSS scores: one snapshot (a CSV, gzipped or not, or a folder of per-year files) or a history.

A snapshot is dated by FIRST's ``#model_version:...,score_date:...`` line when it has one,
else by the day named in its file or folder name; a history is a folder of dated snapshots.
Rows are read with pyarrow's CSV reader and checked column-wise: a row whose CVE id, score or
percentile is not valid is skipped with its file and line, the rest kept.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from bluebench.errors import InputError
from bluebench.sources.base import Skipped
from bluebench.sources.feeds import cache as feed_cache
from bluebench.sources.feeds.dates import day_in_path, day_of
from bluebench.sources.lines import GZIP_MAGIC

EPSS_SCHEMA = pa.schema([("cve", pa.string()), ("epss", pa.float64()), ("percentile", pa.float64())])
CVE_PATTERN = r"^CVE-\d{4}-\d{4,7}$"
SKIPS_NAMED = 20  # bad rows named one by one per file; the rest are counted in one line
#: The code that decides what a snapshot parses to: a change to it parses every snapshot again.
PARSER_CODE = tuple(
    Path(__file__).parent.parent / name for name in ("feeds/epss.py", "feeds/dates.py", "lines.py")
)
_META = re.compile(rb"^#\s*model_version:\s*([^,\s]+)\s*,\s*score_date:\s*(\S+)", re.IGNORECASE)


@dataclass
class EpssSnapshot:
    """EPSS scores of one day: ``table`` follows EPSS_SCHEMA, one row per CVE."""

    day: date
    table: pa.Table
    files: list[str]
    model: str | None = None
    skipped: list[Skipped] = field(default_factory=list)


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        start = fh.read(2)
    opener = gzip.open if start == GZIP_MAGIC else open
    with opener(path, "rb") as fh:  # type: ignore[operator]
        return bytes(fh.read(4096))


def snapshot_files(path: Path) -> list[Path]:
    """The CSV files of one snapshot: the file itself, or the files of a folder (one per CVE year)."""
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and not p.name.startswith(".") and ".csv" in p.name.lower()
        )
        if files:
            return files
    raise InputError(str(path), "no EPSS CSV here (a .csv or .csv.gz file, or a folder of them)")


def _layout(path: Path, head: bytes) -> tuple[int, bool, str, str | None, date | None]:
    """(lines to skip, has header, delimiter, model version, score day) of one EPSS file."""
    lines = head.split(b"\n")
    skip, model, day = 0, None, None
    m = _META.match(lines[0]) if lines else None
    if m:
        model, day, skip = m.group(1).decode(), day_of(m.group(2).decode()), 1
    first = lines[skip] if len(lines) > skip else b""
    delim = ";" if first.count(b";") > first.count(b",") else ","
    # A header names the columns; a first row that is neither a header nor a CVE is a bad row, named.
    header = b"epss" in first.lower() or b"percentile" in first.lower()
    return skip, header, delim, model, day


def read_file(path: Path, display: str, skipped: list[Skipped]) -> tuple[pa.Table, str | None, date | None]:
    """One EPSS CSV as EPSS_SCHEMA, bad rows named in ``skipped``, with its model and day if it says them."""
    try:
        skip, header, delim, model, day = _layout(path, _head(path))
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(display, f"cannot read EPSS file: {exc}") from None
    names = ["cve", "epss", "percentile"]
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(skip_rows=skip + (1 if header else 0), column_names=names),
            parse_options=pacsv.ParseOptions(delimiter=delim),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        if "compress" in str(exc).lower():  # a download cut short, not a wrong file
            raise InputError(
                display, f"cannot read EPSS file, damaged compression: {str(exc)[:160]}"
            ) from None
        raise InputError(display, f"not an EPSS CSV (cve, epss, percentile): {str(exc)[:160]}") from None
    return _checked(table, display, skip + (2 if header else 1), skipped), model, day


def _checked(raw: pa.Table, display: str, first_line: int, skipped: list[Skipped]) -> pa.Table:
    """Rows whose id is a CVE id and whose score and percentile are numbers in 0..1; others skipped."""
    cve = pc.utf8_upper(pc.utf8_trim_whitespace(raw["cve"]))
    score = _num(raw["epss"])
    pct = _num(raw["percentile"])
    ok = pc.and_(
        pc.and_(pc.fill_null(pc.match_substring_regex(cve, CVE_PATTERN), False), _in_unit(score)),
        _in_unit(pct),
    )
    bad = np.flatnonzero(~ok.to_numpy(zero_copy_only=False))
    for i in bad[:SKIPS_NAMED]:
        skipped.append(
            Skipped(display, first_line + int(i), "not a CVE id with an EPSS score and percentile in 0..1")
        )
    if len(bad) > SKIPS_NAMED:
        skipped.append(
            Skipped(display, None, f"{len(bad) - SKIPS_NAMED:,} more rows skipped for the same reason")
        )
    return pa.table({"cve": cve, "epss": score, "percentile": pct}, schema=EPSS_SCHEMA).filter(ok)


def _num(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text to float64; what does not parse becomes null (and its row is skipped)."""
    text = pc.utf8_trim_whitespace(col)
    ok = pc.match_substring_regex(text, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
    return pc.cast(pc.if_else(ok, text, pa.scalar(None, pa.string())), pa.float64())


def _in_unit(col: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.fill_null(pc.and_(pc.greater_equal(col, 0.0), pc.less_equal(col, 1.0)), False)


def read_snapshot(path: Path, display: str | None = None, cache: bool = True) -> EpssSnapshot:
    """One day's EPSS, parsed once per content and kept (``feeds.cache``); see ``parse_snapshot``."""
    display = display or str(path)
    folder = feed_cache.cache_dir("epss") if cache else None
    extra = f"display {display}\npath {path.resolve()}"
    key = feed_cache.source_key(path, PARSER_CODE, extra) if folder else None
    if folder is not None and key is not None:
        hit = feed_cache.load(folder, key)
        if hit is not None and hit[0].schema.equals(EPSS_SCHEMA):
            table, skipped, meta = hit
            return EpssSnapshot(date.fromisoformat(meta["day"]), table, meta["files"], meta["model"], skipped)
    snap = parse_snapshot(path, display)
    if folder is not None and key is not None:
        meta = {"day": snap.day.isoformat(), "files": snap.files, "model": snap.model}
        feed_cache.store(folder, key, snap.table, snap.skipped, meta)
    return snap


def parse_snapshot(path: Path, display: str | None = None) -> EpssSnapshot:
    """One day's EPSS: a file or a folder of per-year files; its day from FIRST's header or the path."""
    display = display or str(path)
    skipped: list[Skipped] = []
    tables, models, days = [], set(), set()
    files = snapshot_files(path)
    for f in files:
        t, model, day = read_file(f, str(f) if f != path else display, skipped)
        tables.append(t)
        if model:
            models.add(model)
        days.add(day or day_in_path(f))
    if len(days) != 1 or None in days:
        named = ", ".join(sorted(str(d) for d in days if d)) or "none"
        raise InputError(
            display,
            f"cannot tell the day of this EPSS snapshot (days found: {named}): keep FIRST's '#score_date' "
            "line or name the file or its folder by the day (YYYY-MM-DD)",
        )
    table = pa.concat_tables(tables)
    table, dupes = _first_per_cve(table)
    if dupes:
        skipped.append(
            Skipped(display, None, f"{dupes:,} CVEs scored twice in one snapshot: the first score kept")
        )
    day = next(iter(days))
    assert day is not None
    return EpssSnapshot(day, table, [str(f) for f in files], ",".join(sorted(models)) or None, skipped)


def _first_per_cve(table: pa.Table) -> tuple[pa.Table, int]:
    """One row per CVE (the first); how many repeats were dropped."""
    if pc.count_distinct(table["cve"]).as_py() == table.num_rows:
        return table, 0  # the usual case, found without sorting the ids
    ids = table["cve"].to_numpy(zero_copy_only=False)
    _, first = np.unique(ids.astype(str), return_index=True)
    if len(first) == table.num_rows:
        return table, 0
    return table.take(np.sort(first)), table.num_rows - len(first)


def history_days(folder: Path) -> list[tuple[date, Path]]:
    """The dated snapshots under a history folder (subfolders or files named by day), oldest first."""
    if not folder.is_dir():
        raise InputError(str(folder), "an EPSS history is a folder of snapshots named by day (YYYY-MM-DD)")
    found: dict[date, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        day = day_in_path(Path(p.name))
        if day is not None and (p.is_dir() or ".csv" in p.name.lower()):
            found.setdefault(day, p)
    if not found:
        raise InputError(str(folder), "no snapshot named by day (YYYY-MM-DD) in this EPSS history folder")
    return sorted(found.items())
