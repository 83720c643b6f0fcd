"""Engine stage 1: a batch split by (channel, event id); the fields rules read, dictionary-encoded."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from sigma_helpers import SYSMON, batch

from bluebench.sigma.extract import Column, FieldReader, cells, encode


def values(col: Column) -> list[str | None]:
    """A column back to one value per row (None where absent)."""
    return [col.values[int(i)].as_py() if i < col.nd else None for i in col.idx]


def test_cells_split_rows_by_lowercased_channel_and_event_id() -> None:
    b = batch(
        [
            {"_code": "1"},
            {"_code": "4688", "_channel": "Security"},
            {"_code": "1"},
            {"_code": "1", "_channel": "SECURITY"},
            {"_code": "1", "_channel": None},
        ]
    )
    got = {(ch, cd): rows.tolist() for ch, cd, rows in cells(b)}
    assert got == {
        (SYSMON.lower(), "1"): [0, 2],
        ("security", "4688"): [1],
        ("security", "1"): [3],
        ("", "1"): [4],
    }


def test_encode_keeps_distinct_values_and_marks_absent_past_the_dictionary() -> None:
    col = encode(pa.array(["A", None, "b", "A"]))
    assert col.values.to_pylist() == ["A", "b"]
    assert col.lower == ["a", "b"]
    assert col.idx.tolist() == [0, 2, 1, 0]
    part = col.part(1, 4)  # a cell of a group: its rows, the group's dictionary
    assert part.idx.tolist() == [2, 1, 0] and part.nd == col.nd == 2
    assert part.values is col.values and part.lower == ["a", "b"]


def test_field_reader_reads_system_eventdata_aliased_and_keyword_fields() -> None:
    b = batch(
        [
            {"Image": "C:\\a.exe"},
            {"NewProcessName": "C:\\b.exe", "_code": "4688", "_channel": "Security"},
            {"Other": "x"},
        ]
    )
    reader = FieldReader(threads=1)
    cols = reader.columns(b, np.array([0, 1, 2]), ["EventID", "Image", "_text", "Missing"])
    assert values(cols["EventID"]) == ["1", "4688", "1"]
    # Security 4688 names the image NewProcessName: it is read as Image (FIELD_ALIASES).
    assert values(cols["Image"]) == ["C:\\a.exe", "C:\\b.exe", None]
    # The keyword text is the EventData with backslashes as logged, not as JSON escapes them.
    assert "C:\\a.exe" in str(values(cols["_text"])[0])
    assert values(cols["Missing"]) == [None, None, None]
    assert values(reader.columns(b, np.array([1, 2]), ["Image"])["Image"]) == ["C:\\b.exe", None]


def test_reads_in_one_call_give_each_read_what_it_reads_alone() -> None:
    """``FieldReader.lists`` over several reads, each read's slice: the columns a read alone gives."""
    events = [
        {"Image": f"C:\\{i}.exe", "CommandLine": f"run {i % 3}", "Other": "x" * (i % 4)}
        if i % 5
        else {"NewProcessName": f"C:\\n{i}.exe", "_code": "4688", "_channel": "Security"}
        for i in range(40)
    ]
    b = batch(events)
    reads = [
        (np.arange(0, 40, 2), ["Image", "CommandLine", "EventID"]),
        (np.arange(1, 40, 4), ["Other", "_text", "Image"]),
        (np.arange(3, 40, 4), ["Missing"]),
        (np.array([], dtype=np.int64), ["Image"]),
    ]
    reader = FieldReader(threads=1)
    lists = reader.lists(b, reads)
    at = 0
    for rows, names in reads:
        together = reader.columns(b, rows, names, lists.slice(at, len(rows)))
        at += len(rows)
        alone = reader.columns(b, rows, names)
        assert {f: values(c) for f, c in together.items()} == {f: values(c) for f, c in alone.items()}
    assert values(reader.columns(b, np.array([5, 6]), ["Image"])["Image"]) == ["C:\\n5.exe", "C:\\6.exe"]
