"""Windows EVTX through the Rust-based ``evtx`` parser, records as the parser's JSON."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
from evtx import PyEvtxParser

from bluebench.sources.base import RAW_SCHEMA, RawBatch, ReadOptions, Skipped
from bluebench.sources.limits import bytes_text

EVTX_MAGIC = b"ElfFile\x00"
CHUNK_MAGIC = b"ElfChnk\x00"
FILE_HEADER_BYTES = 128  # what is read of the 4 KiB header block: the rest is padding
CHUNK_BYTES = 65536
CHUNK_HEADER_BYTES = 128
# The fewest bytes a record takes (its header and the end of its binary XML), so a chunk
# holds at most this many: a header that promises more is not believed.
MAX_RECORDS_PER_CHUNK = CHUNK_BYTES // 28
BATCH_RECORDS = 20_000
# A corrupt file can make the parser raise at every step; past this many errors in a row
# the rest of the file is reported as unreadable instead of looping.
MAX_CONSECUTIVE_ERRORS = 1_000
# The parser names the records it could not read, e.g. "chunk containing record IDs 28..54".
RANGE_IN_MESSAGE = re.compile(r"record IDs (\d+)\.\.(\d+)")
ONE_IN_MESSAGE = re.compile(r"record number (\d+)")


class EvtxReader:
    """Binary Windows event logs; a corrupt chunk is reported and reading goes on."""

    name: ClassVar[str] = "evtx"

    def sniff(self, head: bytes, path: Path) -> bool:
        """EVTX files start with the 8-byte magic ``ElfFile\\0``."""
        return head.startswith(EVTX_MAGIC)

    def read(
        self, path: Path, display: str, skipped: list[Skipped], options: ReadOptions
    ) -> Iterator[RawBatch]:
        """Yield batches of (EVTX record id, record JSON)."""
        parser = PyEvtxParser(str(path))
        it = iter(parser.records_json())
        records: list[int] = []
        raws: list[str] = []
        seen: set[int] = set()  # every record id read, to compare with what the headers promise
        lost_before = len(skipped)
        last_good: int | None = None
        errors = 0
        pending: list[str] = []  # parser errors since the last good record
        max_record = options.limits.record_bytes
        while True:
            try:
                rec = next(it)
            except StopIteration:
                break
            except RuntimeError as exc:
                errors += 1
                pending.append(_short(exc))
                if errors >= MAX_CONSECUTIVE_ERRORS:
                    _report_lost(display, skipped, pending, last_good, None)
                    pending = []
                    skipped.append(Skipped(display, None, "too many EVTX errors; rest of file unread"))
                    break
                continue
            errors = 0
            if rec is None:
                continue
            rid = int(rec["event_record_id"])
            if pending:
                _report_lost(display, skipped, pending, last_good, rid)
                pending = []
            last_good = rid
            seen.add(rid)
            data = rec["data"]
            if len(data) > max_record:
                skipped.append(
                    Skipped(
                        display,
                        rid,
                        f"record of {bytes_text(len(data))} as JSON, longer than "
                        f"[limits] record_bytes = {bytes_text(max_record)}; skipped",
                    )
                )
                continue
            records.append(rid)
            raws.append(data)
            if len(records) >= BATCH_RECORDS:
                yield RawBatch("evtx", pa.table([records, raws], schema=RAW_SCHEMA), display)
                records, raws = [], []
        if pending:
            # The file header's next record id bounds records lost at the end of the file.
            end = _next_record_id(path)
            after = end if end is not None and (last_good is None or end > last_good + 1) else None
            _report_lost(display, skipped, pending, last_good, after)
        reported = {s.record for s in skipped[lost_before:] if s.record is not None}
        _report_missing(path, display, skipped, seen | reported)
        if records:
            yield RawBatch("evtx", pa.table([records, raws], schema=RAW_SCHEMA), display)


def _report_lost(
    display: str, skipped: list[Skipped], errors: list[str], before: int | None, after: int | None
) -> None:
    """One skipped entry per record lost between two good records, so counts are exact.

    Record ids are consecutive within a file, so the gap between the last good record and the
    next one is what the corrupt data held; the parser's messages may also name the range.
    When neither says which records were lost, one entry names the place instead.
    """
    lost: set[int] = set()
    for msg in errors:
        for lo, hi in RANGE_IN_MESSAGE.findall(msg):
            lost.update(range(int(lo), int(hi) + 1))
        lost.update(int(n) for n in ONE_IN_MESSAGE.findall(msg))
    if before is not None and after is not None and after > before + 1:
        lost.update(range(before + 1, after))
    lost = {r for r in lost if (before is None or r > before) and (after is None or r < after)}
    where = f"after record {before}" if before is not None else "before any record"
    reason = errors[0] + (f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else "")
    if not lost:
        skipped.append(Skipped(display, None, f"corrupt EVTX data {where}: {reason}"))
        return
    skipped.extend(Skipped(display, r, f"lost in corrupt EVTX data {where}: {reason}") for r in sorted(lost))


@dataclass(frozen=True)
class Promise:
    """What an EVTX file's headers say it holds: chunks, record id ranges and the next id."""

    chunks: int  # chunks the file header counts
    oldest_chunk: int  # where the oldest records are: not 0 once the log has wrapped
    next_record: int  # the id the next record written would get
    size: int  # bytes in the file
    full_size: int  # bytes the header's chunks take
    ranges: tuple[tuple[int, int], ...]  # (first id, last id) of each chunk header present
    absent: tuple[int, ...]  # chunks the file header counts that the file does not hold


def read_promise(path: Path) -> Promise | None:
    """The file header's chunk count and next record id, and each chunk header's record ids.

    Only the file header and each chunk's 128-byte header are read. None when the file
    header is not an EVTX header (the parser then says what is wrong).
    """
    with path.open("rb") as fh:
        head = fh.read(FILE_HEADER_BYTES)
        size = fh.seek(0, 2)
        if len(head) < FILE_HEADER_BYTES or not head.startswith(EVTX_MAGIC):
            return None
        # Offsets of the EVTX file header: oldest chunk (8), next record id (24), header
        # block size (40), chunk count (42); of a chunk header: first and last record id (24).
        (oldest,) = struct.unpack_from("<Q", head, 8)
        (next_record,) = struct.unpack_from("<Q", head, 24)
        block, chunks = struct.unpack_from("<HH", head, 40)
        ranges: list[tuple[int, int]] = []
        absent: list[int] = []
        for i in range(chunks):
            fh.seek(block + i * CHUNK_BYTES)
            chunk = fh.read(CHUNK_HEADER_BYTES)
            if len(chunk) < CHUNK_HEADER_BYTES:
                absent.append(i)
            elif chunk.startswith(CHUNK_MAGIC):
                first, last = struct.unpack_from("<QQ", chunk, 24)
                if 0 < first <= last < first + MAX_RECORDS_PER_CHUNK:
                    ranges.append((first, last))
    return Promise(
        chunks, oldest, next_record, size, block + chunks * CHUNK_BYTES, tuple(ranges), tuple(absent)
    )


def _report_missing(path: Path, display: str, skipped: list[Skipped], accounted: set[int]) -> None:
    """Name the records the headers promise that were neither read nor already reported.

    A file cut short (a copy interrupted, a download stopped) ends inside or before chunks
    the file header counts, and the parser reads what is whole without a word about the
    rest. A chunk whose header survived names its records. Records newer than every chunk
    present, up to the header's next record id, can only have been in the chunks cut away;
    once the log has wrapped those chunks may also have held older records, which nothing
    names, so one entry says how many chunks are missing.
    """
    promise = read_promise(path)
    if promise is None:
        return
    expected: set[int] = set()
    for first, last in promise.ranges:
        expected.update(range(first, last + 1))
    newest = max((last for _, last in promise.ranges), default=0)
    gap = promise.next_record - newest - 1
    if promise.absent and 0 < gap <= len(promise.absent) * MAX_RECORDS_PER_CHUNK:
        expected.update(range(newest + 1, promise.next_record))
    counted = f"{promise.chunks} chunk{'s' if promise.chunks != 1 else ''} and records up to {promise.next_record - 1}"
    if promise.size < promise.full_size:
        where = f"the file ends at {bytes_text(promise.size)}, short of the {counted} its header counts (truncated?)"
    else:
        where = f"its chunk header lists it but the parser returned no such record (header counts {counted})"
    skipped.extend(Skipped(display, r, f"not in the file: {where}") for r in sorted(expected - accounted))
    if promise.absent and (
        promise.oldest_chunk != 0 or not 0 < gap <= len(promise.absent) * MAX_RECORDS_PER_CHUNK
    ):
        skipped.append(
            Skipped(display, None, f"chunks {_span(promise.absent)} missing, records unknown: {where}")
        )


def _span(numbers: tuple[int, ...]) -> str:
    """'3' or '3-15' (chunks counted from 1, as people count them)."""
    lo, hi = numbers[0] + 1, numbers[-1] + 1
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _next_record_id(path: Path) -> int | None:
    """The 'next record id' of the EVTX file header (offset 24), or None when unreadable."""
    with path.open("rb") as fh:
        head = fh.read(32)
    if len(head) < 32 or not head.startswith(EVTX_MAGIC):
        return None
    return int.from_bytes(head[24:32], "little")


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200]
