"""Dependency scanners: OSV-Scanner, Snyk (open source and container) and OWASP Dependency-Check.

Their findings are a package at a version in a project (a lock file, a manifest, an image);
the asset is the project or image, the location the manifest that pulled the package in.
"""

from __future__ import annotations

import re
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
    text,
)
from bluebench.sources.scanners.cvss import base_score

_OSV = re.compile(rb'^\s*\{\s*"results"\s*:\s*\[\s*(\{\s*"source"|\])')
_SNYK = re.compile(
    rb'"(packageManager|vulnerabilities)"\s*:.*"(projectName|dependencyCount|uniqueCount|packageManager)"',
    re.S,
)
_SNYK_VULN = re.compile(rb'"id"\s*:\s*"SNYK-')
_DEPCHECK_XML = re.compile(rb"<analysis\b[^>]*dependency-?check", re.IGNORECASE)
_DEPCHECK_JSON = re.compile(
    rb'"reportSchema"\s*:.*"dependencies"\s*:|"scanInfo"\s*:\s*\{\s*"engineVersion"', re.S
)


class OsvScannerReader:
    """OSV-Scanner JSON: ``results`` of a source file, each with packages and their vulnerabilities."""

    name: ClassVar[str] = "osv-scanner"
    title: ClassVar[str] = "OSV-Scanner JSON"

    def sniff(self, head: bytes, path: Path) -> bool:
        return bool(_OSV.search(head))

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        doc = load_json(path, display, limits)
        if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
            raise ReportError(display, "an OSV-Scanner report is an object with a 'results' list")
        n = 0
        for res in doc["results"]:
            src = text((res.get("source") or {}).get("path")) if isinstance(res, dict) else None
            for pkg in (res.get("packages") or []) if isinstance(res, dict) else []:
                p = pkg.get("package") or {}
                for v in pkg.get("vulnerabilities") or []:
                    n += 1
                    if not isinstance(v, dict):
                        rows.skip(n, "vulnerability is not a JSON object")
                        continue
                    _osv_vuln(rows, n, src, p, v)


def _osv_vuln(rows: Rows, n: int, src: str | None, p: dict[str, Any], v: dict[str, Any]) -> None:
    vector = first(
        s.get("score") for s in v.get("severity") or [] if isinstance(s, dict) and s.get("type") == "CVSS_V3"
    )
    spec = obj(v.get("database_specific"))
    fixed = [
        e.get("fixed")
        for a in v.get("affected") or []
        for r in a.get("ranges") or []
        for e in r.get("events") or []
        if isinstance(e, dict) and e.get("fixed")
    ]
    rows.add(
        n,
        asset=src,
        package=p.get("name"),
        version=p.get("version"),
        fixed_version=", ".join(dict.fromkeys(str(f) for f in fixed)) or None,
        vuln_id=v.get("id"),
        cves=cves_in(v.get("id"), v.get("aliases")),
        severity=spec.get("severity"),
        cvss=base_score(vector),
        cvss_vector=vector,
        title=first([v.get("summary"), v.get("details"), v.get("id")]),
        location=src,
    )


class SnykReader:
    """Snyk CLI JSON (``snyk test --json``, one project or ``--all-projects``, and containers)."""

    name: ClassVar[str] = "snyk"
    title: ClassVar[str] = "Snyk JSON"

    def sniff(self, head: bytes, path: Path) -> bool:
        if b'"bomFormat"' in head:
            return False  # a CycloneDX document may carry Snyk's ids; its own reader claims it
        return bool(_SNYK_VULN.search(head)) or bool(_SNYK.search(head) and b'"ok"' in head)

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        doc = load_json(path, display, limits)
        projects = doc if isinstance(doc, list) else [doc]
        n = 0
        for proj in projects:
            if not isinstance(proj, dict) or not isinstance(proj.get("vulnerabilities"), list):
                raise ReportError(
                    display, "a Snyk report is an object (or a list of them) with 'vulnerabilities'"
                )
            asset = first(
                [
                    proj.get("projectName"),
                    (proj.get("docker") or {}).get("image") if isinstance(proj.get("docker"), dict) else None,
                    proj.get("path"),
                ]
            )
            target = text(proj.get("displayTargetFile")) or text(proj.get("targetFile"))
            for v in proj["vulnerabilities"]:
                n += 1
                if not isinstance(v, dict):
                    rows.skip(n, "vulnerability is not a JSON object")
                    continue
                ids = obj(v.get("identifiers"))
                rows.add(
                    n,
                    asset=asset,
                    package=first([v.get("packageName"), v.get("name")]),
                    version=v.get("version"),
                    fixed_version=", ".join(str(x) for x in v.get("fixedIn") or []) or None,
                    vuln_id=v.get("id"),
                    cves=cves_in(ids.get("CVE"), v.get("title")),
                    severity=first([v.get("severityWithCritical"), v.get("severity")]),
                    cvss=v.get("cvssScore"),
                    cvss_vector=v.get("CVSSv3"),
                    title=v.get("title"),
                    location=target,
                )


class DependencyCheckXmlReader:
    """OWASP Dependency-Check XML: each vulnerability of each dependency is a finding."""

    name: ClassVar[str] = "dependency-check-xml"
    title: ClassVar[str] = "Dependency-Check XML"

    def sniff(self, head: bytes, path: Path) -> bool:
        return bool(_DEPCHECK_XML.search(head))

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        root = parse_xml(path, display, limits)
        project = child_text(next(children(root, "projectInfo"), None), "name")
        n = 0
        for deps in children(root, "dependencies"):
            for dep in children(deps, "dependency"):
                ident = next(
                    (child_text(i, "name") for i in dep.iter() if local(i.tag) == "identifier"), None
                )
                package, version = _split_coordinate(ident) if ident else (child_text(dep, "fileName"), None)
                for vulns in (c for c in dep if local(c.tag) in ("vulnerabilities", "relatedDependencies")):
                    for v in children(vulns, "vulnerability"):
                        n += 1
                        name = child_text(v, "name")
                        cvss3 = next(children(v, "cvssV3"), None)
                        cvss2 = next(children(v, "cvssV2"), None)
                        rows.add(
                            n,
                            asset=project,
                            package=package,
                            version=version,
                            vuln_id=name,
                            cves=cves_in(name),
                            severity=first([child_text(cvss3, "baseSeverity"), child_text(v, "severity")]),
                            cvss=first(
                                [
                                    child_text(cvss3, "baseScore"),
                                    child_text(cvss2, "score"),
                                    child_text(v, "cvssScore"),
                                ]
                            ),
                            title=first([child_text(v, "description"), name]),
                            location=child_text(dep, "filePath"),
                        )


class DependencyCheckJsonReader:
    """OWASP Dependency-Check JSON (``--format JSON``)."""

    name: ClassVar[str] = "dependency-check-json"
    title: ClassVar[str] = "Dependency-Check JSON"

    def sniff(self, head: bytes, path: Path) -> bool:
        return bool(_DEPCHECK_JSON.search(head))

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        doc = load_json(path, display, limits)
        if not isinstance(doc, dict) or not isinstance(doc.get("dependencies"), list):
            raise ReportError(display, "a Dependency-Check JSON report has a 'dependencies' list")
        project = (
            text((doc.get("projectInfo") or {}).get("name"))
            if isinstance(doc.get("projectInfo"), dict)
            else None
        )
        n = 0
        for dep in doc["dependencies"]:
            if not isinstance(dep, dict):
                continue
            pkgs = [str(p["id"]) for p in dep.get("packages") or [] if isinstance(p, dict) and p.get("id")]
            package, version = _split_coordinate(pkgs[0]) if pkgs else (text(dep.get("fileName")), None)
            for v in dep.get("vulnerabilities") or []:
                n += 1
                if not isinstance(v, dict):
                    rows.skip(n, "vulnerability is not a JSON object")
                    continue
                c3 = obj(v.get("cvssv3"))
                c2 = obj(v.get("cvssv2"))
                rows.add(
                    n,
                    asset=project,
                    package=package,
                    version=version,
                    vuln_id=v.get("name"),
                    cves=cves_in(v.get("name")),
                    severity=first([c3.get("baseSeverity"), v.get("severity")]),
                    cvss=first([c3.get("baseScore"), c2.get("score")]),
                    title=first([v.get("description"), v.get("name")]),
                    location=dep.get("filePath"),
                )


def _split_coordinate(ident: str) -> tuple[str | None, str | None]:
    """'pkg:maven/org.owasp/library@6.7.8' or 'org.owasp:library:6.7.8' -> (package, version)."""
    s = ident.strip()
    if s.startswith("pkg:"):
        name, _, version = s[4:].partition("@")
        return name.split("/", 1)[-1] or None, version.split("?")[0] or None
    bits = s.split(":")
    if len(bits) >= 3:
        return ":".join(bits[:-1]), bits[-1]
    return s or None, None
