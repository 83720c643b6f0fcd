"""What an EVTX file's headers promise, and a record longer than the limit (see test_evtx_truncated)."""

from __future__ import annotations

from pathlib import Path

from bluebench.sources.base import ReadOptions
from bluebench.sources.evtx import read_promise
from bluebench.sources.limits import Limits
from logtext import EVTX_RECORDS, evtx_copy, read_evtx


def test_a_whole_file_promises_what_it_holds(tmp_path: Path) -> None:
    promise = read_promise(evtx_copy(tmp_path))
    assert promise is not None
    assert (promise.chunks, promise.next_record, promise.absent) == (3, EVTX_RECORDS + 1, ())
    assert promise.ranges == ((1, 27), (28, 54), (55, EVTX_RECORDS))


def test_a_record_longer_than_the_limit_is_named_and_the_rest_read(tmp_path: Path) -> None:
    small = ReadOptions(limits=Limits(record_bytes=1500))
    records, skipped = read_evtx(evtx_copy(tmp_path), small)
    assert skipped, "some records of this file are longer than 1,500 bytes as JSON"
    assert all("longer than [limits] record_bytes = 1,500 bytes" in s.reason for s in skipped)
    assert sorted(records + [s.record for s in skipped if s.record]) == list(range(1, EVTX_RECORDS + 1))
