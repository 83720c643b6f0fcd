"""A corrupt EVTX chunk: its records are counted one by one, the chunks around it are read."""

from __future__ import annotations

from pathlib import Path

from bluebench.sources.base import ReadOptions, Skipped
from bluebench.sources.evtx import EvtxReader
from logtext import EVTX_RECORDS, corrupt_second_chunk, evtx_copy


def read(path: Path) -> tuple[list[int], list[Skipped]]:
    skipped: list[Skipped] = []
    records: list[int] = []
    for batch in EvtxReader().read(path, path.name, skipped, ReadOptions()):
        records.extend(batch.table.column("record").to_pylist())
    return records, skipped


def test_clean_file_reads_every_record(tmp_path: Path) -> None:
    records, skipped = read(evtx_copy(tmp_path))
    assert records == list(range(1, EVTX_RECORDS + 1))
    assert skipped == []


def test_corrupt_second_chunk(tmp_path: Path) -> None:
    path = evtx_copy(tmp_path)
    corrupt_second_chunk(path)
    records, skipped = read(path)
    # Chunk 2 held records 28-54: those are lost, each named; chunks 1 and 3 are read.
    assert records == list(range(1, 28)) + list(range(55, EVTX_RECORDS + 1))
    assert [s.record for s in skipped] == list(range(28, 55))
    assert all(s.file == "sql.evtx" and not s.kept for s in skipped)
    assert str(skipped[0]).startswith("sql.evtx, record 28: lost in corrupt EVTX data after record 27: ")
    assert "28..54" in skipped[0].reason


def test_corrupt_chunk_header(tmp_path: Path) -> None:
    """A destroyed chunk magic: the parser names no records, the gap still does."""
    path = evtx_copy(tmp_path)
    data = bytearray(path.read_bytes())
    data[4096 + 65536 : 4096 + 65536 + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    records, skipped = read(path)
    assert len(records) == EVTX_RECORDS - 27
    assert [s.record for s in skipped] == list(range(28, 55))
    assert "chunk header" in skipped[0].reason


def test_corrupt_last_chunk_without_later_record(tmp_path: Path) -> None:
    """Nothing follows the bad data: the file header's next record id bounds the loss."""
    path = evtx_copy(tmp_path)
    data = bytearray(path.read_bytes())
    third = 4096 + 2 * 65536
    data[third : third + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    records, skipped = read(path)
    assert records == list(range(1, 55))
    assert [s.record for s in skipped] == list(range(55, EVTX_RECORDS + 1))
    assert str(skipped[0]).startswith("sql.evtx, record 55: lost in corrupt EVTX data after record 54: ")


def test_corrupt_end_with_stale_header(tmp_path: Path) -> None:
    """A header that does not say how many records follow: one entry names the place."""
    path = evtx_copy(tmp_path)
    data = bytearray(path.read_bytes())
    third = 4096 + 2 * 65536
    data[third : third + 8] = b"\xff" * 8
    data[24:32] = (1).to_bytes(8, "little")  # next record id 1: stale, says nothing
    path.write_bytes(bytes(data))
    records, skipped = read(path)
    assert records == list(range(1, 55))
    assert len(skipped) == 1 and skipped[0].record is None
    assert str(skipped[0]).startswith("sql.evtx: corrupt EVTX data after record 54: ")
