"""Image and dependency scanners whose JSON lists packages: Trivy (CLI, Kubernetes, Operator) and Grype.

Trivy writes a vulnerability per package, misconfigurations (``DS002``, ``KSV014``) and
secrets (``aws-secret-access-key``) in the same report; all three are findings, the last two
without a CVE. The asset is the scanned artifact (image, cluster resource), the location the
target inside it (a lock file, an OS layer).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from bluebench.sources.limits import Limits
from bluebench.sources.scanners.base import ReportError, Rows, cves_in, first, load_json, obj, score, text

_TRIVY = re.compile(
    rb'"(VulnerabilityID|SchemaVersion|ArtifactName)"\s*:|"ClusterName"\s*:|^\s*\[\s*\{\s*"Target"\s*:'
)
_OPERATOR = re.compile(
    rb'"(apiVersion)"\s*:\s*"aquasecurity\.github\.io|"[a-z]+reports\.aquasecurity\.github\.io"'
)
_GRYPE = re.compile(
    rb'^\s*\{\s*"matches"\s*:|"matches"\s*:\s*\[\s*\{\s*"vulnerability"\s*:|"name"\s*:\s*"grype"'
)
# Trivy's vendor CVSS sources, most trusted first (the NVD's, then the distribution's).
_CVSS_SOURCES = ("nvd", "ghsa", "redhat", "ubuntu", "debian")


def _trivy_cvss(v: dict[str, Any]) -> tuple[float | None, str | None]:
    """The CVSS v3 score and vector Trivy carries, from the most trusted source that has one."""
    cvss = v.get("CVSS")
    if not isinstance(cvss, dict):
        return None, None
    for src in (*_CVSS_SOURCES, *sorted(set(cvss) - set(_CVSS_SOURCES))):
        part = cvss.get(src)
        if isinstance(part, dict) and score(part.get("V3Score")) is not None:
            return score(part.get("V3Score")), text(part.get("V3Vector"))
    return None, None


class TrivyReader:
    """Trivy JSON: schema 2 (``Results``), the legacy list, and the Kubernetes cluster report."""

    name: ClassVar[str] = "trivy"
    title: ClassVar[str] = "Trivy JSON"

    def sniff(self, head: bytes, path: Path) -> bool:
        return bool(_TRIVY.search(head))

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        doc = load_json(path, display, limits)
        n = 0
        for asset, result in _trivy_results(doc, display):
            n = _trivy_result(rows, n, asset, result)


def _trivy_results(doc: Any, display: str) -> list[tuple[str | None, dict[str, Any]]]:
    """(asset, result) pairs of any Trivy layout."""
    if doc is None:
        raise ReportError(display, "empty report (JSON null): Trivy writes this when it found nothing")
    if isinstance(doc, list):
        return [(None, r) for r in doc if isinstance(r, dict)]
    if not isinstance(doc, dict):
        raise ReportError(display, "a Trivy report is a JSON object or list")
    if "Results" in doc:
        return [(text(doc.get("ArtifactName")), r) for r in doc.get("Results") or [] if isinstance(r, dict)]
    out: list[tuple[str | None, dict[str, Any]]] = []
    cluster = text(doc.get("ClusterName"))
    for key in ("Resources", "Vulnerabilities", "Misconfigurations"):
        for res in doc.get(key) or []:
            if not isinstance(res, dict):
                continue
            name = "/".join(
                x for x in (text(res.get("Namespace")), text(res.get("Kind")), text(res.get("Name"))) if x
            )
            asset = f"{cluster}:{name}" if cluster and name else (name or cluster)
            out.extend((asset, r) for r in res.get("Results") or [] if isinstance(r, dict))
    return out


def _trivy_result(rows: Rows, n: int, asset: str | None, result: dict[str, Any]) -> int:
    """Add one result's vulnerabilities, misconfigurations and secrets; returns the last record number."""
    target = text(result.get("Target"))
    for v in result.get("Vulnerabilities") or []:
        n += 1
        if not isinstance(v, dict):
            rows.skip(n, "vulnerability is not a JSON object")
            continue
        cvss, vector = _trivy_cvss(v)
        vid = text(v.get("VulnerabilityID"))
        rows.add(
            n,
            asset=asset or target,
            package=v.get("PkgName"),
            version=v.get("InstalledVersion"),
            fixed_version=v.get("FixedVersion"),
            vuln_id=vid,
            cves=cves_in(vid, v.get("VendorIDs")),
            severity=v.get("Severity"),
            cvss=cvss,
            cvss_vector=vector,
            title=first([v.get("Title"), vid]),
            location=first([v.get("PkgPath"), target]),
        )
    for m in result.get("Misconfigurations") or []:
        n += 1
        if not isinstance(m, dict):
            rows.skip(n, "misconfiguration is not a JSON object")
            continue
        if str(m.get("Status", "FAIL")).upper() != "FAIL":
            continue
        rows.add(
            n,
            asset=asset or target,
            vuln_id=first([m.get("ID"), m.get("AVDID")]),
            severity=m.get("Severity"),
            title=m.get("Title"),
            location=target,
            package=m.get("Type"),
        )
    for s in result.get("Secrets") or []:
        n += 1
        if not isinstance(s, dict):
            rows.skip(n, "secret is not a JSON object")
            continue
        line = s.get("StartLine")
        rows.add(
            n,
            asset=asset or target,
            vuln_id=s.get("RuleID"),
            severity=s.get("Severity"),
            title=s.get("Title"),
            location=f"{target}:{line}" if target and line else target,
            package=s.get("Category"),
        )
    return n


class TrivyOperatorReader:
    """Trivy Operator custom resources: vulnerability, config audit and exposed secret reports."""

    name: ClassVar[str] = "trivy-operator"
    title: ClassVar[str] = "Trivy Operator JSON"

    def sniff(self, head: bytes, path: Path) -> bool:
        return bool(_OPERATOR.search(head))

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        doc = load_json(path, display, limits)
        items: list[Any] = doc if isinstance(doc, list) else [doc]
        if isinstance(doc, dict) and "kind" not in doc:
            items = [x for v in doc.values() if isinstance(v, list) for x in v]
        kinds = {str(x.get("kind")) for x in items if isinstance(x, dict)}
        readable = {"VulnerabilityReport", "ConfigAuditReport", "ExposedSecretReport"}
        if items and not kinds & readable:
            raise ReportError(
                display, f"Trivy Operator {', '.join(sorted(kinds))}: a benchmark summary, not findings"
            )
        n = 0
        for item in items:
            if isinstance(item, dict) and item.get("kind") in readable:
                n = _operator_item(rows, n, item)


def _operator_item(rows: Rows, n: int, item: dict[str, Any]) -> int:
    meta = item.get("metadata") or {}
    labels = meta.get("labels") or {}
    report = item.get("report") or {}
    art = report.get("artifact") or {}
    image = ":".join(x for x in (text(art.get("repository")), text(art.get("tag"))) if x)
    workload = "/".join(
        x
        for x in (
            text(labels.get("trivy-operator.resource.namespace")),
            text(labels.get("trivy-operator.resource.kind")),
            text(labels.get("trivy-operator.resource.name")),
        )
        if x
    )
    asset = workload or text(meta.get("name")) or image
    for v in report.get("vulnerabilities") or []:
        n += 1
        vid = text(v.get("vulnerabilityID"))
        rows.add(
            n,
            asset=asset,
            package=v.get("resource"),
            version=v.get("installedVersion"),
            fixed_version=v.get("fixedVersion"),
            vuln_id=vid,
            cves=cves_in(vid),
            severity=v.get("severity"),
            cvss=v.get("score"),
            title=first([v.get("title"), vid]),
            location=image or v.get("target"),
        )
    for c in report.get("checks") or []:
        n += 1
        if c.get("success") is True:
            continue
        rows.add(
            n,
            asset=asset,
            vuln_id=c.get("checkID"),
            severity=c.get("severity"),
            title=c.get("title"),
            package=c.get("category"),
        )
    for s in report.get("secrets") or []:
        n += 1
        rows.add(
            n,
            asset=asset,
            vuln_id=s.get("ruleID"),
            severity=s.get("severity"),
            title=s.get("title"),
            location=s.get("target"),
            package=s.get("category"),
        )
    return n


class GrypeReader:
    """Grype (Anchore) JSON: ``matches`` of a vulnerability against an artifact."""

    name: ClassVar[str] = "grype"
    title: ClassVar[str] = "Grype JSON"

    def sniff(self, head: bytes, path: Path) -> bool:
        return bool(_GRYPE.search(head))

    def read(self, path: Path, display: str, rows: Rows, limits: Limits) -> None:
        doc = load_json(path, display, limits)
        if not isinstance(doc, dict) or not isinstance(doc.get("matches"), list):
            raise ReportError(display, "a Grype report is an object with a 'matches' list")
        src = (doc.get("source") or {}).get("target") if isinstance(doc.get("source"), dict) else None
        asset = text(src.get("userInput")) if isinstance(src, dict) else text(src)
        for n, m in enumerate(doc["matches"], 1):
            if not isinstance(m, dict) or not isinstance(m.get("vulnerability"), dict):
                rows.skip(n, "match without a 'vulnerability' object")
                continue
            _grype_match(rows, n, asset, m)


def _grype_match(rows: Rows, n: int, asset: str | None, m: dict[str, Any]) -> None:
    v = m["vulnerability"]
    art = obj(m.get("artifact"))
    related = [r for r in m.get("relatedVulnerabilities") or [] if isinstance(r, dict)]
    vid = text(v.get("id"))
    cvss, vector = None, None
    for c in [*(v.get("cvss") or []), *(c for r in related for c in r.get("cvss") or [])]:
        if isinstance(c, dict) and str(c.get("version", "")).startswith("3"):
            cvss, vector = score((c.get("metrics") or {}).get("baseScore")), text(c.get("vector"))
            break
    fix = obj(v.get("fix"))
    locations = art.get("locations") or []
    path = locations[0].get("path") if locations and isinstance(locations[0], dict) else None
    rows.add(
        n,
        asset=asset,
        package=art.get("name"),
        version=art.get("version"),
        fixed_version=", ".join(str(x) for x in fix.get("versions") or []) or None,
        vuln_id=vid,
        cves=cves_in(vid, [r.get("id") for r in related]),
        severity=v.get("severity"),
        cvss=cvss,
        cvss_vector=vector,
        title=first([v.get("description"), *(r.get("description") for r in related), vid]),
        location=path,
    )
