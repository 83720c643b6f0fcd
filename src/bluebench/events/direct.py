"""Plain Windows JSON-lines files that DuckDB reads itself, without a Python object per line.

Python still fingerprints each file (counting its lines in the same pass) and picks its reader
by content. A plain file (not gzip or zip) of a shape in ``DIRECT_SHAPES``, up to
``DIRECT_MAX_BYTES``, is then read by DuckDB's ``read_text``, cut at LF, numbered by position
and normalized by the same INSERT as a reader's batches, on DuckDB's threads (issue #18).

The fast path is taken only where it stores exactly what ``sources.lines`` and the reader
would: the workspace rolls it back, and the file goes through the reader, unless DuckDB stored
as many events as the file has lines. So a blank line, a byte-order mark, a line longer than
[limits] record_bytes, text that is not UTF-8, a line that is not JSON or a JSON line that is
no event all send their file back to the reader, which names each bad line with its number.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from bluebench.events import storage
from bluebench.events.normalize import normalize_sql
from bluebench.sources import InputFile
from bluebench.sources.lines import GZIP_MAGIC, ZIP_MAGIC

#: Reader shapes whose lines DuckDB may cut itself: one JSON record a line, no parameters.
DIRECT_SHAPES = ("winlogbeat", "otrf")
#: A file is read whole by ``read_text`` (once per DuckDB thread at a time), so it is bounded.
DIRECT_MAX_BYTES = 128 * 1024 * 1024
#: Files stored together in one transaction: enough rows that DuckDB compresses and writes full
#: row groups on its own threads while inserting, where a transaction of one smaller file left
#: them to the commit, single-threaded; and enough files that DuckDB's threads, one file each at
#: a time, seldom wait for the last file of a group.
DIRECT_GROUP_BYTES = 512 * 1024 * 1024
#: DuckDB's share of the workspace's memory limit while it reads several parts of a group at once
#: (``Workspace._memory_for_parts``): the rest is left to the process around it (Python, Arrow),
#: which DuckDB's limit does not count. Measured on 2M generated events at a 1 GB limit: two parts
#: filled DuckDB's limit and the process peaked near 1.1 GB; one part used about 600 MB.
PARALLEL_MEMORY_SHARE = 0.8

# Every line of the files in {files}, numbered from 1 as the line reader numbers them; the piece
# after a final LF is no line. A CR before the LF is dropped, as the line reader drops it. A file
# name DuckDB gives back other than as it was given ($paths, shown as $names) fails the query (and
# the files go to their reader) rather than store events without their file.
_LINES_SQL = r"""
    SELECT record, CASE WHEN ends_with(line, E'\r') THEN rtrim(line, E'\r\n') ELSE line END AS raw,
           coalesce(map_extract_value(MAP($paths::VARCHAR[], $names::VARCHAR[]), filename),
                    error('read_text named a file it was not given')) AS file
    FROM (SELECT filename, i AS record, l[i] AS line
          FROM (SELECT filename, l, generate_subscripts(l, 1) AS i
                FROM (SELECT filename, string_split(content, E'\n') AS l FROM read_text({files})))
          WHERE i < len(l) OR l[i] <> '')
    WHERE strlen(line) <= $max_line
"""
#: Every line of the files in $paths, read by one ``read_text``.
RAW_LINES_SQL = _LINES_SQL.replace("{files}", "$paths")


def part_parameter(i: int) -> str:
    """The name of the parameter that lists the files of part ``i`` of ``raw_lines_sql``."""
    return f"part{i}"


def raw_lines_sql(parts: int) -> str:
    """Every line of the files in $part0 ... $part<parts - 1>, one ``read_text`` per part.

    DuckDB reads, cuts and normalizes what one ``read_text`` gives on one thread, whatever its
    number of files; the branches of a UNION ALL run on threads of their own, so ``parts`` of
    them keep that many cores busy.
    """
    return " UNION ALL ".join(
        _LINES_SQL.replace("{files}", "$" + part_parameter(i)) for i in range(max(parts, 1))
    )


def split_by_size(sizes: list[int], parts: int) -> list[list[int]]:
    """The indexes of ``sizes`` in at most ``parts`` parts of near equal total, each in input order.

    Largest first, each to the lightest part so far, so the parts end about together and no
    thread waits long for the last; empty parts are left out.
    """
    totals = [0] * max(parts, 1)
    out: list[list[int]] = [[] for _ in totals]
    for i in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        j = min(range(len(totals)), key=lambda j: (totals[j], len(out[j]), j))
        totals[j] += sizes[i]
        out[j].append(i)
    return [sorted(part) for part in out if part]


def parts_for(sizes: list[int], threads: int, memory: int) -> int:
    """How many parts of a group of files of ``sizes`` to read side by side with ``memory`` bytes.

    One per DuckDB thread, but no more than hold their files' text and lines (twice a file, which
    DuckDB cannot spill) in half of ``memory``: the other half is for the row groups each part
    fills, which DuckDB spills when it must. On many cores with a small limit, a group of large
    files is read in fewer parts instead of failing for memory and being retried file by file.
    """
    held = 2 * max(sizes, default=0)
    fit = memory // 2 // held if held else len(sizes)
    return max(1, min(threads, len(sizes), fit))


def insert_sql(shape: str, parts: int = 1) -> str:
    """INSERT of every line of the files in $part0 ... $part<parts - 1> (all of them in $paths,
    shown as $names), normalized as ``shape``.

    Unchecked: a line that is not JSON makes the query fail (the caller falls back), and
    the shape's SQL leaves out a line that names no event (the count tells).
    """
    lines = raw_lines_sql(parts)
    return storage.insert_sql(shape, f"WITH raw_batch AS ({lines}) {normalize_sql(shape, {}, checked=False)}")


def path_text(path: Path) -> str:
    """The path as DuckDB is given it: absolute, so no prefix of it is read as a URL scheme."""
    return str(path.resolve())


def readable(path: Path) -> bool:
    """True for a plain file (neither gzip nor zip: its bytes are its lines) whose path DuckDB
    opens as written: ``read_text`` takes a glob, so a name with a glob character is left to
    the reader."""
    if GLOB_CHARACTERS & set(path_text(path)):
        return False
    with path.open("rb") as fh:
        magic = fh.read(4)
    return not (magic.startswith(ZIP_MAGIC) or magic.startswith(GZIP_MAGIC))


GLOB_CHARACTERS = frozenset("*?[]{}\\")


def fingerprint_and_lines(path: Path, block: int = 1 << 20) -> tuple[str, int]:
    """The content fingerprint (as ``workspace.fingerprint``) and the number of lines, in one pass.

    A last line without LF counts; counting in the pass that hashes costs next to nothing,
    where a pass of its own would read the file again.
    """
    digest = hashlib.sha256()
    lines = 0
    last = b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return digest.hexdigest()[:40], lines + (last != b"\n")


def fingerprinted_ahead(
    files: Iterable[InputFile], ahead: int = 2
) -> Iterator[tuple[InputFile, Future[tuple[str, int]]]]:
    """Each file with its fingerprint and line count, computed on a thread ``ahead`` files early.

    Hashing is a pass over every byte in Python's thread (hashlib lets go of the GIL), so it
    runs while DuckDB stores the files before instead of between their inserts, on a core
    DuckDB would otherwise leave idle.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bluebench-fingerprint") as pool:
        queue: deque[tuple[InputFile, Future[tuple[str, int]]]] = deque()
        for f in files:
            queue.append((f, pool.submit(fingerprint_and_lines, f.path)))
            if len(queue) > ahead:
                yield queue.popleft()
        while queue:
            yield queue.popleft()


class NotEveryLine(Exception):
    """Files read by DuckDB stored fewer events than they have lines: their reader must say why."""
