"""Cut text files into numbered lines as Arrow arrays without a Python object per line.

Newlines are found with numpy over large blocks; the block, its newlines dropped by one
``bytes.replace``, becomes an Arrow string array by offsets. Only a block that fails UTF-8 validation falls back to a per-line slow path.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluebench.sources.base import Skipped
from bluebench.sources.limits import DEFAULT_LIMITS, Limits, bytes_text

ZIP_MAGIC = b"PK\x03\x04"
GZIP_MAGIC = b"\x1f\x8b"
JUNK_MEMBER = "macOS metadata member ignored"


class ByteStream(Protocol):
    """What the line splitter reads: a file, a decompressing stream or a bounded one."""

    def read(self, n: int = -1, /) -> bytes: ...

    def readline(self, limit: int = -1, /) -> bytes: ...


class Bounded:
    """A decompressing stream that ends, with the reason named in ``skipped``, where it may not go on.

    It ends when the member grows past ``member_bytes``, or past ``archive_ratio`` times its
    compressed size once larger than ``ratio_floor_bytes`` (a bomb), or when the archive is
    damaged; what was read before stays read, as for a log cut short.
    """

    def __init__(
        self, inner: ByteStream, name: str, skipped: list[Skipped], limits: Limits, compressed: int
    ) -> None:
        self._inner = inner
        self._name = name
        self._skipped = skipped
        self._limits = limits
        by_ratio = max(limits.ratio_floor_bytes, limits.archive_ratio * max(compressed, 1))
        self._max = min(limits.member_bytes, by_ratio)
        self._compressed = compressed
        self.count = 0
        self.ended = False

    def read(self, n: int = -1, /) -> bytes:
        return self._take(lambda room: self._inner.read(room if n < 0 else min(n, room)))

    def readline(self, limit: int = -1, /) -> bytes:
        return self._take(lambda room: self._inner.readline(room if limit < 0 else min(limit, room)))

    def _take(self, step: Callable[[int], bytes]) -> bytes:
        if self.ended:
            return b""
        try:
            data = step(self._max - self.count + 1)  # one byte more than allowed tells a hit
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            self._end(f"damaged after {bytes_text(self.count)}: {_short(exc)}; the rest is not read")
            return b""
        self.count += len(data)
        if self.count > self._max:
            data = data[: len(data) - (self.count - self._max)]
            self.count = self._max
            self._end(self._why())
        return data

    def _why(self) -> str:
        lim = self._limits
        if self._max == lim.member_bytes:
            return f"larger than [limits] member_bytes = {bytes_text(lim.member_bytes)} uncompressed; the rest is not read"
        return (
            f"expands to more than [limits] archive_ratio = {lim.archive_ratio} times its compressed "
            f"{bytes_text(self._compressed)} (a decompression bomb?); the rest is not read"
        )

    def _end(self, reason: str) -> None:
        self.ended = True
        self._skipped.append(Skipped(self._name, None, reason))


def open_members(
    path: Path, display: str, skipped: list[Skipped], limits: Limits = DEFAULT_LIMITS
) -> Iterator[tuple[str, ByteStream]]:
    """Yield (display name, binary stream) for a plain, gzip or zip file.

    Zip members that are macOS resource forks or folders are skipped and counted, since a
    zip exported on a Mac carries them beside the data. A member the limits refuse, or that
    cannot be opened, is named in ``skipped`` and the other members are still read.
    """
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic.startswith(ZIP_MAGIC):
        yield from _zip_members(path, display, skipped, limits)
    elif magic.startswith(GZIP_MAGIC):
        with gzip.open(path, "rb") as stream:
            yield display, Bounded(stream, display, skipped, limits, path.stat().st_size)
    else:
        with path.open("rb") as stream:
            yield display, stream


def _zip_members(
    path: Path, display: str, skipped: list[Skipped], limits: Limits
) -> Iterator[tuple[str, ByteStream]]:
    """The members of a zip that the limits allow, each bounded; the others named and skipped.

    Sizes are checked as the zip declares them before a member is opened (``zipfile`` never
    reads past a declared size, so a member cannot grow beyond it).
    """
    with zipfile.ZipFile(path) as zf:
        members = [i for i in zf.infolist() if not i.is_dir()]
        data = [i for i in members if not _is_junk(i.filename)]
        for info in members:
            if _is_junk(info.filename):
                skipped.append(Skipped(f"{display}!{info.filename}", None, JUNK_MEMBER))
        if len(data) > limits.archive_members:
            skipped.append(
                Skipped(
                    display,
                    None,
                    f"{len(data) - limits.archive_members:,} of {len(data):,} members not read: more than "
                    f"[limits] archive_members = {limits.archive_members:,}; the first "
                    f"{limits.archive_members:,} were read, from {data[limits.archive_members].filename!r} on not",
                )
            )
            data = data[: limits.archive_members]
        total = 0
        for info in data:
            member = f"{display}!{info.filename}"
            refused = _refusal(info, total, limits)
            if refused:
                skipped.append(Skipped(member, None, refused))
                continue
            total += info.file_size
            name = display if len(data) == 1 else member
            try:
                stream = zf.open(info)
            except (RuntimeError, NotImplementedError, zipfile.BadZipFile, OSError) as exc:
                skipped.append(Skipped(member, None, f"member not read: {_short(exc)}"))
                continue
            with stream:
                yield name, Bounded(stream, name, skipped, limits, info.compress_size)


def _refusal(info: zipfile.ZipInfo, total: int, limits: Limits) -> str | None:
    """Why a zip member may not be read, from the sizes the archive declares; None when it may."""
    n, packed = info.file_size, info.compress_size
    if n > limits.member_bytes:
        return f"member of {bytes_text(n)} uncompressed, more than [limits] member_bytes = {bytes_text(limits.member_bytes)}; not read"
    if n > limits.ratio_floor_bytes and n > limits.archive_ratio * max(packed, 1):
        return (
            f"member of {bytes_text(n)} from {bytes_text(packed)} compressed, more than [limits] "
            f"archive_ratio = {limits.archive_ratio} times (a decompression bomb?); not read"
        )
    if total + n > limits.archive_bytes:
        return (
            f"member of {bytes_text(n)} would take the archive past [limits] archive_bytes = "
            f"{bytes_text(limits.archive_bytes)} uncompressed; not read"
        )
    return None


def _is_junk(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or base.startswith("._") or base == ".DS_Store"


def _short(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]


def read_head(
    path: Path, size: int = 65536, limits: Limits = DEFAULT_LIMITS, refused: list[Skipped] | None = None
) -> bytes:
    """First bytes of the first data stream of ``path`` the limits allow (decompressed), for sniffing.

    Members refused on the way are added to ``refused``, so a caller can say why an archive
    whose every member was refused has nothing to recognise.
    """
    skipped: list[Skipped] = []
    try:
        for _, stream in open_members(path, str(path), skipped, limits):
            return stream.read(size)
    except (OSError, zipfile.BadZipFile, EOFError):
        with path.open("rb") as fh:
            return fh.read(size)
    finally:
        if refused is not None:
            refused.extend(s for s in skipped if s.reason != JUNK_MEMBER)
    return b""


def iter_line_blocks(
    stream: ByteStream,
    display: str,
    skipped: list[Skipped],
    block_bytes: int,
    replace_invalid: bool = False,
    max_line: int = DEFAULT_LIMITS.record_bytes,
) -> Iterator[pa.Table]:
    """Yield tables (record, raw) of non-blank lines; record is the 1-based line number.

    Lines that are not UTF-8 are skipped and counted, or, with ``replace_invalid`` (plain
    text logs, where the line still carries evidence), decoded with U+FFFD and kept. A line
    longer than ``max_line`` bytes is skipped and counted without ever being held whole, so
    memory stays bounded by the block whatever the input.

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
        tail, long_tail = _complete_line(stream, chunk[cut:], max_line, block_bytes)
        for data, end in ((chunk, cut), (tail, len(tail))):
            if not end:
                continue
            table, n_lines = _block_to_table(
                data, end, line_no, display, skipped, replace_invalid, scratch, max_line
            )
            line_no += n_lines
            if table.num_rows:
                yield table
        if long_tail:
            line_no += 1
            skipped.append(Skipped(display, line_no, _too_long(long_tail, max_line)))


def _complete_line(stream: ByteStream, tail: bytes, max_line: int, block_bytes: int) -> tuple[bytes, int]:
    """The line a block cut, completed from the stream: (the line with its LF, 0), or, when it
    is longer than ``max_line``, (b"", its length) after reading past it in bounded steps."""
    if not tail:
        return b"", 0
    if len(tail) <= max_line:
        rest = stream.readline(max_line + 1 - len(tail))
        tail += rest
        if rest.endswith(b"\n") or len(tail) <= max_line:
            return (tail if tail.endswith(b"\n") else tail + b"\n"), 0
    n = len(tail)
    while True:  # too long: read on to its end without keeping it
        part = stream.readline(block_bytes)
        n += len(part)
        if not part or part.endswith(b"\n"):
            return b"", n - part.endswith(b"\n")


def _drop_long_lines(
    data: bytes, ends: np.ndarray, first: int, max_line: int, display: str, skipped: list[Skipped]
) -> tuple[bytes, np.ndarray]:
    """``data`` and its LF positions with the lines longer than ``max_line`` emptied, each named
    and counted: they become blank lines, so numbering is kept and nothing downstream sees them."""
    starts = np.empty_like(ends)
    starts[:1] = 0
    starts[1:] = ends[:-1] + 1
    long = np.flatnonzero(ends - starts > max_line)
    if not len(long):
        return data, ends
    pieces: list[bytes] = []
    at = 0
    for i in long.tolist():
        pieces.append(data[at : int(starts[i])])
        at = int(ends[i])  # keep the LF: the line stays, empty
        skipped.append(Skipped(display, first + i + 1, _too_long(int(ends[i] - starts[i]), max_line)))
    pieces.append(data[at : int(ends[-1]) + 1])
    kept = b"".join(pieces)
    return kept, _newlines(kept, len(kept))


def _too_long(n: int, max_line: int) -> str:
    return f"line of {bytes_text(n)}, longer than [limits] record_bytes = {bytes_text(max_line)}; skipped"


def _block_to_table(
    data: bytes,
    end: int,
    first: int,
    display: str,
    skipped: list[Skipped],
    replace_invalid: bool,
    scratch: np.ndarray | None = None,
    max_line: int | None = None,
) -> tuple[pa.Table, int]:
    """Turn the whole lines in ``data[:end]`` into (record, raw) without a Python object per line.

    The common case (no carriage returns) costs two passes in C: one to find the newlines
    and one ``bytes.replace`` that drops them, so the lines become one contiguous buffer
    that the string array points into. Blank lines, CRLF and invalid UTF-8 take slower
    but still vectorised paths.
    """
    ends = _newlines(data, end, scratch)
    if max_line is not None and end > max_line:  # only a block this long can hold a line too long
        data, ends = _drop_long_lines(data, ends, first, max_line, display, skipped)
        end = int(ends[-1]) + 1 if len(ends) else 0
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
