"""The line splitter, by properties: any bytes give correctly numbered records, nothing but
blank lines is lost, and every line that is not UTF-8 is counted (skipped or repaired)."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from bluebench.sources.base import Skipped
from bluebench.sources.lines import iter_line_blocks

LINE = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30).map(lambda s: s.replace("\n", "").encode()),
    st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")),
    st.sampled_from([b"", b"   ", b"\t", b"\r", b"\xff\xfe", b"caf\xe9", b"ok \xc3\xa9"]),
)


def expected(data: bytes, replace: bool) -> tuple[list[tuple[int, str]], list[int]]:
    """The model: split on LF, number from 1, drop blank lines, handle bad UTF-8 per line."""
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    kept: list[tuple[int, str]] = []
    bad: list[int] = []
    for n, raw in enumerate(parts, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(n)
            if not replace:
                continue
            text = raw.decode("utf-8", errors="replace")
        text = text.rstrip("\r\n")
        if text.strip():
            kept.append((n, text))
    return kept, bad


def split(data: bytes, block: int, replace: bool) -> tuple[list[tuple[int, str]], list[Skipped]]:
    skipped: list[Skipped] = []
    rows: list[tuple[int, str]] = []
    for table in iter_line_blocks(io.BytesIO(data), "f.log", skipped, block, replace_invalid=replace):
        rows.extend(zip(table.column("record").to_pylist(), table.column("raw").to_pylist(), strict=True))
    return rows, skipped


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(LINE, max_size=25),
    final_newline=st.booleans(),
    block=st.integers(min_value=1, max_value=80),
    replace=st.booleans(),
)
def test_any_bytes_numbered_and_counted(
    lines: list[bytes], final_newline: bool, block: int, replace: bool
) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    rows, skipped = split(data, block, replace)
    kept, bad = expected(data, replace)
    # Arrow and Python may disagree on exotic whitespace; a line Arrow keeps is never lost,
    # so compare on lines that are blank for neither.
    assert [r for r in rows if r[1].strip()] == kept
    assert all(not text.strip() or (n, text) in kept for n, text in rows)
    assert [s.record for s in skipped] == bad
    assert all(s.kept == replace and s.file == "f.log" for s in skipped)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300), block=st.integers(min_value=1, max_value=64))
def test_raw_bytes_block_size_does_not_matter(data: bytes, block: int) -> None:
    """Cutting at any block size gives what one big block gives."""
    assert split(data, block, True) == split(data, 1 << 20, True)
    assert split(data, block, False) == split(data, 1 << 20, False)


def test_invalid_line_named_and_rest_kept() -> None:
    data = b"first line\nsecond \xff line\n\nfourth line"
    rows, skipped = split(data, 1024, replace=False)
    assert rows == [(1, "first line"), (4, "fourth line")]
    assert [str(s) for s in skipped] == ["f.log, record 2: not UTF-8 at byte 7; record skipped"]
    rows, skipped = split(data, 1024, replace=True)
    assert rows == [(1, "first line"), (2, "second \ufffd line"), (4, "fourth line")]
    assert skipped[0].kept and "kept with U+FFFD" in skipped[0].reason


def test_crlf_and_blank_lines() -> None:
    rows, skipped = split(b"a\r\n\r\n  \r\nb\r\n", 3, replace=False)
    assert rows == [(1, "a"), (4, "b")] and skipped == []
