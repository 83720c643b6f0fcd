"""PE features from real files, and what broken or hostile files get: a reason, never a hang."""

from __future__ import annotations

import hashlib
import struct
import time
from pathlib import Path

import pefile
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bluebench.sources import peparse
from bluebench.sources.limits import Limits
from bluebench.sources.peparse import (
    ALIASES,
    FEATURE_NAMES,
    PeError,
    PeFile,
    entropy,
    looks_like_pe,
    parse_pe,
    read_pe_file,
)

BENIGN = Path(__file__).resolve().parents[2] / "data" / "samples" / "malware" / "benign-pe"
DLL = BENIGN / "markupsafe__markupsafe___speedups.cp312-win_amd64.pyd"


@pytest.fixture(scope="module")
def dll() -> bytes:
    return DLL.read_bytes()


def _lfanew(data: bytes) -> int:
    return int(struct.unpack_from("<I", data, 0x3C)[0])


def _patched(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def test_a_real_dll_gives_pefile_s_header_fields_and_the_derived_features(dll: bytes) -> None:
    pe = parse_pe(dll, "x.pyd")
    ref = pefile.PE(data=dll)
    assert pe.sha256 == hashlib.sha256(dll).hexdigest() and pe.size == len(dll)
    assert pe.values["Machine"] == ref.FILE_HEADER.Machine == 0x8664
    assert pe.values["SizeOfCode"] == ref.OPTIONAL_HEADER.SizeOfCode
    assert pe.values["e_lfanew"] == ref.DOS_HEADER.e_lfanew
    assert pe.values["BaseOfData"] is None, "64-bit files have no BaseOfData: missing, not 0"
    assert pe.values["section_count"] == len(ref.sections)
    assert pe.values["import_dlls"] == len(ref.DIRECTORY_ENTRY_IMPORT)
    assert pe.values["export_count"] == len(ref.DIRECTORY_ENTRY_EXPORT.symbols)
    assert pe.values["text_entropy"] == pytest.approx(
        next(s.get_entropy() for s in ref.sections if s.Name.rstrip(b"\0") == b".text")
    )
    assert pe.missing == ["BaseOfData"] and pe.notes == []
    assert pe.facts["architecture"] == "x64" and pe.facts["imphash"] == ref.get_imphash()
    assert set(pe.values) == set(FEATURE_NAMES)


def test_every_alias_names_a_feature() -> None:
    assert set(ALIASES.values()) <= set(FEATURE_NAMES)
    assert not set(ALIASES) & set(FEATURE_NAMES)


def test_entropy_runs_from_0_to_8() -> None:
    assert entropy(b"") == 0.0
    assert entropy(b"a" * 100) == 0.0
    assert entropy(bytes(range(256)) * 4) == pytest.approx(8.0)


def test_not_a_pe_is_refused_with_its_name() -> None:
    with pytest.raises(PeError, match=r"notes\.txt: not a PE file"):
        parse_pe(b"hello, world\n" * 10, "notes.txt")
    with pytest.raises(PeError, match="not a readable PE file"):
        parse_pe(b"MZ" + b"\0" * 200, "mz-only.exe")  # e_lfanew = 0: no PE header
    assert not looks_like_pe(b"MZ" + b"\0" * 200)


def test_truncated_inside_the_headers_is_refused(dll: bytes) -> None:
    with pytest.raises(PeError, match=r"cut\.dll: truncated"):
        parse_pe(dll[:40], "cut.dll")
    with pytest.raises(PeError, match=r"cut\.dll"):
        parse_pe(dll[: _lfanew(dll) + 10], "cut.dll")


def test_truncated_after_the_headers_is_scored_with_the_cut_named(dll: bytes) -> None:
    pe = parse_pe(dll[: len(dll) // 2], "half.dll")
    assert any(n.startswith("truncated: section") for n in pe.notes)
    assert pe.values["SizeOfCode"] is not None, "what was there is still read"


def test_oversized_is_refused_before_parsing(dll: bytes, tmp_path: Path) -> None:
    small = Limits(pe_bytes=1000)
    with pytest.raises(PeError, match=r"big\.exe: .*more than \[limits\] pe_bytes = 1,000 bytes"):
        parse_pe(dll, "big.exe", small)
    path = tmp_path / "big.exe"
    path.write_bytes(dll)
    with pytest.raises(PeError, match="pe_bytes"):
        read_pe_file(path, "big.exe", small)


def test_a_pe_header_pointing_outside_the_file_is_refused(dll: bytes) -> None:
    with pytest.raises(PeError, match=r"far\.dll"):
        parse_pe(_patched(dll, 0x3C, "<I", 0x7FFFFFF0), "far.dll")


def test_a_broken_import_table_costs_only_the_import_features(dll: bytes) -> None:
    optional = _lfanew(dll) + 24
    import_dir = optional + 112 + 8  # PE32+: data directories start 112 bytes in; import is #1
    bad = _patched(dll, import_dir, "<I", 0x7FFFFFF0)
    pe = parse_pe(bad, "bad-imports.dll")
    assert pe.values["SizeOfCode"] is not None and pe.values["section_count"] is not None
    assert pe.values["import_functions"] in (None, 0.0)


def test_a_file_claiming_thousands_of_sections_finishes(dll: bytes) -> None:
    bad = _patched(dll, _lfanew(dll) + 6, "<H", 0xFFFF)
    start = time.monotonic()
    try:
        pe = parse_pe(bad, "sections.dll")
        assert isinstance(pe, PeFile)
    except PeError as exc:
        assert "sections.dll" in str(exc)
    assert time.monotonic() - start < 5


def test_a_step_past_the_time_limit_leaves_its_features_missing(
    dll: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def endless(pe: object, data: bytes, out: PeFile) -> None:
        time.sleep(30)

    monkeypatch.setattr(peparse, "_imports", endless)
    start = time.monotonic()
    pe = parse_pe(dll, "slow.dll", Limits(pe_seconds=1))
    assert time.monotonic() - start < 3, "the timer interrupts the step"
    assert any("pe_seconds" in n and "imports, exports, resources not read" in n for n in pe.notes)
    assert pe.values["import_functions"] is None and pe.values["export_count"] is None
    assert pe.values["SizeOfCode"] is not None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 2047), st.integers(0, 255)), min_size=1, max_size=12))
def test_fuzzed_headers_give_features_or_a_reason(dll: bytes, flips: list[tuple[int, int]]) -> None:
    data = bytearray(dll)
    for offset, value in flips:
        data[offset] = value
    start = time.monotonic()
    try:
        pe = parse_pe(bytes(data), "fuzzed.dll")
    except PeError as exc:
        assert str(exc).startswith("fuzzed.dll: ")
    else:
        assert set(pe.values) == set(FEATURE_NAMES)
        assert all(v is None or v == v for v in pe.values.values()), "no NaN: missing is None"
    assert time.monotonic() - start < 6
