"""What a scanner reader hands on: findings as one Arrow table, each with its file and record.

A finding is what one scanner reported about one thing on one asset: a package version in an
image, a plugin on a host and port, a template matched on a URL. It keeps the CVE ids the
scanner named (or, without one, the scanner's own id), the scanner's severity and CVSS as
given, and where it came from (file and record), so a ranked finding can be traced back to
the line of the report. Readers never look anything up: ranking is the ``vuln`` stage's work.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pyarrow as pa

from bluebench.errors import InputError
from bluebench.sources.base import Skipped
from bluebench.sources.limits import DEFAULT_LIMITS, Limits, bytes_text
from bluebench.sources.lines import open_members

FINDING_SCHEMA = pa.schema(
    [
        ("finding_id", pa.string()),
        ("file", pa.string()),
        ("record", pa.int64()),
        ("scanner", pa.string()),
        ("asset", pa.string()),
        ("package", pa.string()),
        ("version", pa.string()),
        ("fixed_version", pa.string()),
        ("vuln_id", pa.string()),
        ("cves", pa.list_(pa.string())),
        ("severity", pa.string()),
        ("cvss", pa.float64()),
        ("cvss_vector", pa.string()),
        ("title", pa.string()),
        ("location", pa.string()),
    ]
)
#: Fields a reader (or a CSV mapping) may fill; ``file``, ``record``, ``scanner`` and the id are set here.
FIELDS: tuple[str, ...] = tuple(f.name for f in FINDING_SCHEMA)[4:]
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info", "unknown")
CVE_RE = re.compile(r"\bCVE-(\d{4})-(\d{4,7})\b", re.IGNORECASE)
# Spellings scanners use for the same level (Grype "Negligible", Dependency-Check "Moderate",
# Nexpose and Qualys numbers are mapped by their readers before they get here).
_SEVERITY_WORDS = {
    "critical": "critical",
    "urgent": "critical",
    "high": "high",
    "important": "high",
    "serious": "high",
    "medium": "medium",
    "moderate": "medium",
    "low": "low",
    "minor": "low",
    "negligible": "low",
    "info": "info",
    "informational": "info",
    "information": "info",
    "none": "info",
    "log": "info",
    "unknown": "unknown",
}
# Entity declarations are how XML bombs and external entities work; no scanner report needs one.
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


class ReportError(InputError):
    """A whole report cannot be read (not valid JSON, a required part missing); names file and why."""


class ScannerReader(Protocol):
    """A scanner's report format: recognised from its first bytes, read into finding rows."""

    name: ClassVar[str]
    title: ClassVar[str]

    def sniff(self, head: bytes, path: Path) -> bool:
        """True when ``head`` (the first 64 KiB, decompressed) is this scanner's report."""
        ...

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        """Add every finding to ``rows``; a bad finding goes to ``rows.skipped`` and reading goes on."""
        ...


def cves_in(*texts: object) -> list[str]:
    """Every CVE id in ``texts`` (strings or lists of strings), upper-cased, first seen first."""
    seen: dict[str, None] = {}
    for t in texts:
        for s in t if isinstance(t, list | tuple) else [t]:
            if isinstance(s, str) and ("cve" in s or "CVE" in s):
                for m in CVE_RE.finditer(s):
                    seen[f"CVE-{m.group(1)}-{m.group(2)}"] = None
    return list(seen)


def severity(value: object) -> str:
    """A scanner's severity word as one of SEVERITIES; anything else is 'unknown'."""
    if not isinstance(value, str):
        return "unknown"
    return _SEVERITY_WORDS.get(value.strip().lower(), "unknown")


def score(value: object) -> float | None:
    """A CVSS base score as given ('9.8', 9.8, '8.1 (AV:N/...)'); None when it is not one in 0..10."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        v = float(value)
    elif isinstance(value, str):
        m = re.match(r"\s*(\d{1,2}(?:\.\d+)?)", value)
        if m is None:
            return None
        v = float(m.group(1))
    else:
        return None
    return v if 0.0 <= v <= 10.0 else None


def text(value: object) -> str | None:
    """A field as text: strings stripped, numbers written out, empty and missing as None."""
    if value is None or isinstance(value, dict | list):
        return None
    s = str(value).strip()
    return s or None


TITLE_CHARS = 200


def _short(title: str | None) -> str | None:
    """A title on one line: scanners that have none give a description, which a table cannot show whole."""
    if title is None:
        return None
    line = title.strip().split("\n", 1)[0].strip()
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def finding_id(
    scanner: str,
    asset: str | None,
    package: str | None,
    version: str | None,
    vuln: str | None,
    location: str | None,
) -> str:
    """A stable id: the same finding in next week's report gets the same id, so decisions carry over.

    The file and record are left out on purpose (they change with every scan), as
    detect-secrets leaves line numbers out of a secret's identity.
    """
    key = "\x1f".join(x or "" for x in (scanner, asset, package, version, vuln, location))
    return hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass
class Rows:
    """Finding rows of one report as columns, and the records that could not be read."""

    file: str
    scanner: str
    skipped: list[Skipped] = field(default_factory=list)
    _cols: dict[str, list[Any]] = field(default_factory=lambda: {f.name: [] for f in FINDING_SCHEMA})

    def __len__(self) -> int:
        return len(self._cols["record"])

    def add(self, record: int, **values: Any) -> None:
        """One finding; a finding with neither a CVE nor an id nor a title is skipped with the reason."""
        cves = list(values.get("cves") or [])
        vuln = text(values.get("vuln_id")) or (cves[0] if cves else None)
        title = text(values.get("title"))
        if vuln is None and title is None:
            self.skip(record, "finding without a CVE, an id or a title")
            return
        row = {f: text(values.get(f)) for f in FIELDS if f not in ("cves", "cvss")}
        row["vuln_id"] = vuln
        row["title"] = _short(title)
        row["severity"] = severity(values.get("severity"))
        c = self._cols
        c["finding_id"].append(
            finding_id(self.scanner, row["asset"], row["package"], row["version"], vuln, row["location"])
        )
        c["file"].append(self.file)
        c["record"].append(record)
        c["scanner"].append(self.scanner)
        c["cves"].append(cves)
        c["cvss"].append(score(values.get("cvss")))
        for f, v in row.items():
            c[f].append(v)

    def skip(self, record: int | None, reason: str) -> None:
        self.skipped.append(Skipped(self.file, record, reason))

    def table(self) -> pa.Table:
        return pa.table(self._cols, schema=FINDING_SCHEMA)


def read_bytes(path: Path, display: str, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The whole report (a report is parsed as one document), decompressed, within the limits.

    A zip holding one report is read as that report; the limits refuse a member larger than
    ``report_bytes`` before it is read whole into memory.
    """
    skipped: list[Skipped] = []
    try:
        for _name, stream in open_members(path, display, skipped, limits):
            data = stream.read(limits.report_bytes + 1)
            if len(data) > limits.report_bytes:
                raise ReportError(
                    display,
                    f"larger than [limits] report_bytes = {bytes_text(limits.report_bytes)}; not read",
                )
            return data
    except OSError as exc:
        raise ReportError(display, f"cannot read: {exc.strerror or exc}") from None
    reason = "; ".join(s.reason for s in skipped[:2]) or "empty archive"
    raise ReportError(display, reason)


def load_json(path: Path, display: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """The report as JSON; invalid JSON is refused with the line and column where it breaks."""
    data = read_bytes(path, display, limits)
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        raise ReportError(display, f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ReportError(
            display, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None


def parse_xml(path: Path, display: str, limits: Limits = DEFAULT_LIMITS) -> ET.Element:
    """The report as an XML tree; a document declaring entities is refused before parsing."""
    data = read_bytes(path, display, limits)
    if _ENTITY.search(data):
        raise ReportError(display, "XML entity declarations are not read (a scanner report needs none)")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        line, col = exc.position
        raise ReportError(display, f"not well-formed XML at line {line}, column {col}") from None


def local(tag: str) -> str:
    """An element's name without its namespace ('{ns}dependency' -> 'dependency')."""
    return tag.rsplit("}", 1)[-1]


def child_text(el: ET.Element | None, *names: str) -> str | None:
    """The text of the first child named one of ``names`` (namespaces ignored)."""
    if el is None:
        return None
    for c in el:
        if local(c.tag) in names:
            return text("".join(c.itertext()))
    return None


def children(el: ET.Element | None, name: str) -> Iterator[ET.Element]:
    """Direct children named ``name`` (namespaces ignored)."""
    if el is not None:
        for c in el:
            if local(c.tag) == name:
                yield c


def obj(value: object) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one: reports leave parts out or null them."""
    return value if isinstance(value, dict) else {}


def first(values: Iterable[Any]) -> Any:
    """The first value that is not empty, else None."""
    for v in values:
        if v not in (None, "", [], {}):
            return v
    return None
