"""Cut text files into numbered lines as Arrow arrays without a Python object per line.

Newlines are found with numpy over large blocks; the block, its newlines dropped by one
``bytes.replace``, becomes an Arrow string array by offsets. Only a block that fails UTF-8 validation falls back to a per-line slow path.
"""

from __future__ import annotations

import gzip
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluebench.sources.base import Skipped

ZIP_MAGIC = b"PK\x03\x04"
GZIP_MAGIC = b"\x1f\x8b"


def open_members(path: Path, display: str, skipped: list[Skipped]) -> Iterator[tuple[str, IO[bytes]]]:
    """Yield (display name, binary stream) for a plain, gzip or zip file.

    Zip members that are macOS resource forks or folders are skipped and counted, since a
    zip exported on a Mac carries them beside the data.
    """
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic.startswith(ZIP_MAGIC):
        with zipfile.ZipFile(path) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()]
            data = [i for i in members if not _is_junk(i.filename)]
            for info in members:
                if _is_junk(info.filename):
                    skipped.append(
                        Skipped(f"{display}!{info.filename}", None, "macOS metadata member ignored")
                    )
            for info in data:
                name = display if len(data) == 1 else f"{display}!{info.filename}"
                with zf.open(info) as stream:
                    yield name, stream
    elif magic.startswith(GZIP_MAGIC):
        with gzip.open(path, "rb") as stream:
            yield display, stream  # type: ignore[misc]
    else:
        with path.open("rb") as stream:
            yield display, stream


def _is_junk(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or base.startswith("._") or base == ".DS_Store"


def read_head(path: Path, size: int = 65536) -> bytes:
    """First bytes of the first data stream of ``path`` (decompressed), for format sniffing."""
    skipped: list[Skipped] = []
    try:
        for _, stream in open_members(path, str(path), skipped):
            return stream.read(size)
    except (OSError, zipfile.BadZipFile, EOFError):
        with path.open("rb") as fh:
            return fh.read(size)
    return b""


def iter_line_blocks(
    stream: IO[bytes],
    display: str,
    skipped: list[Skipped],
    block_bytes: int,
    replace_invalid: bool = False,
) -> Iterator[pa.Table]:
    """Yield tables (record, raw) of non-blank lines; record is the 1-based line number.

    Lines that are not UTF-8 are skipped and counted, or, with ``replace_invalid`` (plain
    text logs, where the line still carries evidence), decoded with U+FFFD and kept.

    A block is used as read: the line it cuts at its end is completed with ``readline``
    and yielded on its own, so no block is ever copied to join or split it.
    """
    line_no = 0
    scratch = np.empty(0, dtype=bool)
    while True:
        chunk = stream.read(block_bytes)
        if not chunk:
            return
        if len(scratch) < len(chunk):
            scratch = np.empty(len(chunk), dtype=bool)
        cut = chunk.rfind(b"\n") + 1
        tail = chunk[cut:]
        if tail:
            tail += stream.readline()  # the rest of the cut line, or nothing at the end
            if not tail.endswith(b"\n"):
                tail += b"\n"
        for data, end in ((chunk, cut), (tail, len(tail))):
            if not end:
                continue
            table, n_lines = _block_to_table(data, end, line_no, display, skipped, replace_invalid, scratch)
            line_no += n_lines
            if table.num_rows:
                yield table


def _block_to_table(
    data: bytes,
    end: int,
    first: int,
    display: str,
    skipped: list[Skipped],
    replace_invalid: bool,
    scratch: np.ndarray | None = None,
) -> tuple[pa.Table, int]:
    """Turn the whole lines in ``data[:end]`` into (record, raw) without a Python object per line.

    The common case (no carriage returns) costs two passes in C: one to find the newlines
    and one ``bytes.replace`` that drops them, so the lines become one contiguous buffer
    that the string array points into. Blank lines, CRLF and invalid UTF-8 take slower
    but still vectorised paths.
    """
    ends = _newlines(data, end, scratch)
    n = len(ends)
    records = np.arange(first + 1, first + 1 + n, dtype=np.int64)
    if data.find(b"\r", 0, end) >= 0:
        arr = _with_newlines(data, ends)
        try:
            arr.validate(full=True)
        except pa.ArrowInvalid:
            arr, records = _slow_decode(arr, records, display, skipped, replace_invalid)
        arr = pc.utf8_rtrim(arr, characters="\r\n")
    else:
        offsets = np.empty(n + 1, dtype=np.int64)
        offsets[0] = 0
        offsets[1:] = ends - np.arange(n)  # line i loses the i newlines before it
        body = data.replace(b"\n", b"")
        arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(body))
        try:
            arr.validate(full=True)
        except pa.ArrowInvalid:
            arr, records = _slow_decode(
                _with_newlines(data, ends), records, display, skipped, replace_invalid
            )
            arr = pc.utf8_rtrim(arr, characters="\r\n")
    keep = _not_blank(arr)
    table = pa.table({"record": pa.array(records, pa.int64()), "raw": arr})
    if keep is not None:
        table = table.filter(keep)
    return table, n


def _newlines(data: bytes, end: int, scratch: np.ndarray | None = None) -> np.ndarray:
    """Positions of every LF in ``data[:end]``.

    ``scratch``, a boolean array at least ``end`` long reused from block to block, saves
    allocating (and the kernel zeroing) a fresh mask for every block.
    """
    buf = np.frombuffer(data, dtype=np.uint8, count=end)
    mask = scratch[:end] if scratch is not None and len(scratch) >= end else np.empty(end, dtype=bool)
    np.equal(buf, 10, out=mask)
    return np.flatnonzero(mask)


def _with_newlines(data: bytes, ends: np.ndarray) -> pa.Array:
    """The lines as strings that still end with their LF (one buffer, no copy)."""
    offsets = np.empty(len(ends) + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = ends + 1
    return pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))


_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[9, 10, 11, 12, 13, 32]] = True
# First bytes of the multi-byte characters Unicode calls white space (U+0085, U+00A0,
# U+1680, U+2000-U+200A, U+2028/9, U+202F, U+205F, U+3000).
_MAYBE_SPACE = _ASCII_SPACE.copy()
_MAYBE_SPACE[[0xC2, 0xE1, 0xE2, 0xE3]] = True


def _not_blank(arr: pa.Array) -> pa.Array | None:
    """Mask of lines that are not empty or white space; None when every line is kept.

    Only lines that are empty or start with a byte that may begin white space are looked
    at closely, so a block of ordinary lines costs one pass over the line starts.
    """
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64, count=len(arr) + 1, offset=arr.offset * 8)
    lengths = np.diff(offsets)
    empty = lengths == 0
    data = arr.buffers()[2]
    if data is None or data.size == 0 or len(arr) == 0:
        return pa.array(~empty) if empty.any() else None
    buf = np.frombuffer(data, dtype=np.uint8)
    first = buf[np.minimum(offsets[:-1], len(buf) - 1)]
    suspect = np.flatnonzero(~empty & _MAYBE_SPACE[first])
    if not empty.any() and not len(suspect):
        return None
    keep = ~empty
    if len(suspect):
        sub = arr.take(pa.array(suspect))
        blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(sub)), 0).to_numpy(zero_copy_only=False)
        keep[suspect[blank]] = False
    return pa.array(keep)


def _slow_decode(
    arr: pa.Array, records: np.ndarray, display: str, skipped: list[Skipped], replace_invalid: bool
) -> tuple[pa.Array, np.ndarray]:
    """Per-line path for the rare block with invalid UTF-8."""
    raw = arr.view(pa.large_binary()).to_pylist()
    out: list[str] = []
    kept: list[int] = []
    for rec, line in zip(records.tolist(), raw, strict=True):
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            if replace_invalid:
                out.append(line.decode("utf-8", errors="replace"))
                skipped.append(
                    Skipped(display, rec, f"not UTF-8 at byte {exc.start}; kept with U+FFFD", kept=True)
                )
            else:
                skipped.append(Skipped(display, rec, f"not UTF-8 at byte {exc.start}; record skipped"))
                continue
        kept.append(rec)
    return pa.array(out, pa.large_string()), np.asarray(kept, dtype=np.int64)
