"""Windows EVTX through the Rust-based ``evtx`` parser, records as the parser's JSON."""

from __future__ import annotations

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
        while True:
            try:
                rec = next(it)
            except StopIteration:
                break
            except RuntimeError as exc:
                errors += 1
                where = f"after record {last_good}" if last_good is not None else "before any record"
                skipped.append(Skipped(display, None, f"corrupt EVTX data {where}: {_short(exc)}"))
                if errors >= MAX_CONSECUTIVE_ERRORS:
                    skipped.append(Skipped(display, None, "too many EVTX errors; rest of file unread"))
                    break
                continue
            errors = 0
            if rec is None:
                continue
            last_good = int(rec["event_record_id"])
            records.append(last_good)
            raws.append(rec["data"])
            if len(records) >= BATCH_RECORDS:
                yield RawBatch("evtx", pa.table([records, raws], schema=RAW_SCHEMA), display)
                records, raws = [], []
        if records:
            yield RawBatch("evtx", pa.table([records, raws], schema=RAW_SCHEMA), display)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200]
