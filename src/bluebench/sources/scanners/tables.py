"""Scanner CSV exports (Nessus/Tenable, OpenVAS, Qualys) and any other CSV by a user's mapping.

Each export names its columns differently across versions ("CVSS V3 Base Score", "CVSS3 Base
Score", "definition.cvss3.base_score"); a table of aliases per finding field reads them all.
Nessus writes one row per plugin, host and CVE: rows with the same asset, location and id are
one finding with all its CVEs, numbered by the first row's line.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from bluebench.errors import ConfigError
from bluebench.sources.base import Skipped
from bluebench.sources.limits import Limits
from bluebench.sources.scanners.base import FIELDS, ReportError, Rows, cves_in, read_bytes

_QUALYS_LEVELS = {"1": "info", "2": "low", "3": "medium", "4": "high", "5": "critical"}
_NESSUS_LEVELS = {"0": "info", "1": "low", "2": "medium", "3": "high", "4": "critical"}
HEADER_LINES = 12  # exports with a preamble (Qualys VMDR) put the header within the first lines


@dataclass(frozen=True)
class CsvLayout:
    """One export's columns: which header names each finding field may have, and how to tell it."""

    name: str
    title: str
    signature: tuple[frozenset[str], ...]  # the header must hold one name of each set
    aliases: Mapping[str, tuple[str, ...]]
    levels: Mapping[str, str] = field(default_factory=dict)  # numeric severities in the scanner's words
    prefix: str = ""  # the scanner's own ids are written "<prefix>:<id>"

    def matches(self, header: set[str]) -> bool:
        return all(header & names for names in self.signature)


NESSUS_CSV = CsvLayout(
    "nessus-csv",
    "Nessus/Tenable CSV",
    (
        frozenset({"plugin id", "plugin", "definition.id"}),
        frozenset({"host", "ip address", "asset.host_name", "dns name"}),
    ),
    {
        "asset": (
            "fqdn",
            "dns name",
            "host",
            "ip address",
            "asset.host_name",
            "asset.display_ipv4_address",
            "netbios name",
        ),
        "vuln_id": ("plugin id", "plugin", "definition.id"),
        "cves": ("cve", "definition.cve"),
        "severity": ("risk", "severity", "risk factor", "definition.severity"),
        "cvss": (
            "cvss v3.0 base score",
            "cvss v3 base score",
            "cvss3 base score",
            "cvssv3",
            "definition.cvss3.base_score",
            "cvss",
            "cvss v2.0 base score",
            "cvss v2 base score",
            "cvss base score",
            "definition.cvss2.base_score",
        ),
        "cvss_vector": ("cvss v3 vector", "cvss3 vector", "definition.cvss3.base_vector"),
        "title": ("name", "plugin name", "definition.name"),
        "package": ("cpe", "family", "plugin family", "definition.family"),
        "location": ("port", "port.port"),
    },
    _NESSUS_LEVELS,
    "nessus",
)
OPENVAS_CSV = CsvLayout(
    "openvas-csv",
    "OpenVAS/Greenbone CSV",
    (frozenset({"nvt oid"}), frozenset({"ip"})),
    {
        "asset": ("hostname", "ip"),
        "vuln_id": ("nvt oid",),
        "cves": ("cves",),
        "severity": ("severity",),
        "cvss": ("cvss",),
        "title": ("nvt name",),
        "location": ("port",),
    },
    prefix="openvas",
)
QUALYS_CSV = CsvLayout(
    "qualys-csv",
    "Qualys CSV",
    (frozenset({"qid"}), frozenset({"ip", "asset ipv4", "asset name"})),
    {
        "asset": ("dns", "hostname", "fqdn", "asset name", "ip", "asset ipv4"),
        "vuln_id": ("qid",),
        "cves": ("cve id", "cveid", "cve"),
        "severity": ("severity", "q_severity"),
        "cvss": ("cvss3 base", "cvss3", "cvss_base", "cvss base"),
        "title": ("title", "vuln title"),
        "package": ("category",),
        "location": ("port",),
    },
    _QUALYS_LEVELS,
    "qualys",
)
LAYOUTS: tuple[CsvLayout, ...] = (NESSUS_CSV, OPENVAS_CSV, QUALYS_CSV)


def _decode(data: bytes, display: str, rows: Rows) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        rows.skipped.append(
            Skipped(display, None, f"not UTF-8 (byte {exc.start}): read as Latin-1", kept=True)
        )
        return data.decode("latin-1")


def _layout(head_text: str) -> tuple[CsvLayout, int, str] | None:
    lines = head_text.splitlines()[:HEADER_LINES]
    for i, line in enumerate(lines):
        for delim in (",", ";"):
            try:
                names = {n.strip().lower() for n in next(csv.reader([line], delimiter=delim))}
            except (csv.Error, StopIteration):
                continue
            for layout in LAYOUTS:
                if layout.matches(names):
                    return layout, i, delim
    return None


class CsvScannerReader:
    """A scanner CSV export recognised by its header (Nessus/Tenable, OpenVAS, Qualys)."""

    name: ClassVar[str] = "scanner-csv"
    title: ClassVar[str] = "Nessus, OpenVAS or Qualys CSV"

    def sniff(self, head: bytes, path: Path) -> bool:
        return _layout(head.decode("utf-8", "replace")) is not None

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        body = _decode(read_bytes(path, display, limits), display, rows)
        found = _layout(body[:65536])
        if found is None:
            raise ReportError(display, "no Nessus, OpenVAS or Qualys CSV header in the first lines")
        layout, skip, delim = found
        rows.scanner = layout.name
        read_table(body, skip, delim, layout.aliases, rows, limits, layout.levels, layout.prefix)


def read_table(
    body: str,
    skip: int,
    delim: str,
    aliases: Mapping[str, tuple[str, ...]],
    rows: Rows,
    limits: Limits,
    levels: Mapping[str, str] | None = None,
    prefix: str = "",
) -> None:
    """Rows of a CSV body whose header is line ``skip``: each field from the first non-empty alias."""
    lines = io.StringIO(body)
    for _ in range(skip):
        lines.readline()
    csv.field_size_limit(limits.record_bytes)  # one field is at most one record's worth
    reader = csv.reader(lines, delimiter=delim)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return
    cols = {f: [header.index(a) for a in names if a in header] for f, names in aliases.items()}
    groups: dict[tuple[str, str, str], tuple[int, dict[str, Any]]] = {}
    for line, row in _rows(reader, skip, rows):
        values = {
            f: next((row[i].strip() for i in idx if i < len(row) and row[i].strip()), None)
            for f, idx in cols.items()
        }
        if not any(values.values()):
            continue
        sev = values.get("severity")
        if levels and isinstance(sev, str) and sev in levels:
            values["severity"] = levels[sev]
        if prefix and values.get("vuln_id"):
            values["vuln_id"] = f"{prefix}:{values['vuln_id']}"
        cves = cves_in(values.pop("cves", None))
        key = (
            str(values.get("asset")),
            str(values.get("location")),
            str(values.get("vuln_id") or values.get("title")),
        )
        if key in groups and values.get("vuln_id"):
            merged = groups[key][1]
            merged["cves"] = list(dict.fromkeys([*merged["cves"], *cves]))
            continue
        groups[key] = (line, {**values, "cves": cves})
    for line, found in groups.values():
        rows.add(line, **found)


def _rows(reader: Any, skip: int, rows: Rows) -> Iterator[tuple[int, list[str]]]:
    """(line of the row's start, row); a row the CSV parser cannot read ends the file, named."""
    while True:
        start = skip + reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            rows.skip(start, f"CSV cannot be read from here on: {exc}")
            return
        yield start, row


# ------------------------------------------------------------------ the user's mapping for any other CSV

MAPPABLE: tuple[str, ...] = (*FIELDS, "cves")


@dataclass(frozen=True)
class FindingMapping:
    """A user's CSV layout: which column holds each finding field, and the scanner's name."""

    scanner: str
    fields: Mapping[str, str]
    delimiter: str = ","


def load_finding_mapping(path: Path) -> FindingMapping:
    """Read and check a mapping TOML; an unknown field or a mapping that names no id is an error."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the findings mapping: {exc}") from exc
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise ConfigError(f"{path}: a [fields] table (finding field = CSV column) is required")
    unknown = sorted(set(fields) - set(MAPPABLE))
    if unknown:
        raise ConfigError(f"{path}: unknown finding fields {unknown}; known: {sorted(set(MAPPABLE))}")
    if not {"cves", "vuln_id", "title"} & set(fields):
        raise ConfigError(f"{path}: map at least one of cves, vuln_id or title")
    scanner = data.get("scanner", "mapped-csv")
    delim = data.get("delimiter", ",")
    if not isinstance(scanner, str) or not isinstance(delim, str) or len(delim) != 1:
        raise ConfigError(f"{path}: 'scanner' must be a name and 'delimiter' one character")
    return FindingMapping(scanner, {str(k): str(v).strip().lower() for k, v in fields.items()}, delim)


class MappedCsvFindings:
    """Any CSV read by a user's mapping; used only when the user gives one (content cannot say)."""

    name: ClassVar[str] = "mapped-csv"
    title: ClassVar[str] = "CSV by mapping"

    def __init__(self, mapping: FindingMapping) -> None:
        self.mapping = mapping

    def sniff(self, head: bytes, path: Path) -> bool:
        return False

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        body = _decode(read_bytes(path, display, limits), display, rows)
        first_line = body.split("\n", 1)[0]
        try:
            header = {
                h.strip().lower() for h in next(csv.reader([first_line], delimiter=self.mapping.delimiter))
            }
        except (csv.Error, StopIteration):
            header = set()
        missing = sorted(c for c in self.mapping.fields.values() if c not in header)
        if missing:
            raise ReportError(
                display, f"the mapping names columns this CSV's header lacks: {', '.join(missing)}"
            )
        rows.scanner = self.mapping.scanner
        aliases = {f: (c,) for f, c in self.mapping.fields.items()}
        read_table(body, 0, self.mapping.delimiter, aliases, rows, limits)
