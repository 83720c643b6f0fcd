"""Scanner reports read into findings, each format recognised by content (``SCANNERS``).

:func:`read_report` names the reader that claimed a file, or refuses the file with the reason
(not a scanner report, invalid JSON, an empty report); a bad finding inside a readable report
is skipped with its record number and the rest is kept. A report of an unknown tool can be
read as CSV with a mapping (:func:`load_finding_mapping`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from bluebench.errors import InputError
from bluebench.registry import Registry
from bluebench.sources import discover
from bluebench.sources.base import Skipped
from bluebench.sources.limits import DEFAULT_LIMITS, Limits
from bluebench.sources.lines import read_head
from bluebench.sources.scanners.base import FINDING_SCHEMA, ReportError, Rows, ScannerReader
from bluebench.sources.scanners.containers import GrypeReader, TrivyOperatorReader, TrivyReader
from bluebench.sources.scanners.deps import (
    DependencyCheckJsonReader,
    DependencyCheckXmlReader,
    OsvScannerReader,
    SnykReader,
)
from bluebench.sources.scanners.network import (
    NessusReader,
    NexposeReader,
    NucleiReader,
    OpenVasXmlReader,
    QualysXmlReader,
)
from bluebench.sources.scanners.sarif import SarifReader
from bluebench.sources.scanners.standards import CycloneDxJsonReader, CycloneDxXmlReader, GitLabReader
from bluebench.sources.scanners.tables import (
    CsvScannerReader,
    FindingMapping,
    MappedCsvFindings,
    load_finding_mapping,
)

_KEY = re.compile(rb'"([A-Za-z_$@][\w.$@-]{0,40})"\s*:')
_TAG = re.compile(rb"<(?![?!])([A-Za-z_][\w.:-]{0,40})")

SCANNERS: Registry[ScannerReader] = Registry("scanner report reader")
for _reader in (
    CycloneDxJsonReader(),  # first: a CycloneDX document may name Grype or Snyk as its tool
    CycloneDxXmlReader(),
    GrypeReader(),  # before Trivy: a Grype report never has Trivy's keys, the reverse is checked there
    TrivyReader(),
    TrivyOperatorReader(),
    OsvScannerReader(),
    SnykReader(),
    DependencyCheckXmlReader(),
    DependencyCheckJsonReader(),
    NessusReader(),
    OpenVasXmlReader(),
    QualysXmlReader(),
    NexposeReader(),
    NucleiReader(),
    GitLabReader(),
    SarifReader(),
    CsvScannerReader(),  # last: a CSV header is checked only when no structured format claimed the file
):
    SCANNERS.register(_reader.name, _reader)

__all__ = [
    "FINDING_SCHEMA",
    "SCANNERS",
    "FindingMapping",
    "Report",
    "ReportError",
    "detect_scanner",
    "load_finding_mapping",
    "read_report",
    "read_reports",
]


@dataclass
class Report:
    """One file: the reader that claimed it and its findings, or why it was refused."""

    file: str
    scanner: str | None
    findings: pa.Table
    skipped: list[Skipped] = field(default_factory=list)
    refused: str | None = None

    @property
    def cves(self) -> int:
        """Distinct CVE ids named by the report's findings."""
        col = self.findings.column("cves").combine_chunks().flatten()
        return len(set(col.to_pylist()))


def detect_scanner(path: Path, limits: Limits = DEFAULT_LIMITS) -> ScannerReader | None:
    """The reader whose format the file's first 64 KiB (decompressed) match, or None."""
    head = read_head(path, limits=limits)
    for reader in SCANNERS:
        if reader.sniff(head, path):
            return reader
    return None


def _why_not(path: Path, limits: Limits) -> str:
    """What an unrecognised file looks like, so the user knows whether a mapping would help."""
    head = read_head(path, limits=limits)
    if not head.strip():
        return "empty file"
    body = head.strip()
    if body in (b"null", b"[]", b"{}"):
        return f"an empty JSON document ({body.decode()}): no findings"
    if body[:1] in (b"{", b"["):
        keys = list(dict.fromkeys(m.decode("utf-8", "replace") for m in _KEY.findall(body[:2048])))[:4]
        return "JSON of no scanner bluebench reads" + (f" (first keys: {', '.join(keys)})" if keys else "")
    if body[:1] == b"<":
        root = _TAG.search(body)
        return "XML of no scanner bluebench reads" + (
            f" (root <{root.group(1).decode('utf-8', 'replace')}>)" if root else ""
        )
    return "not a scanner report bluebench reads: text without a known CSV header (read it with --mapping)"


def read_report(
    path: Path,
    display: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    mapping: FindingMapping | None = None,
) -> Report:
    """Read one report; refusals (unknown format, unreadable document) come back as ``refused``."""
    display = display or str(path)
    empty = FINDING_SCHEMA.empty_table()
    try:
        reader: ScannerReader | None = MappedCsvFindings(mapping) if mapping else detect_scanner(path, limits)
    except OSError as exc:
        return Report(display, None, empty, refused=f"cannot read: {exc.strerror or exc}")
    if reader is None:
        return Report(display, None, empty, refused=_why_not(path, limits))
    rows = Rows(display, reader.name)
    try:
        reader.read(path, display, rows, limits)
    except InputError as exc:
        return Report(display, rows.scanner, empty, rows.skipped, refused=exc.reason)
    return Report(display, rows.scanner, rows.table(), rows.skipped)


def read_reports(
    paths: Iterable[str], limits: Limits = DEFAULT_LIMITS, mapping: FindingMapping | None = None
) -> list[Report]:
    """Every file under ``paths`` (folders walked), in order, read or refused."""
    return [read_report(f.path, f.display, limits, mapping) for f in discover(list(paths))]
