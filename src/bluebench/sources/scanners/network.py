"""Network and host scanners: Nessus ``.nessus``, OpenVAS/Greenbone XML, Qualys XML, Nexpose XML, Nuclei.

Their findings are a check (a plugin, an NVT, a QID, a template) that fired on a host and
port; one check may name many CVEs (a missing cumulative update names fifty). The asset is
the host as the scanner named it, the location the port or URL.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, ClassVar

from bluebench.sources.limits import Limits
from bluebench.sources.scanners.base import (
    ReportError,
    Rows,
    child_text,
    children,
    cves_in,
    first,
    load_json,
    local,
    obj,
    parse_xml,
    read_bytes,
    text,
)

# Nessus severity 0..4 and Qualys 1..5, in the scanners' own words.
_NESSUS_LEVELS = {"0": "info", "1": "low", "2": "medium", "3": "high", "4": "critical"}
_QUALYS_LEVELS = {"1": "info", "2": "low", "3": "medium", "4": "high", "5": "critical"}
_FIXED = re.compile(r"Fixed version:\s*(\S[^\n]*)")
_INSTALLED = re.compile(r"Installed version:\s*(\S[^\n]*)")
_NUCLEI = re.compile(rb'^\s*\[?\s*\{\s*"(template|templateID|template-id|template-url)"\s*:')


class NessusReader:
    """Tenable Nessus ``.nessus`` (NessusClientData_v2), including Web App Scanning exports."""

    name: ClassVar[str] = "nessus"
    title: ClassVar[str] = "Nessus .nessus XML"

    def sniff(self, head: bytes, path: Path) -> bool:
        return b"<NessusClientData_v2" in head

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        root = parse_xml(path, display, limits)
        n = 0
        for host in root.iter("ReportHost"):
            props = {t.get("name"): (t.text or "").strip() for t in host.iter("tag")}
            asset = first([props.get("host-fqdn"), props.get("host-ip"), host.get("name")])
            for item in host.iter("ReportItem"):
                n += 1
                rows.add(
                    n,
                    asset=asset,
                    package=first([child_text(item, "cpe"), item.get("pluginFamily")]),
                    vuln_id=f"nessus:{item.get('pluginID')}" if item.get("pluginID") else None,
                    cves=cves_in([c.text or "" for c in item.iter("cve")]),
                    severity=first(
                        [_NESSUS_LEVELS.get(item.get("severity", "")), child_text(item, "risk_factor")]
                    ),
                    cvss=first([child_text(item, "cvss3_base_score"), child_text(item, "cvss_base_score")]),
                    cvss_vector=child_text(item, "cvss3_vector"),
                    title=item.get("pluginName"),
                    location=_port(item.get("port"), item.get("protocol")),
                    fixed_version=_match(_FIXED, child_text(item, "plugin_output")),
                    version=_match(_INSTALLED, child_text(item, "plugin_output")),
                )


def _port(port: str | None, proto: str | None) -> str | None:
    if not port or port == "0":
        return None
    return f"{port}/{(proto or 'tcp').lower()}"


def _match(pattern: re.Pattern[str], s: str | None) -> str | None:
    m = pattern.search(s or "")
    return m.group(1).strip() if m else None


class OpenVasXmlReader:
    """OpenVAS / Greenbone XML reports (GMP ``get_reports``): ``result`` elements with their NVT."""

    name: ClassVar[str] = "openvas-xml"
    title: ClassVar[str] = "OpenVAS/Greenbone XML"

    def sniff(self, head: bytes, path: Path) -> bool:
        return (
            head.lstrip().startswith((b"<report", b"<?xml"))
            and b"<report" in head
            and (b"<nvt oid=" in head or b"<gmp>" in head or b"<results" in head or b"<omp>" in head)
        )

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        root = parse_xml(path, display, limits)
        if local(root.tag) != "report":
            raise ReportError(display, "an OpenVAS report's root element is <report>")
        for n, res in enumerate(root.iter("result"), 1):
            nvt = next(children(res, "nvt"), None)
            host = next(children(res, "host"), None)
            asset = first(
                [child_text(host, "hostname"), (host.text or "").strip() if host is not None else None]
            )
            refs = [
                r.get("id") or ""
                for r in (nvt.iter("ref") if nvt is not None else [])
                if r.get("type") == "cve"
            ]
            desc = child_text(res, "description")
            rows.add(
                n,
                asset=asset,
                package=child_text(nvt, "family"),
                vuln_id=f"openvas:{nvt.get('oid')}" if nvt is not None and nvt.get("oid") else None,
                cves=cves_in(refs, child_text(nvt, "cve")),
                severity=child_text(res, "threat"),
                cvss=first([child_text(res, "severity"), child_text(nvt, "cvss_base")]),
                title=first([child_text(nvt, "name"), child_text(res, "name")]),
                location=child_text(res, "port"),
                version=_match(_INSTALLED, desc),
                fixed_version=_match(_FIXED, desc),
            )


class QualysXmlReader:
    """Qualys XML: the asset data report (hosts with QIDs, a glossary of QIDs) and the scan report."""

    name: ClassVar[str] = "qualys-xml"
    title: ClassVar[str] = "Qualys XML"

    def sniff(self, head: bytes, path: Path) -> bool:
        return b"<ASSET_DATA_REPORT" in head or (b"<SCAN value=" in head and b"qualys" in head.lower())

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        root = parse_xml(path, display, limits)
        if root.tag == "ASSET_DATA_REPORT":
            _qualys_assets(root, rows)
        elif root.tag == "SCAN":
            _qualys_scan(root, rows)
        else:
            raise ReportError(
                display, f"a Qualys report opens with ASSET_DATA_REPORT or SCAN, not {root.tag}"
            )


def _qualys_assets(root: ET.Element, rows: Rows) -> None:
    glossary = {d.get("id"): d for d in root.iter("VULN_DETAILS")}
    n = 0
    for host in root.iter("HOST"):
        asset = first([child_text(host, "DNS"), child_text(host, "IP")])
        for info in host.iter("VULN_INFO"):
            n += 1
            qid = info.find("QID")
            d = glossary.get(qid.get("id") if qid is not None else None)
            port = child_text(info, "PORT")
            rows.add(
                n,
                asset=asset,
                package=child_text(d, "CATEGORY"),
                vuln_id=f"qualys:{(qid.text or '').strip()}" if qid is not None and qid.text else None,
                cves=cves_in([i.text or "" for i in (d.iter("ID") if d is not None else [])]),
                severity=_QUALYS_LEVELS.get(child_text(d, "SEVERITY") or ""),
                cvss=first([_cvss_of(d, "CVSS3_SCORE"), _cvss_of(d, "CVSS_SCORE")]),
                title=child_text(d, "TITLE"),
                location=_port(port, child_text(info, "PROTOCOL")),
            )


def _cvss_of(d: ET.Element | None, name: str) -> str | None:
    if d is None:
        return None
    el = d.find(name)
    return None if el is None else first([child_text(el, "CVSS3_BASE", "CVSS_BASE"), text(el.text)])


def _qualys_scan(root: ET.Element, rows: Rows) -> None:
    n = 0
    for ip in root.iter("IP"):
        asset = first([ip.get("name"), ip.get("value")])
        for v in ip.iter("VULN"):
            n += 1
            rows.add(
                n,
                asset=asset,
                vuln_id=f"qualys:{v.get('number')}" if v.get("number") else None,
                cves=cves_in(v.get("cveid"), [i.text or "" for i in v.iter("ID")]),
                severity=_QUALYS_LEVELS.get(v.get("severity") or ""),
                cvss=first([child_text(v, "CVSS3_BASE"), child_text(v, "CVSS_BASE")]),
                title=child_text(v, "TITLE"),
                location=_port(v.get("port"), v.get("protocol")),
            )


class NexposeReader:
    """Rapid7 Nexpose / InsightVM XML 2.0: vulnerable tests on nodes and their endpoints."""

    name: ClassVar[str] = "nexpose"
    title: ClassVar[str] = "Nexpose XML"

    def sniff(self, head: bytes, path: Path) -> bool:
        return b"<NexposeReport" in head

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        root = parse_xml(path, display, limits)
        defs = {(v.get("id") or "").lower(): v for v in root.iter("vulnerability")}
        n = 0
        for node in root.iter("node"):
            names = [x.text for x in node.iter("name") if x.text]
            asset = first([*names, node.get("address")])
            for port, proto, test in _node_tests(node):
                if not (test.get("status") or "").startswith("vulnerable"):
                    continue
                n += 1
                d = defs.get((test.get("id") or "").lower())
                refs = [
                    r.text or ""
                    for r in (d.iter("reference") if d is not None else [])
                    if r.get("source") == "CVE"
                ]
                rows.add(
                    n,
                    asset=asset,
                    vuln_id=f"nexpose:{test.get('id')}",
                    cves=cves_in(refs, test.get("id")),
                    severity=_nexpose_level(d.get("severity") if d is not None else None),
                    cvss=d.get("cvssScore") if d is not None else None,
                    cvss_vector=d.get("cvssVector") if d is not None else None,
                    title=first([d.get("title") if d is not None else None, test.get("id")]),
                    location=_port(port, proto),
                )


def _node_tests(node: ET.Element) -> list[tuple[str | None, str | None, ET.Element]]:
    """Tests of a node and of its endpoints, each with the endpoint's port and protocol."""
    out: list[tuple[str | None, str | None, ET.Element]] = []
    for c in node:
        if c.tag == "tests":
            out.extend((None, None, t) for t in c.iter("test"))
        elif c.tag == "endpoints":
            for ep in c.iter("endpoint"):
                out.extend((ep.get("port"), ep.get("protocol"), t) for t in ep.iter("test"))
    return out


def _nexpose_level(value: str | None) -> str:
    """Rapid7's 1..10 severity in its own bands: Critical 8-10, Severe 4-7, Moderate 1-3."""
    try:
        v = int(value or "")
    except ValueError:
        return "unknown"
    return "critical" if v >= 8 else "high" if v >= 4 else "medium" if v >= 1 else "info"


class NucleiReader:
    """ProjectDiscovery Nuclei JSON lines (``-jsonl``) or a JSON array (``-json-export``)."""

    name: ClassVar[str] = "nuclei"
    title: ClassVar[str] = "Nuclei JSON"

    def sniff(self, head: bytes, path: Path) -> bool:
        return bool(_NUCLEI.search(head))

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        data = read_bytes(path, display, limits)
        if data.lstrip().startswith(b"["):
            doc = load_json(path, display, limits)
            items: list[tuple[int, Any]] = list(enumerate(doc if isinstance(doc, list) else [], 1))
        else:
            items = []
            for i, line in enumerate(data.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    items.append((i, json.loads(line)))
                except ValueError as exc:
                    rows.skip(i, f"not a JSON object: {str(exc)[:80]}")
        for n, item in items:
            if not isinstance(item, dict):
                rows.skip(n, "not a JSON object")
                continue
            _nuclei_item(rows, n, item)


def _nuclei_item(rows: Rows, n: int, item: dict[str, Any]) -> None:
    info = obj(item.get("info"))
    cls = obj(info.get("classification"))
    tid = first([item.get("template-id"), item.get("templateID")])
    cve_ids = cls.get("cve-id") or []
    rows.add(
        n,
        asset=first([item.get("host"), item.get("ip")]),
        vuln_id=f"nuclei:{tid}" if tid else None,
        cves=cves_in(cve_ids if isinstance(cve_ids, list) else [cve_ids], tid),
        severity=info.get("severity"),
        cvss=cls.get("cvss-score"),
        cvss_vector=cls.get("cvss-metrics"),
        title=first([info.get("name"), tid]),
        location=first([item.get("matched-at"), item.get("matched")]),
        package=first([item.get("matcher-name"), item.get("matcher_name")]),
    )
