"""Zeek logs, as TSV with their ``#`` header or as JSON lines, plain, gzip or zipped.

The TSV header says everything needed to cut a line: ``#separator`` (honoured, written
``\\x09``), ``#empty_field`` and ``#unset_field`` (``(empty)`` and ``-`` unless the header says
otherwise), ``#path`` (which log) and ``#fields``. A file may carry several header blocks (logs
concatenated across a rotation); each applies to the lines after it. A line whose number of
columns differs from its ``#fields`` header is skipped and named, so a truncated last line or a
header that does not match the columns never shifts values into the wrong columns.

Stratosphere's labelled logs (``*.log.labeled``) add ``label`` and ``detailedlabel`` columns,
sometimes as a tail joined to the last field by three spaces. Those columns are never mapped to
an event column: labels are read by ``evaluate`` from the file, never by a detector.

Only the logs the network detectors read are ingested (:data:`ZEEK_LOGS`); another Zeek log is
named as not read, so a folder of a sensor's logs ingests what it can and says what it left.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluebench.errors import InputError
from bluebench.sources.base import RawBatch, ReadOptions, Skipped
from bluebench.sources.lines import iter_line_blocks, open_members
from bluebench.sources.winjson import first_object

#: The Zeek logs that are read, and what each is for.
ZEEK_LOGS: dict[str, str] = {
    "conn": "connections: beaconing, long connections, exfiltration, scans, brute force, inbound access",
    "dns": "queries: tunnels and generated domains",
    "http": "requests: the Host and User-Agent of a beacon",
    "ssl": "TLS handshakes: the server name and certificate of a beacon",
    "ssh": "SSH logins: brute force and a success after it",
    "notice": "Zeek's own notices",
    "weird": "protocol anomalies Zeek saw",
    "files": "files carried by connections",
    "x509": "certificates seen in TLS handshakes",
}
#: Fields a log must name for its lines to be read as that log (JSON lines have no ``#path``).
JSON_MARKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dns", ("query",)),
    ("http", ("method",)),
    ("http", ("user_agent",)),
    ("ssl", ("server_name",)),
    ("ssl", ("cipher",)),
    ("ssh", ("auth_attempts",)),
    ("ssh", ("auth_success",)),
    ("notice", ("note",)),
    ("weird", ("name", "addl")),
    ("files", ("fuid", "mime_type")),
    ("x509", ("certificate.subject",)),
    ("conn", ("conn_state",)),
    ("conn", ("proto", "duration")),
)
#: A field name holding several names joined by this (Stratosphere's IoT-23 label tail).
LABEL_TAIL = re.compile(r" {3,}")
DEFAULT_SEPARATOR = "\t"
#: Raw bytes per batch at most. A flow log's lines are short and many: a smaller block than the
#: default keeps fewer of them in flight while DuckDB normalizes the last ones (150 MiB less
#: peak memory on the 10-million-line benchmark, for the same CPU time).
BLOCK_BYTES = 8 * 1024 * 1024
NAMED_LOG = re.compile(r"^(?P<kind>[a-z0-9_]+)(?:[.\-][0-9:_\-]+)*\.log(?:\.labell?ed)?(?:\.gz)?$")


def log_kind_from_name(path: Path | str) -> str | None:
    """'conn.log', 'conn.log.labeled', 'dns.09:00:00-10:00:00.log.gz' -> the log's kind."""
    name = Path(path).name.lower()
    if name.startswith("labeled-"):
        name = name[len("labeled-") :]
    m = NAMED_LOG.match(name)
    return m.group("kind") if m else None


def not_read(kind: str) -> str:
    """Why a Zeek log of another kind is not ingested."""
    return f"a Zeek {kind!r} log: not read (bluebench reads the Zeek logs {', '.join(ZEEK_LOGS)})"


def _unescape(text: str) -> str:
    """'\\x09' -> a tab: Zeek writes its separator escaped."""
    try:
        return codecs.decode(text, "unicode_escape")
    except UnicodeDecodeError:
        return text


def split_fields(names: list[str]) -> list[str]:
    """Field names of a ``#fields`` header, a label tail joined by spaces taken apart."""
    out: list[str] = []
    for n in names:
        out.extend(p for p in LABEL_TAIL.split(n) if p)
    return out


@dataclass
class Header:
    """What the ``#`` lines said so far; a new ``#fields`` starts a new block."""

    separator: str = DEFAULT_SEPARATOR
    set_separator: str = ","
    empty: str = "(empty)"
    unset: str = "-"
    path: str | None = None
    fields: list[str] = field(default_factory=list)
    columns: int = 0  # separators + 1 a line of this block has (a label tail counts once)

    def take(self, line: str) -> None:
        """Read one ``#`` line (a ``#fields`` line starts a new block)."""
        if line.startswith("#separator"):
            self.separator = _unescape(line[len("#separator") :].strip()) or DEFAULT_SEPARATOR
            return
        key, _, rest = line[1:].partition(self.separator)
        values = rest.split(self.separator) if rest else []
        if key == "set_separator" and values:
            self.set_separator = values[0]
        elif key == "empty_field" and values:
            self.empty = values[0]
        elif key == "unset_field" and values:
            self.unset = values[0]
        elif key == "path" and values:
            self.path = values[0].strip().lower()
        elif key == "fields":
            self.columns = len(values)
            self.fields = split_fields(values)

    def types_differ(self, line: str) -> str | None:
        """The complaint when ``#types`` names another number of columns than ``#fields``."""
        _, _, rest = line[1:].partition(self.separator)
        n = len(rest.split(self.separator)) if rest else 0
        if self.columns and n != self.columns:
            return f"#types names {n} columns where #fields names {self.columns}; #fields is used"
        return None


def _dict_column(value: str, n: int) -> pa.DictionaryArray:
    """A constant text column without a string per row (the file name is added the same way)."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([value], pa.string())
    )


class ZeekTsvReader:
    """Zeek's own TSV logs: the ``#`` header, then one record per line."""

    name: ClassVar[str] = "zeek"

    def sniff(self, head: bytes, path: Path) -> bool:
        """The file starts with Zeek's ``#separator`` line."""
        return head.lstrip(b"\xef\xbb\xbf").startswith(b"#separator ")

    def read(
        self, path: Path, display: str, skipped: list[Skipped], options: ReadOptions
    ) -> Iterator[RawBatch]:
        """Yield batches of one header block each; lines at odds with their header are skipped."""
        lim = options.limits
        for name, stream in open_members(path, display, skipped, lim):
            header = Header()
            block = min(options.batch_bytes, BLOCK_BYTES)
            for table in iter_line_blocks(stream, name, skipped, block, max_line=lim.record_bytes):
                yield from self._block(table, header, name, path, skipped)

    def _block(
        self, table: pa.Table, header: Header, name: str, path: Path, skipped: list[Skipped]
    ) -> Iterator[RawBatch]:
        """Split a block of lines at its ``#`` lines; each run of data lines is one batch."""
        raw = table.column("raw")
        meta = np.flatnonzero(pc.starts_with(raw, "#").to_numpy(zero_copy_only=False))
        at = 0
        for i in [*meta.tolist(), table.num_rows]:
            if i > at:
                yield from self._data(table.slice(at, i - at), header, name, path, skipped)
            if i < table.num_rows:
                line = str(raw[i].as_py())
                record = int(table.column("record")[i].as_py())
                header.take(line)
                if line.startswith("#path") and header.path not in ZEEK_LOGS:
                    raise InputError(name, not_read(header.path or "unnamed"))
                if line.startswith("#types"):
                    differ = header.types_differ(line)
                    if differ:
                        skipped.append(Skipped(name, record, differ, kept=True))
            at = i + 1

    def _data(
        self, table: pa.Table, header: Header, name: str, path: Path, skipped: list[Skipped]
    ) -> Iterator[RawBatch]:
        """One run of data lines under ``header``: the lines that fit it, as a batch of its log."""
        records = table.column("record")
        if not header.fields:
            for r in records.to_pylist():
                skipped.append(Skipped(name, r, "no #fields header before this line; skipped"))
            return
        kind = header.path or log_kind_from_name(name) or log_kind_from_name(path)
        if kind not in ZEEK_LOGS:
            raise InputError(name, not_read(kind or "unnamed"))
        seps = pc.count_substring(table.column("raw"), header.separator).to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(seps != header.columns - 1)
        if len(bad):
            recs = records.to_numpy()
            for i in bad.tolist():
                skipped.append(
                    Skipped(
                        name,
                        int(recs[i]),
                        f"{int(seps[i]) + 1} columns where the #fields header names {header.columns} "
                        "(a truncated line, or a header that does not match); skipped",
                    )
                )
            keep = np.ones(table.num_rows, dtype=bool)
            keep[bad] = False
            table = table.filter(pa.array(keep))
        n = table.num_rows
        if not n:
            return
        table = (
            table.append_column("sep", _dict_column(header.separator, n))
            .append_column("unset", _dict_column(header.unset, n))
            .append_column("empty", _dict_column(header.empty, n))
            .append_column("set_sep", _dict_column(header.set_separator, n))
        )
        yield RawBatch(
            self.name,
            table,
            name,
            {"kind": kind, "fields": tuple(header.fields[: header.columns])},
        )


def json_kind(obj: dict[str, object], path: Path | str) -> str | None:
    """Which Zeek log a JSON record is: its ``_path``, else its file name, else the fields it has."""
    given = obj.get("_path")
    if isinstance(given, str) and given:
        return given.lower()
    named = log_kind_from_name(path)
    if named:
        return named
    for kind, marks in JSON_MARKS:
        if all(m in obj for m in marks):
            return kind
    return None


class ZeekJsonReader:
    """Zeek's JSON logs (``LogAscii::use_json``): one object per line, ``id.orig_h`` and friends."""

    name: ClassVar[str] = "zeek-json"

    def sniff(self, head: bytes, path: Path) -> bool:
        """The first record has Zeek's ``ts`` and either a connection id or a Zeek file/cert id."""
        obj = first_object(head)
        if not obj or "ts" not in obj:
            return False
        return "id.orig_h" in obj or "uid" in obj or "fuid" in obj or "_path" in obj

    def read(
        self, path: Path, display: str, skipped: list[Skipped], options: ReadOptions
    ) -> Iterator[RawBatch]:
        """Yield batches of (line number, line); the log's kind comes from the first record."""
        lim = options.limits
        for name, stream in open_members(path, display, skipped, lim):
            kind: str | None = None
            for table in iter_line_blocks(
                stream, name, skipped, options.batch_bytes, max_line=lim.record_bytes
            ):
                if kind is None:
                    kind = self._kind(table, name, path)
                yield RawBatch(self.name, table, name, {"kind": kind})

    @staticmethod
    def _kind(table: pa.Table, name: str, path: Path) -> str:
        """The kind of the member's log from its first JSON record; another log is not read."""
        for raw in table.column("raw").to_pylist()[:20]:
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict):
                kind = json_kind(obj, name) or json_kind(obj, path)
                if kind not in ZEEK_LOGS:
                    raise InputError(name, not_read(kind or "unnamed"))
                return kind
        raise InputError(name, "no Zeek JSON record among the first lines")
