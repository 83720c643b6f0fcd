"""Hostile input stays bounded: bombs, huge members and endless lines are refused by name, the rest read.

A 1 MB zip whose member is 1 GB of zeros without a newline used to take 2.3 GB and end in
DuckDB's OutOfMemory, rejecting the zip's good member with it. Each limit (``[limits]``)
now refuses what exceeds it with the file, member and record named, and reads the rest.
"""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluebench.events.workspace import Workspace
from bluebench.sources import InputFile, ReadOptions, detect_reader
from bluebench.sources.base import Skipped
from bluebench.sources.limits import DEFAULT_LIMITS, MIB, Limits, limits_toml, load_limits
from bluebench.sources.lines import iter_line_blocks, open_members
from bluebench.sources.winjson import WinlogbeatReader
from logtext import otrf_line


def zeros_zip(path: Path, good: list[str], bomb_bytes: int) -> Path:
    """A zip with a good member of OTRF lines and a bomb: ``bomb_bytes`` zeros, no newline."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        if good:
            zf.writestr("good.json", "\n".join(good) + "\n")
        with zf.open("bomb.json", "w", force_zip64=True) as member:
            block = b"\0" * MIB
            for _ in range(bomb_bytes // MIB):
                member.write(block)
    return path


def members(path: Path, limits: Limits) -> tuple[dict[str, bytes], list[Skipped]]:
    skipped: list[Skipped] = []
    found = {name: stream.read() for name, stream in open_members(path, "a.zip", skipped, limits)}
    return found, skipped


def test_a_zip_bomb_is_refused_by_name_and_the_good_member_stored(tmp_path: Path) -> None:
    good = [otrf_line(i) for i in range(20)]
    path = zeros_zip(tmp_path / "bomb.zip", good, 64 * MIB)
    assert path.stat().st_size < MIB // 4
    with Workspace(tmp_path / "ws") as ws:
        tracemalloc.start()
        summary = ws.ingest([InputFile(path, "bomb.zip")], ReadOptions())
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        res = summary.files[0]
        assert res.status == "ingested" and res.events == 20
        assert [s.file for s in res.skipped] == ["bomb.zip!bomb.json"]
        reason = res.skipped[0].reason
        assert "more than [limits] archive_ratio = 250 times" in reason and "67,108,864 bytes" in reason
        assert summary.had_problems
    assert peak < 16 * MIB, f"the bomb was never unpacked (peak {peak:,} bytes)"


def test_every_zip_limit_names_the_member_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:  # stored: sizes as written, ratio 1
        for name, size in (("a.log", 100), ("big.log", 5000), ("b.log", 100), ("c.log", 100)):
            zf.writestr(name, b"x" * size)
    found, skipped = members(path, Limits(member_bytes=1000, archive_bytes=250, archive_members=3))
    assert set(found) == {"a.zip!a.log", "a.zip!b.log"}
    why = {s.file: s.reason for s in skipped}
    assert (
        "member of 5,000 bytes" in why["a.zip!big.log"]
        and "member_bytes = 1,000 bytes" in why["a.zip!big.log"]
    )
    assert "1 of 4 members not read" in why["a.zip"] and "'c.log'" in why["a.zip"]
    _, skipped = members(path, Limits(archive_bytes=250))
    assert [s.file for s in skipped] == ["a.zip!big.log", "a.zip!c.log"]
    assert all("archive_bytes = 250 bytes" in s.reason for s in skipped)


def test_a_damaged_member_is_named_and_the_others_read(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("one.log", "first line\n" * 200)
        zf.writestr("two.log", "second line\n" * 200)
    data = bytearray(path.read_bytes())
    at = data.index(b"one.log") + len(b"one.log") + 10
    data[at : at + 8] = b"\xff" * 8  # inside one.log's compressed data
    path.write_bytes(bytes(data))
    found, skipped = members(path, DEFAULT_LIMITS)
    assert found["a.zip!two.log"] == b"second line\n" * 200
    assert [s.file for s in skipped] == ["a.zip!one.log"] and "damaged" in skipped[0].reason


def test_a_gzip_bomb_is_cut_where_it_passes_the_ratio(tmp_path: Path) -> None:
    path = tmp_path / "log.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"".join(otrf_line(i).encode() + b"\n" for i in range(3)))
        fh.write(b"\0" * (8 * MIB))
    limits = Limits(ratio_floor_bytes=MIB)
    skipped: list[Skipped] = []
    read = [stream.read() for _, stream in open_members(path, "log.gz", skipped, limits)]
    assert len(read[0]) == limits.archive_ratio * path.stat().st_size
    assert [s.file for s in skipped] == ["log.gz"] and "archive_ratio = 250" in skipped[0].reason


def test_an_archive_whose_every_member_is_refused_says_why(tmp_path: Path) -> None:
    path = zeros_zip(tmp_path / "only.zip", [], 32 * MIB)
    with Workspace(tmp_path / "ws") as ws:
        res = ws.ingest([InputFile(path, "only.zip")]).files[0]
    assert res.status == "failed" and res.error is not None and "archive_ratio" in res.error


def test_a_line_longer_than_the_limit_is_named_and_the_next_read(tmp_path: Path) -> None:
    lines = [
        json.dumps({"winlog": {"event_id": 4625, "channel": "Security"}, "message": "m" * n})
        for n in (10, 3000, 10)
    ]
    path = tmp_path / "w.json"
    path.write_text("\n".join(lines) + "\n")
    skipped: list[Skipped] = []
    options = ReadOptions(limits=Limits(record_bytes=1000))
    batches = list(WinlogbeatReader().read(path, "w.json", skipped, options))
    assert [r for b in batches for r in b.table.column("record").to_pylist()] == [1, 3]
    n = len(lines[1].encode())
    assert [str(s) for s in skipped] == [
        f"w.json, record 2: line of {n:,} bytes (3 KiB), longer than [limits] record_bytes = 1,000 bytes; skipped"
    ]


class Zeros:
    """``n`` zero bytes without a newline, made as they are read (a stream, like a decompressor)."""

    def __init__(self, n: int) -> None:
        self.left = n

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return bytes(size)

    def readline(self, limit: int = -1) -> bytes:
        return self.read(limit)


def test_an_endless_line_is_skipped_in_bounded_memory() -> None:
    skipped: list[Skipped] = []
    tracemalloc.start()
    tables = list(iter_line_blocks(Zeros(256 * MIB), "z.json", skipped, MIB, max_line=MIB))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert tables == [] and [s.record for s in skipped] == [1]
    assert "line of 268,435,456 bytes (256 MiB)" in skipped[0].reason
    assert peak < 8 * MIB, f"the line was never held whole (peak {peak:,} bytes)"


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=60), max_size=12),
    block=st.integers(min_value=1, max_value=70),
    max_line=st.integers(min_value=1, max_value=50),
)
def test_line_limit_by_property(sizes: list[int], block: int, max_line: int) -> None:
    """Any lines, block and limit: each non-blank line within the limit is read with its
    number, each longer one is named with its number and length, nothing else happens."""
    data = b"".join(b"x" * n + b"\n" for n in sizes)
    skipped: list[Skipped] = []
    rows = [
        (r, len(raw))
        for t in iter_line_blocks(io.BytesIO(data), "f", skipped, block, max_line=max_line)
        for r, raw in zip(t.column("record").to_pylist(), t.column("raw").to_pylist(), strict=True)
    ]
    assert rows == [(i, n) for i, n in enumerate(sizes, 1) if 0 < n <= max_line]
    assert [s.record for s in skipped] == [i for i, n in enumerate(sizes, 1) if n > max_line]
    assert all(
        f"line of {n:,} bytes" in s.reason
        for s, n in zip(skipped, [n for n in sizes if n > max_line], strict=True)
    )


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=8),
    member_bytes=st.integers(min_value=1, max_value=500),
    archive_bytes=st.integers(min_value=1, max_value=1500),
    archive_members=st.integers(min_value=1, max_value=10),
)
def test_archive_limits_by_property(
    tmp_path_factory: pytest.TempPathFactory,
    sizes: list[int],
    member_bytes: int,
    archive_bytes: int,
    archive_members: int,
) -> None:
    """Any members and limits: a member is read whole exactly when it fits every limit in
    order, and every member not read is named (one entry for those past the count)."""
    path = tmp_path_factory.mktemp("zip") / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i, n in enumerate(sizes):
            zf.writestr(f"m{i}.log", b"y" * n)
    limits = Limits(member_bytes=member_bytes, archive_bytes=archive_bytes, archive_members=archive_members)
    found, skipped = members(path, limits)
    considered = sizes[:archive_members]
    fits, total = [], 0
    for i, n in enumerate(considered):
        if n <= member_bytes and total + n <= archive_bytes:
            fits.append(i)
            total += n
    # One member left to read carries the archive's own name, as its events do.
    name = (lambda i: "a.zip") if len(considered) == 1 else (lambda i: f"a.zip!m{i}.log")
    assert found == {name(i): b"y" * sizes[i] for i in fits}
    refused = sorted(f"a.zip!m{i}.log" for i in range(len(considered)) if i not in fits)
    assert sorted(s.file for s in skipped if s.file != "a.zip") == refused
    assert [s.file for s in skipped if s.file == "a.zip"] == (
        ["a.zip"] if len(sizes) > archive_members else []
    )


def test_limits_come_from_the_config_and_bad_ones_are_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "my.toml"
    cfg.write_text(limits_toml().replace("record_bytes = 1048576", "record_bytes = 2048"))
    assert load_limits(cfg) == Limits(record_bytes=2048)
    assert load_limits(None) == DEFAULT_LIMITS
    cfg.write_text("[limits]\nrecord_byte = 10\n")
    with pytest.raises(ValueError, match="unknown \\[limits\\] record_byte"):
        load_limits(cfg)
    cfg.write_text("[limits]\nrecord_bytes = 0\n")
    with pytest.raises(ValueError, match="at least 1"):
        load_limits(cfg)


def test_sniffing_skips_a_refused_first_member(tmp_path: Path) -> None:
    """The bomb comes first: the reader is still chosen by the good member behind it."""
    path = tmp_path / "first.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a_bomb.json", b"\0" * (32 * MIB))
        zf.writestr("b_good.json", otrf_line(1) + "\n")
    reader = detect_reader(path, ReadOptions())
    assert reader is not None and reader.name == "otrf"
