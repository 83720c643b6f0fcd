"""Windows EVTX through the Rust-based ``evtx`` parser, records as the parser's JSON."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
from evtx import PyEvtxParser

from bluebench.sources.base import RAW_SCHEMA, RawBatch, ReadOptions, Skipped

EVTX_MAGIC = b"ElfFile\x00"
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
        last_good: int | None = None
        errors = 0
        pending: list[str] = []  # parser errors since the last good record
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
            records.append(rid)
            raws.append(rec["data"])
            if len(records) >= BATCH_RECORDS:
                yield RawBatch("evtx", pa.table([records, raws], schema=RAW_SCHEMA), display)
                records, raws = [], []
        if pending:
            # The file header's next record id bounds records lost at the end of the file.
            end = _next_record_id(path)
            after = end if end is not None and (last_good is None or end > last_good + 1) else None
            _report_lost(display, skipped, pending, last_good, after)
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
