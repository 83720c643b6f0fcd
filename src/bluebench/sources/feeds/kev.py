"""CISA's Known Exploited Vulnerabilities catalog (JSON feed or CSV), each entry with the day it was added.

The ``dateAdded`` of an entry is the day CISA confirmed exploitation: what a ranking at an
earlier day may not know, and the outcome a ranking is judged on.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from bluebench.errors import InputError
from bluebench.sources.base import Skipped
from bluebench.sources.feeds.dates import day_of
from bluebench.sources.limits import DEFAULT_LIMITS, Limits
from bluebench.sources.scanners.base import CVE_RE, read_bytes

KEV_SCHEMA = pa.schema(
    [
        ("cve", pa.string()),
        ("vendor", pa.string()),
        ("product", pa.string()),
        ("date_added", pa.date32()),
        ("ransomware", pa.bool_()),
        ("cwes", pa.list_(pa.string())),
    ]
)


@dataclass
class KevCatalog:
    """The catalog's entries (KEV_SCHEMA) and the day it was released, if it says."""

    table: pa.Table
    released: date | None
    file: str
    skipped: list[Skipped] = field(default_factory=list)


def _entries(data: bytes, display: str) -> tuple[list[Any], date | None]:
    """The entries as dicts, from the JSON feed or the CSV export."""
    text = data.decode("utf-8-sig", "replace")
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                display, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
            ) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("vulnerabilities"), list):
            raise InputError(display, "a KEV catalog in JSON has a 'vulnerabilities' list")
        return doc["vulnerabilities"], day_of(doc.get("dateReleased"))
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or "cveID" not in rows[0] or "dateAdded" not in rows[0]:
        raise InputError(
            display, "not a KEV catalog: JSON with 'vulnerabilities', or CSV with cveID and dateAdded"
        )
    return rows, None


def read_kev(path: Path, display: str | None = None, limits: Limits = DEFAULT_LIMITS) -> KevCatalog:
    """Read the catalog; an entry without a CVE id or a valid dateAdded is skipped with its number."""
    display = display or str(path)
    entries, released = _entries(read_bytes(path, display, limits), display)
    cols: dict[str, list[Any]] = {f.name: [] for f in KEV_SCHEMA}
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for n, e in enumerate(entries, 1):
        cve = str(e.get("cveID", "")).strip().upper() if isinstance(e, dict) else ""
        added = day_of(e.get("dateAdded")) if isinstance(e, dict) else None
        if not CVE_RE.fullmatch(cve) or added is None:
            skipped.append(Skipped(display, n, "entry without a CVE id and a dateAdded day"))
            continue
        if cve in seen:
            skipped.append(Skipped(display, n, f"{cve} listed twice: the first entry kept"))
            continue
        seen.add(cve)
        cwes = e.get("cwes") or []
        cols["cve"].append(cve)
        cols["vendor"].append(str(e.get("vendorProject") or "").strip() or None)
        cols["product"].append(str(e.get("product") or "").strip() or None)
        cols["date_added"].append(added)
        cols["ransomware"].append(str(e.get("knownRansomwareCampaignUse", "")).lower() == "known")
        cols["cwes"].append([str(c) for c in (cwes if isinstance(cwes, list) else str(cwes).split(","))])
    return KevCatalog(pa.table(cols, schema=KEV_SCHEMA), released, display, skipped)
