"""Files DuckDB reads itself store exactly what the Python reader stores, bad lines included.

Each case ingests the same files twice, once with the direct path (``events.direct``) and once
with it turned off, and compares every column of every stored row, the files table and the
skipped records; clean files must take the direct path, bad ones must be named as before.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bluebench.datagen import generate
from bluebench.events import direct
from bluebench.events.workspace import IngestSummary, Workspace, _size_bytes, fingerprint
from bluebench.sources import InputFile, ReadOptions
from bluebench.sources.limits import Limits
from logtext import otrf_line, sshd_lines, write_lines

EVENTS_SQL = 'SELECT * FROM events ORDER BY "event.id"'
FILES_SQL = (
    "SELECT fingerprint, path, reader, size, events, skipped, duplicate_of, location FROM files ORDER BY path"
)
SKIPPED_SQL = (
    "SELECT file, record, reason, kept, fingerprint, unit FROM skipped ORDER BY file, record, reason"
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three days of generated Winlogbeat lines (the shape the 2M benchmark reads)."""
    out = tmp_path_factory.mktemp("gen")
    generate(out, 6000, seed=5, days=3, linux_share=0.0)
    files = sorted((out / "windows").glob("*.ndjson"))
    assert len(files) == 3
    return files


class Both:
    """One set of files ingested both ways; what each stored, and whether the direct path was taken."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp_path = tmp_path
        self.monkeypatch = monkeypatch
        self.streamed: list[str] = []

    def ingest(self, files: list[InputFile], options: ReadOptions | None = None) -> tuple[IngestSummary, ...]:
        fast = self._run("fast", files, options, on=True)
        slow = self._run("slow", files, options, on=False)
        for sql in (EVENTS_SQL, FILES_SQL, SKIPPED_SQL):
            assert self.rows["fast"][sql] == self.rows["slow"][sql], sql
        return fast, slow

    def _run(self, name: str, files: list[InputFile], options: ReadOptions | None, on: bool) -> IngestSummary:
        with self.monkeypatch.context() as m:
            if not on:
                m.setattr(direct, "DIRECT_SHAPES", ())
            else:
                original: Callable[..., Any] = Workspace._store_streaming

                def spy(ws: Workspace, p: Any, opts: ReadOptions) -> Any:
                    self.streamed.append(p.file.display)
                    return original(ws, p, opts)

                m.setattr(Workspace, "_store_streaming", spy)
            with Workspace(self.tmp_path / name) as ws:
                summary = ws.ingest(files, options)
                got = {sql: ws.con.execute(sql).fetchall() for sql in (EVENTS_SQL, FILES_SQL, SKIPPED_SQL)}
        self.rows = getattr(self, "rows", {})
        self.rows[name] = got
        return summary


@pytest.fixture
def both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Both:
    return Both(tmp_path, monkeypatch)


def test_generated_files_are_read_by_duckdb_and_stored_identically(generated: list[Path], both: Both) -> None:
    files = [InputFile(p, f"gen/{p.name}") for p in generated]
    fast, slow = both.ingest(files)
    assert both.streamed == []  # every file went the direct way
    assert fast.events == slow.events == sum(len(p.read_bytes().splitlines()) for p in generated)
    assert [f.events for f in fast.files] == [f.events for f in slow.files]
    assert not fast.had_problems


def test_otrf_lines_without_final_newline_are_read_directly(tmp_path: Path, both: Both) -> None:
    path = tmp_path / "otrf.json"
    path.write_text("\n".join(otrf_line(i, user=f"u{i}") for i in range(1, 40)), encoding="utf-8")
    fast, _ = both.ingest([InputFile(path, "otrf.json")])
    assert both.streamed == [] and fast.events == 39


def test_crlf_lines_are_read_directly_without_their_cr(
    generated: list[Path], tmp_path: Path, both: Both
) -> None:
    lines = generated[0].read_bytes().splitlines()[:300]
    path = tmp_path / "crlf.ndjson"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    fast, _ = both.ingest([InputFile(path, "crlf.ndjson")])
    assert both.streamed == [] and fast.events == 300
    assert both.rows["fast"][EVENTS_SQL][0][28].endswith("}")  # event.original, the CR dropped


def _lines(generated: list[Path], n: int = 200) -> list[bytes]:
    return generated[1].read_bytes().splitlines()[:n]


BAD_FILES: dict[str, Callable[[list[bytes]], bytes]] = {
    "blank lines": lambda ls: b"\n".join([*ls[:5], b"", b"   ", *ls[5:]]) + b"\n\n",
    "byte-order mark": lambda ls: b"\xef\xbb\xbf" + b"\n".join(ls) + b"\n",
    "truncated last line": lambda ls: b"\n".join(ls) + b"\n" + ls[0][:40],
    "line that is not JSON": lambda ls: b"\n".join([*ls[:7], b"{not json", *ls[7:]]) + b"\n",
    "JSON line that is no event": lambda ls: b"\n".join([*ls[:3], b'{"hello": "world"}', *ls[3:]]) + b"\n",
    "not UTF-8": lambda ls: b"\n".join([*ls[:9], ls[9][:-2] + b'\xff"}', *ls[10:]]) + b"\n",
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_lines_send_the_file_to_its_reader_which_names_them(
    case: str, generated: list[Path], tmp_path: Path, both: Both
) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_bytes(BAD_FILES[case](_lines(generated)))
    good = generated[2]
    fast, slow = both.ingest([InputFile(path, "bad.ndjson"), InputFile(good, "good.ndjson")])
    assert both.streamed == ["bad.ndjson"]  # the group rolled back; the good file still read directly
    assert fast.files[1].events == slow.files[1].events > 0  # the good file stored all the same
    assert [str(s) for s in fast.files[0].skipped] == [str(s) for s in slow.files[0].skipped]


def test_a_line_over_the_limit_is_named_as_by_the_reader(
    generated: list[Path], tmp_path: Path, both: Both
) -> None:
    lines = _lines(generated, 50)
    path = tmp_path / "long.ndjson"
    long = lines[4][:-1] + b', "pad": "' + b"x" * 5000 + b'"}'
    path.write_bytes(b"\n".join([*lines[:4], long, *lines[5:]]) + b"\n")
    fast, _ = both.ingest([InputFile(path, "long.ndjson")], ReadOptions(limits=Limits(record_bytes=4096)))
    assert both.streamed == ["long.ndjson"]
    assert [s.record for s in fast.files[0].skipped] == [5] and fast.events == 49


def test_a_name_duckdb_would_read_as_a_glob_is_left_to_the_reader(
    generated: list[Path], tmp_path: Path
) -> None:
    path = tmp_path / "day[1].ndjson"
    path.write_bytes(generated[0].read_bytes())
    assert not direct.readable(path)
    assert direct.readable(generated[0])


def test_the_fingerprint_counts_lines_in_the_same_pass(tmp_path: Path) -> None:
    for data, lines in ((b"a\nb\n", 2), (b"a\nb", 2), (b"\n", 1), (b"x" * 3_000_000 + b"\n" + b"y", 2)):
        path = tmp_path / "f"
        path.write_bytes(data)
        assert direct.fingerprint_and_lines(path, block=1 << 16) == (fingerprint(path), lines)


def test_mixed_inputs_keep_their_order_and_statuses_both_ways(
    generated: list[Path], tmp_path: Path, both: Both
) -> None:
    syslog = write_lines(tmp_path / "auth.log", sshd_lines())
    copy = tmp_path / "copy.ndjson"
    copy.write_bytes(generated[0].read_bytes())
    files = [
        InputFile(generated[0], "a.ndjson"),
        InputFile(tmp_path / "missing.ndjson", "missing.ndjson"),
        InputFile(syslog, "auth.log"),
        InputFile(generated[1], "b.ndjson"),
        InputFile(copy, "copy.ndjson"),  # the same content as a.ndjson, still in the same group
        InputFile(generated[2], "c.ndjson"),
    ]
    fast, slow = both.ingest(files, ReadOptions(year=2024))
    expected = ["ingested", "failed", "ingested", "ingested", "duplicate", "ingested"]
    assert [f.status for f in fast.files] == [f.status for f in slow.files] == expected
    assert [f.file for f in fast.files] == [f.display for f in files]
    assert both.streamed == []


def test_ingest_leaves_the_memory_limit_as_configured(generated: list[Path], tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws", memory_limit="512MB") as ws:
        before = ws.scalar("SELECT current_setting('memory_limit')")
        ws.ingest([InputFile(generated[0], "a.ndjson")])
        assert ws.scalar("SELECT current_setting('memory_limit')") == before


def test_groups_read_in_parts_side_by_side_store_what_one_part_stores(
    generated: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [InputFile(p, f"gen/{p.name}") for p in generated]
    # Two groups: the first two files together (read in two parts when threads allow), the last alone.
    monkeypatch.setattr(direct, "DIRECT_GROUP_BYTES", sum(p.stat().st_size for p in generated[:2]))
    seen: list[tuple[int, int]] = []
    original = direct.insert_sql

    def spy(shape: str, parts: int = 1) -> str:
        seen.append((parts, _size_bytes(str(opened[-1].scalar("SELECT current_setting('memory_limit')")))))
        return original(shape, parts)

    monkeypatch.setattr(direct, "insert_sql", spy)
    opened: list[Workspace] = []
    rows: dict[int, list[list[tuple[Any, ...]]]] = {}
    for threads in (1, 3):
        summary, rows[threads] = _stored_with_threads(tmp_path, files, threads, "800MB", opened.append)
        assert summary.events == sum(len(p.read_bytes().splitlines()) for p in generated)
    assert rows[1] == rows[3]
    assert [parts for parts, _ in seen] == [1, 1, 2, 1]
    # Two parts at once run within a share of the limit, leaving room for the process around DuckDB.
    one, two = seen[0][1], seen[2][1]
    assert two == pytest.approx(one * direct.PARALLEL_MEMORY_SHARE, rel=0.01)


def _stored_with_threads(
    tmp_path: Path,
    files: list[InputFile],
    threads: int,
    memory_limit: str = "1GB",
    opened: Callable[[Workspace], None] = lambda _: None,
) -> tuple[IngestSummary, list[list[tuple[Any, ...]]]]:
    """``files`` ingested by DuckDB on ``threads`` threads: the summary and every stored row.

    The memory limit a run lowers while it reads parts side by side is set back afterwards.
    """
    with Workspace(tmp_path / f"threads-{threads}", memory_limit=memory_limit) as workspace:
        opened(workspace)
        workspace.con.execute(f"SET threads = {threads}")
        configured = workspace.scalar("SELECT current_setting('memory_limit')")
        summary = workspace.ingest(files)
        assert workspace.scalar("SELECT current_setting('memory_limit')") == configured
        return summary, [
            workspace.con.execute(sql).fetchall() for sql in (EVENTS_SQL, FILES_SQL, SKIPPED_SQL)
        ]


@given(
    st.lists(st.integers(min_value=0, max_value=10**9), max_size=30), st.integers(min_value=1, max_value=8)
)
def test_parts_hold_every_file_once_and_differ_by_at_most_the_largest(sizes: list[int], parts: int) -> None:
    split = direct.split_by_size(sizes, parts)
    assert sorted(i for part in split for i in part) == list(range(len(sizes)))
    assert len(split) == min(parts, len(sizes)) and all(part == sorted(part) for part in split)
    totals = [sum(sizes[i] for i in part) for part in split]
    assert not totals or max(totals) - min(totals) <= max(sizes)


def test_raw_lines_of_several_parts_are_the_lines_of_one(generated: list[Path]) -> None:
    paths = [direct.path_text(p) for p in generated]
    params: dict[str, object] = {"paths": paths, "names": [p.name for p in generated], "max_line": 1 << 20}
    con = duckdb.connect()
    one = con.execute(f"SELECT * FROM ({direct.RAW_LINES_SQL}) ORDER BY file, record", params).fetchall()
    parts = {direct.part_parameter(i): [p] for i, p in enumerate(paths)}
    sql = f"SELECT * FROM ({direct.raw_lines_sql(len(paths))}) ORDER BY file, record"
    assert con.execute(sql, {**params, **parts}).fetchall() == one
    assert len(one) == sum(len(p.read_bytes().splitlines()) for p in generated)


def test_parts_are_one_per_thread_while_their_files_fit_in_half_the_memory() -> None:
    mib = 1 << 20
    assert direct.parts_for([60 * mib] * 12, threads=2, memory=800 * mib) == 2
    assert direct.parts_for([60 * mib] * 12, threads=16, memory=800 * mib) == 3  # 3 x 120 MiB <= 400
    assert direct.parts_for([128 * mib, 1 * mib], threads=16, memory=800 * mib) == 1
    assert direct.parts_for([1 * mib] * 3, threads=16, memory=800 * mib) == 3  # no more parts than files
    assert direct.parts_for([mib], threads=1, memory=0) == 1  # always at least one


def test_a_bad_line_in_one_part_rolls_the_group_back_and_the_rest_is_stored_as_by_one_part(
    generated: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    original = direct.insert_sql

    def spy(shape: str, parts: int = 1) -> str:
        seen.append(parts)
        return original(shape, parts)

    monkeypatch.setattr(direct, "insert_sql", spy)
    bad = tmp_path / "bad.ndjson"
    bad.write_bytes(BAD_FILES["line that is not JSON"](_lines(generated)))
    files = [InputFile(bad, "bad.ndjson"), *(InputFile(p, f"gen/{p.name}") for p in generated)]
    rows = {}
    for threads in (1, 3):
        summary, rows[threads] = _stored_with_threads(tmp_path, files, threads)
        assert [s.record for s in summary.files[0].skipped] == [8]  # named by its reader
        assert [f.events for f in summary.files[1:]] == [len(p.read_bytes().splitlines()) for p in generated]
    assert rows[1] == rows[3]
    # Each way the group of four (in one part, then in three) is rolled back and each file tried alone.
    assert seen == [1, 1, 1, 1, 1, 3, 1, 1, 1, 1]
