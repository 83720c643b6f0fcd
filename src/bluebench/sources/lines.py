"""Cut text files into numbered lines as Arrow arrays without a Python object per line.

Newlines are found with numpy over large blocks; the block becomes an Arrow string array by
offsets. Only a block that fails UTF-8 validation falls back to a per-line slow path.
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
    """
    carry = b""
    line_no = 0
    while True:
        chunk = stream.read(block_bytes)
        if not chunk and not carry:
            return
        data = carry + chunk
        if chunk:
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            carry = data[cut + 1 :]
            data = data[: cut + 1]
        else:
            carry = b""
            if not data.endswith(b"\n"):
                data += b"\n"
        table, n_lines = _block_to_table(data, line_no, display, skipped, replace_invalid)
        line_no += n_lines
        if table.num_rows:
            yield table
        if not chunk:
            return


def _block_to_table(
    data: bytes, first: int, display: str, skipped: list[Skipped], replace_invalid: bool
) -> tuple[pa.Table, int]:
    """Turn a block of whole lines into (record, raw) by offsets into the block itself."""
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    offsets = np.empty(len(ends) + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = ends + 1
    arr = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
    records = np.arange(first + 1, first + 1 + len(ends), dtype=np.int64)
    try:
        arr.validate(full=True)
    except pa.ArrowInvalid:
        arr, records = _slow_decode(arr, records, display, skipped, replace_invalid)
    text = pc.utf8_rtrim(arr, characters="\r\n")
    keep = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0)
    table = pa.table({"record": pa.array(records, pa.int64()), "raw": text}).filter(keep)
    return table, len(ends)


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
