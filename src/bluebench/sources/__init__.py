"""Readers for every supported input, found by content, and the walk over user paths."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bluebench.errors import InputError
from bluebench.registry import Registry
from bluebench.sources.argus import ArgusReader
from bluebench.sources.authlog import AuthLogReader
from bluebench.sources.base import RawBatch, Reader, ReadOptions, Skipped
from bluebench.sources.evtx import EvtxReader
from bluebench.sources.lines import read_head
from bluebench.sources.mail import MailReader
from bluebench.sources.pe import PeReader
from bluebench.sources.tabular import MappedCsvReader, MappedJsonLinesReader, load_mapping
from bluebench.sources.winjson import OtrfReader, WinlogbeatReader
from bluebench.sources.zeek import ZeekJsonReader, ZeekTsvReader

READERS: Registry[Reader] = Registry("reader")
for _reader in (
    EvtxReader(),
    WinlogbeatReader(),
    OtrfReader(),
    AuthLogReader(),
    ZeekTsvReader(),  # network traffic (issue #19): Zeek TSV and JSON logs, Argus flows
    ZeekJsonReader(),
    ArgusReader(),
    MappedCsvReader(),
    MappedJsonLinesReader(),
    MailReader(),  # its sniffing is strict, but the older formats are checked first
    PeReader(),  # binary: MZ and the PE signature where e_lfanew points
):
    READERS.register(_reader.name, _reader)

__all__ = [
    "READERS",
    "InputFile",
    "RawBatch",
    "ReadOptions",
    "Reader",
    "Skipped",
    "detect_reader",
    "discover",
    "load_mapping",
]


@dataclass(frozen=True)
class InputFile:
    """A file to ingest: its path on disk and the name shown to the user and kept as provenance."""

    path: Path
    display: str


def discover(paths: list[str]) -> Iterator[InputFile]:
    """Expand the user's paths; files under a folder keep the folder as the user wrote it."""
    for given in paths:
        p = Path(given)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and not f.name.startswith("."):
                    rel = f.relative_to(p).as_posix()
                    yield InputFile(f, given.rstrip("/") + "/" + rel)
        else:
            yield InputFile(p, given)


def detect_reader(path: Path, options: ReadOptions) -> Reader | None:
    """Pick the reader by content (first 64 KiB); a mapping given by the user wins.

    Raises InputError when an archive has nothing to recognise because the limits refused
    every member.
    """
    if options.mapping is not None:
        return READERS.get("mapped-csv" if options.mapping_format == "csv" else "mapped-jsonl")
    refused: list[Skipped] = []
    head = read_head(path, limits=options.limits, refused=refused)
    for reader in READERS:
        if reader.sniff(head, path):
            return reader
    if not head and refused:
        # An archive whose every member was refused: say why, not "not a log format".
        raise InputError(str(path), "; ".join(f"{s.file}: {s.reason}" for s in refused[:3]))
    return None
