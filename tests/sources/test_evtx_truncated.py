"""A truncated EVTX: every record its headers promise is either read or named, never lost in silence.

The parser reads the chunks that are whole and says nothing of a chunk cut short or cut
away; the file header (chunk count, next record id) and each chunk header (record ids) say
what should be there. The shipped file has three chunks: records 1-27, 28-54 and 55-72.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bluebench.events.workspace import Workspace
from bluebench.sources import InputFile
from logtext import EVTX_CHUNK, EVTX_HEADER, EVTX_RECORDS, ROOT, evtx_copy, read_evtx

ONE_CHUNK = ROOT / "data" / "evtx" / "ID4-OpenSSH brutforce with valid users.evtx.gz"


def cut(path: Path, size: int) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[:size])
    return path


def test_cut_inside_the_second_chunk_names_every_record_after_the_first(tmp_path: Path) -> None:
    path = cut(evtx_copy(tmp_path), EVTX_HEADER + EVTX_CHUNK + 30_000)
    records, skipped = read_evtx(path)
    assert records == list(range(1, 28))
    assert [s.record for s in skipped] == list(range(28, EVTX_RECORDS + 1))
    first = str(skipped[0])
    assert first.startswith("sql.evtx, record 28: not in the file: the file ends at 99,632 bytes")
    assert "3 chunks and records up to 72" in first and "truncated" in first
    assert all(not s.kept for s in skipped)


def test_a_small_file_cut_short_gives_no_event_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "ssh.evtx"
    with gzip.open(ONE_CHUNK, "rb") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    whole = read_evtx(path)[0]
    cut(path, path.stat().st_size - 632)
    records, skipped = read_evtx(path)
    assert records == [] and whole
    assert [s.record for s in skipped] == whole


def test_chunks_cut_away_on_a_wrapped_log_are_counted_when_their_ids_are_unknown(tmp_path: Path) -> None:
    """Once a log has wrapped, chunks cut away may have held older records no header names."""
    path = evtx_copy(tmp_path)
    data = bytearray(path.read_bytes()[: EVTX_HEADER + EVTX_CHUNK])
    data[8:16] = (1).to_bytes(8, "little")  # the oldest records are in chunk 2: the log wrapped
    path.write_bytes(bytes(data))
    records, skipped = read_evtx(path)
    assert records == list(range(1, 28))
    named = [s.record for s in skipped if s.record is not None]
    assert named == list(range(28, EVTX_RECORDS + 1)), "newer than every chunk present: known"
    unknown = [s for s in skipped if s.record is None]
    assert len(unknown) == 1 and "chunks 2-3 missing, records unknown" in unknown[0].reason


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(min_value=EVTX_HEADER, max_value=EVTX_HEADER + 3 * EVTX_CHUNK))
def test_wherever_the_file_is_cut_every_record_is_read_or_named(tmp_path: Path, size: int) -> None:
    path = cut(evtx_copy(tmp_path, f"cut{size}.evtx"), size)
    records, skipped = read_evtx(path)
    named = [s.record for s in skipped if s.record is not None]
    assert sorted(records + named) == list(range(1, EVTX_RECORDS + 1)), "each record exactly once"


def test_ingest_counts_the_missing_records_and_says_so(tmp_path: Path) -> None:
    path = cut(evtx_copy(tmp_path), 100_000)
    with Workspace(tmp_path / "ws") as ws:
        summary = ws.ingest([InputFile(path, "sql.evtx")])
        assert summary.had_problems, "records missing: exit 1, not a clean run"
        assert summary.events == 27 and summary.skipped_records == EVTX_RECORDS - 27
        logged = ws.con.execute("SELECT min(record), max(record), count(*) FROM skipped").fetchall()
        assert logged == [(28, EVTX_RECORDS, EVTX_RECORDS - 27)]
