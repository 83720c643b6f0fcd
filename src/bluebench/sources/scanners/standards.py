"""Vendor-neutral report formats many tools write: CycloneDX (JSON and XML) and GitLab security reports.

CycloneDX carries vulnerabilities beside the components they affect (``affects`` refers to
a component's ``bom-ref``); a CycloneDX document without vulnerabilities is an inventory, not
findings, and is refused as such. GitLab's container and dependency scanning reports hold a
``vulnerabilities`` list with identifiers (CVE, GHSA) and a location (image or lock file).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, ClassVar

from bluebench.sources.limits import Limits
from bluebench.sources.scanners.base import (
    ReportError,
    Rows,
    cves_in,
    first,
    load_json,
    local,
    obj,
    parse_xml,
    text,
)

_CDX_JSON = re.compile(rb'"bomFormat"\s*:\s*"CycloneDX"')
_CDX_XML = re.compile(rb"<bom\b[^>]*cyclonedx\.org", re.IGNORECASE)
_GITLAB = re.compile(
    rb'"version"\s*:\s*"\d+\.\d+\.\d+"\s*,\s*"vulnerabilities"\s*:|"scan"\s*:\s*\{[^{}]*"type"\s*:\s*"(container_scanning|dependency_scanning)"'
)
_NO_VULNS = "a CycloneDX inventory without vulnerabilities: no findings (scan it with Trivy or Grype first)"


def _cdx_rating(ratings: list[dict[str, Any]]) -> tuple[Any, Any, Any]:
    """(severity, score, vector) from CycloneDX ratings, CVSS v3 preferred."""
    sev = first(r.get("severity") for r in ratings)
    v3 = [r for r in ratings if str(r.get("method", "")).upper().startswith("CVSSV3")]
    best = v3[0] if v3 else next((r for r in ratings if r.get("score") is not None), {})
    return sev, best.get("score"), best.get("vector")


class CycloneDxJsonReader:
    """CycloneDX JSON with ``vulnerabilities`` (1.4 and later)."""

    name: ClassVar[str] = "cyclonedx-json"
    title: ClassVar[str] = "CycloneDX JSON"

    def sniff(self, head: bytes, path: Path) -> bool:
        return bool(_CDX_JSON.search(head))

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        doc = load_json(path, display, limits)
        vulns = doc.get("vulnerabilities") if isinstance(doc, dict) else None
        if not vulns:
            raise ReportError(display, _NO_VULNS)
        comps = {c.get("bom-ref"): c for c in doc.get("components") or [] if isinstance(c, dict)}
        meta = (doc.get("metadata") or {}).get("component") or {}
        asset = text(meta.get("name")) if isinstance(meta, dict) else None
        for n, v in enumerate(vulns, 1):
            if not isinstance(v, dict):
                rows.skip(n, "vulnerability is not a JSON object")
                continue
            sev, cvss, vector = _cdx_rating([r for r in v.get("ratings") or [] if isinstance(r, dict)])
            refs = [a.get("ref") for a in v.get("affects") or [] if isinstance(a, dict)] or [None]
            for ref in refs:
                comp = comps.get(ref) or {}
                rows.add(
                    n,
                    asset=asset,
                    package=first([comp.get("name"), ref]),
                    version=comp.get("version"),
                    vuln_id=v.get("id"),
                    cves=cves_in(
                        v.get("id"), [r.get("id") for r in v.get("references") or [] if isinstance(r, dict)]
                    ),
                    severity=sev,
                    cvss=cvss,
                    cvss_vector=vector,
                    title=first([v.get("description"), v.get("detail"), v.get("id")]),
                    location=comp.get("purl"),
                )


class CycloneDxXmlReader:
    """CycloneDX XML with vulnerabilities (the 1.4 element or the older vulnerability extension)."""

    name: ClassVar[str] = "cyclonedx-xml"
    title: ClassVar[str] = "CycloneDX XML"

    def sniff(self, head: bytes, path: Path) -> bool:
        return bool(_CDX_XML.search(head))

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        root = parse_xml(path, display, limits)
        comps = {c.get("bom-ref"): c for c in root.iter() if local(c.tag) == "component"}
        vulns = [v for v in root.iter() if local(v.tag) == "vulnerability"]
        if not vulns:
            raise ReportError(display, _NO_VULNS)
        for n, v in enumerate(vulns, 1):
            ratings = [
                {local(x.tag): (x.text or "").strip() for x in r}
                for r in v.iter()
                if local(r.tag) == "rating"
            ]
            sev, cvss, vector = _cdx_rating(ratings)
            vid = _own(v, "id")
            refs: list[str | None] = [(t.text or "").strip() for t in v.iter() if local(t.tag) == "ref"]
            for ref in refs or [v.get("ref")]:
                comp = comps.get(ref)
                rows.add(
                    n,
                    package=_own(comp, "name") or ref,
                    version=_own(comp, "version"),
                    vuln_id=vid,
                    cves=cves_in(vid, [(i.text or "") for i in v.iter() if local(i.tag) == "id"]),
                    severity=sev,
                    cvss=cvss,
                    cvss_vector=vector,
                    title=first([_own(v, "description"), vid]),
                    location=_own(comp, "purl"),
                )


def _own(el: ET.Element | None, name: str) -> str | None:
    """The text of ``el``'s own child ``name`` (not a descendant's), namespaces ignored."""
    if el is None:
        return None
    return next((text(c.text) for c in el if local(c.tag) == name), None)


class GitLabReader:
    """GitLab container and dependency scanning reports (security report schema 2.x to 15.x)."""

    name: ClassVar[str] = "gitlab"
    title: ClassVar[str] = "GitLab security report JSON"

    def sniff(self, head: bytes, path: Path) -> bool:
        return bool(_GITLAB.search(head))

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        doc = load_json(path, display, limits)
        if not isinstance(doc, dict) or not isinstance(doc.get("vulnerabilities"), list):
            raise ReportError(display, "a GitLab security report has a 'vulnerabilities' list")
        for n, v in enumerate(doc["vulnerabilities"], 1):
            if not isinstance(v, dict):
                rows.skip(n, "vulnerability is not a JSON object")
                continue
            loc = obj(v.get("location"))
            dep = obj(loc.get("dependency"))
            pkg = obj(dep.get("package"))
            idents = [i for i in v.get("identifiers") or [] if isinstance(i, dict)]
            rows.add(
                n,
                asset=first([loc.get("image"), loc.get("file")]),
                package=pkg.get("name"),
                version=dep.get("version"),
                vuln_id=first([i.get("value") for i in idents] + [v.get("id")]),
                cves=cves_in(
                    [i.get("value") for i in idents if str(i.get("type", "")).lower() == "cve"], v.get("cve")
                ),
                severity=v.get("severity"),
                title=first([v.get("name"), v.get("message"), v.get("description")]),
                location=loc.get("file"),
            )
