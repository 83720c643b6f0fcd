"""CVE JSON 5.x records (the CVE List, CISA Vulnrichment): a folder, a ``.tar.gz`` or a ``.zip`` of them.

Each record becomes one row of what ranking may use, every part with the day it was last
changed, because a record is stored as it is now, not as it was: the CNA container
(vendor, product, CVSS, CWE, reference tags) with its ``dateUpdated``; CISA's ADP container
(its CVSS, CWE, vendor) with the latest day anything in it names (its ``dateUpdated`` is not
moved when CISA adds a KEV date or a new SSVC rating, so those days count too); and the SSVC
rating with its own timestamp. Which parts a ranking at a given day may use is decided by
``bluebench.vuln.knowledge``, not here.
"""

from __future__ import annotations

import json
import re
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from bluebench.errors import InputError
from bluebench.sources.base import Skipped
from bluebench.sources.feeds import cache as feed_cache
from bluebench.sources.feeds.dates import day_of
from bluebench.sources.limits import DEFAULT_LIMITS, Limits, bytes_text
from bluebench.sources.scanners.base import CVE_RE, obj
from bluebench.sources.scanners.cvss import base_score

RECORD_SCHEMA = pa.schema(
    [
        ("cve", pa.string()),
        ("state", pa.string()),
        ("published", pa.date32()),
        ("updated", pa.date32()),
        ("assigner", pa.string()),
        ("cna_day", pa.date32()),
        ("cna_vendor", pa.string()),
        ("cna_product", pa.string()),
        ("cna_cvss", pa.float64()),
        ("cna_vector", pa.string()),
        ("cna_cwe", pa.string()),
        ("cna_tags", pa.list_(pa.string())),
        ("cna_exploit_refs", pa.int32()),
        ("adp_day", pa.date32()),
        ("adp_vendor", pa.string()),
        ("adp_product", pa.string()),
        ("adp_cvss", pa.float64()),
        ("adp_vector", pa.string()),
        ("adp_cwe", pa.string()),
        ("ssvc_day", pa.date32()),
        ("ssvc_exploitation", pa.string()),
        ("ssvc_automatable", pa.string()),
        ("ssvc_impact", pa.string()),
    ]
)
#: The code that decides what a record parses to: a change to it parses every archive again.
PARSER_CODE = tuple(
    Path(__file__).parent.parent / name
    for name in ("feeds/cverecords.py", "feeds/dates.py", "scanners/base.py", "scanners/cvss.py")
)
_CWE = re.compile(r"CWE-\d+")
_METRIC_KEYS = ("cvssV3_1", "cvssV3_0", "cvssV4_0")
_NOT_NAMES = {"", "n/a", "na", "unknown", "unspecified", "not applicable"}


@dataclass
class RecordSet:
    """Parsed records (RECORD_SCHEMA) and the members that could not be read."""

    table: pa.Table
    source: str
    skipped: list[Skipped] = field(default_factory=list)


def _name(value: object) -> str | None:
    s = str(value).strip() if isinstance(value, str) else ""
    return None if s.lower() in _NOT_NAMES else s


def _cvss(metrics: object) -> tuple[float | None, str | None]:
    """(score, vector) from a container's metrics: CVSS v3.1, then v3.0, then v4.0."""
    found: dict[str, dict[str, Any]] = {}
    for m in metrics if isinstance(metrics, list) else []:
        for k in _METRIC_KEYS:
            if isinstance(m, dict) and isinstance(m.get(k), dict):
                found.setdefault(k, m[k])
    for k in _METRIC_KEYS:
        if k in found:
            c = found[k]
            vector = c.get("vectorString") if isinstance(c.get("vectorString"), str) else None
            score = c.get("baseScore")
            if isinstance(score, bool) or not isinstance(score, int | float):
                score = base_score(vector)
            return (float(score) if score is not None and 0 <= score <= 10 else None), vector
    return None, None


def _cwe(container: dict[str, Any]) -> str | None:
    for p in container.get("problemTypes") or []:
        for d in obj(p).get("descriptions") or []:
            m = _CWE.search(str(obj(d).get("cweId") or obj(d).get("description") or ""))
            if m:
                return m.group(0)
    return None


def _affected(container: dict[str, Any]) -> tuple[str | None, str | None]:
    for a in container.get("affected") or []:
        a = obj(a)
        vendor, product = _name(a.get("vendor")), _name(a.get("product"))
        if vendor or product:
            return vendor, product
    return None, None


def _latest(*days: date | None) -> date | None:
    known = [d for d in days if d is not None]
    return max(known) if known else None


def _adp(adps: object) -> dict[str, Any]:
    """CISA's ADP container: its CVSS, CWE, vendor, SSVC rating, and the latest day it names."""
    out: dict[str, Any] = {}
    for a in adps if isinstance(adps, list) else []:
        a = obj(a)
        if str(obj(a.get("providerMetadata")).get("shortName", "")).upper() != "CISA-ADP":
            continue
        days = [day_of(obj(a.get("providerMetadata")).get("dateUpdated"))]
        days += [day_of(obj(t).get("time")) for t in a.get("timeline") or []]
        for m in a.get("metrics") or []:
            other = obj(obj(m).get("other"))
            content = obj(other.get("content"))
            if other.get("type") == "ssvc":
                opts = {
                    k.lower(): str(v).lower() for o in content.get("options") or [] for k, v in obj(o).items()
                }
                out["ssvc_day"] = day_of(content.get("timestamp"))
                out["ssvc_exploitation"] = opts.get("exploitation")
                out["ssvc_automatable"] = opts.get("automatable")
                out["ssvc_impact"] = opts.get("technical impact")
                days.append(out["ssvc_day"])
            elif other.get("type") == "kev":
                days.append(day_of(content.get("dateAdded")))
        out["adp_cvss"], out["adp_vector"] = _cvss(a.get("metrics"))
        out["adp_cwe"] = _cwe(a)
        out["adp_vendor"], out["adp_product"] = _affected(a)
        out["adp_day"] = _latest(*days)
    return out


def parse_record(doc: Any) -> dict[str, Any] | None:
    """One CVE JSON 5 record as a row of RECORD_SCHEMA; None when it is not a CVE record."""
    meta = obj(obj(doc).get("cveMetadata"))
    cve = str(meta.get("cveId", "")).upper()
    if not CVE_RE.fullmatch(cve):
        return None
    containers = obj(obj(doc).get("containers"))
    cna = obj(containers.get("cna"))
    published = day_of(meta.get("datePublished"))
    refs = [obj(r) for r in cna.get("references") or []]
    tags = sorted({str(t).lower() for r in refs for t in r.get("tags") or [] if isinstance(t, str)})
    row: dict[str, Any] = {
        "cve": cve,
        "state": str(meta.get("state", "")).upper() or None,
        "published": published,
        "updated": day_of(meta.get("dateUpdated")),
        "assigner": str(meta.get("assignerShortName") or "").strip().lower() or None,
        "cna_day": day_of(obj(cna.get("providerMetadata")).get("dateUpdated")) or published,
        "cna_cwe": _cwe(cna),
        "cna_tags": tags,
        "cna_exploit_refs": sum(
            1 for r in refs if "exploit" in [str(t).lower() for t in r.get("tags") or []]
        ),
    }
    row["cna_vendor"], row["cna_product"] = _affected(cna)
    row["cna_cvss"], row["cna_vector"] = _cvss(cna.get("metrics"))
    row.update(_adp(containers.get("adp")))
    return row


def _members(path: Path, skipped: list[Skipped], limits: Limits) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each JSON member of a folder, tar(.gz) or zip; oversized members named and skipped."""
    too_big = f"larger than [limits] record_bytes = {bytes_text(limits.record_bytes)}; not read"
    if path.is_dir():
        for f in sorted(path.rglob("*.json")):
            if f.stat().st_size > limits.record_bytes:
                skipped.append(Skipped(str(f), None, too_big))
                continue
            yield str(f), f.read_bytes()
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.is_dir() or not info.filename.endswith(".json"):
                    continue
                if info.file_size > limits.record_bytes:
                    skipped.append(Skipped(f"{path}:{info.filename}", None, too_big))
                    continue
                yield f"{path}:{info.filename}", z.read(info)
    elif tarfile.is_tarfile(path):
        with tarfile.open(path, "r:*") as tf:
            for m in tf:
                if not m.isfile() or not m.name.endswith(".json"):
                    continue
                if m.size > limits.record_bytes:
                    skipped.append(Skipped(f"{path}:{m.name}", None, too_big))
                    continue
                fh = tf.extractfile(m)
                if fh is not None:
                    yield f"{path}:{m.name}", fh.read()
    elif path.is_file():
        yield str(path), path.read_bytes()[: limits.record_bytes + 1]
    else:
        raise InputError(str(path), "no such file or folder")


def read_records(path: Path, limits: Limits = DEFAULT_LIMITS, cache: bool = True) -> RecordSet:
    """Every CVE record under ``path``, parsed once per archive content and kept (``feeds.cache``)."""
    folder = feed_cache.cache_dir("cve-records") if cache else None
    extra = f"record_bytes {limits.record_bytes}\npath {path.resolve()}"
    key = feed_cache.source_key(path, PARSER_CODE, extra) if folder else None
    if folder is not None and key is not None:
        hit = feed_cache.load(folder, key)
        if hit is not None and hit[0].schema.equals(RECORD_SCHEMA):
            return RecordSet(hit[0], str(path), hit[1])
    records = parse_records(path, limits)
    if folder is not None and key is not None:
        feed_cache.store(folder, key, records.table, records.skipped)
    return records


def parse_records(path: Path, limits: Limits = DEFAULT_LIMITS) -> RecordSet:
    """Every CVE record under ``path``; a member that is not a CVE JSON 5 record is skipped by name."""
    skipped: list[Skipped] = []
    cols: dict[str, list[Any]] = {f.name: [] for f in RECORD_SCHEMA}
    try:
        for name, data in _members(path, skipped, limits):
            try:
                row = parse_record(json.loads(data))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                skipped.append(Skipped(name, None, f"not valid JSON: {str(exc)[:100]}"))
                continue
            if row is None:
                if not name.rsplit("/", 1)[-1].startswith("CVE-"):
                    continue  # a repository's other JSON files (issue templates, schemas) are not records
                skipped.append(Skipped(name, None, "not a CVE JSON 5 record (no cveMetadata.cveId)"))
                continue
            for k in cols:
                cols[k].append(row.get(k))
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        skipped.append(Skipped(str(path), None, f"archive damaged, the rest not read: {str(exc)[:120]}"))
    if not cols["cve"] and not skipped:
        raise InputError(
            str(path), "no CVE JSON 5 records here (CVE-*.json files, or a .tar.gz or .zip of them)"
        )
    return RecordSet(pa.table(cols, schema=RECORD_SCHEMA), str(path), skipped)
