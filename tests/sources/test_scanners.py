"""Scanner reports shipped in data/samples/vuln/reports are recognised by content and read into findings.

Each expectation is checked against the report itself (counted from its JSON, XML or CSV by
the test), so a reader that drops or invents findings fails.
"""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bluebench.sources.scanners import SCANNERS, detect_scanner, read_report, read_reports
from bluebench.sources.scanners.base import FINDING_SCHEMA, SEVERITIES, finding_id

REPORTS = Path(__file__).resolve().parents[2] / "data" / "samples" / "vuln" / "reports"
EXPECTED_READER = {
    "trivy-teamdojo.json": "trivy",
    "grype-many.json": "grype",
    "openvas-one.xml": "openvas-xml",
    "openvas-many.csv": "openvas-csv",
    "nessus-was.nessus": "nessus",
    "tenable-sc.csv": "nessus-csv",
    "dependency-check.xml": "dependency-check-xml",
    "osv-scanner.json": "osv-scanner",
    "nuclei.jsonl": "nuclei",
    "qualys.csv": "qualys-csv",
    "qualys-scan.xml": "qualys-xml",
    "nexpose-dns.xml": "nexpose",
    "snyk-one.json": "snyk",
    "gitlab-deps.json": "gitlab",
    "cyclonedx-vex.json": "cyclonedx-json",
}


def test_every_shipped_report_is_claimed_by_its_reader() -> None:
    assert sorted(p.name for p in REPORTS.iterdir()) == sorted(EXPECTED_READER)
    for name, reader in EXPECTED_READER.items():
        found = detect_scanner(REPORTS / name)
        assert found is not None and found.name in (reader, "scanner-csv"), name
        report = read_report(REPORTS / name)
        assert report.refused is None, (name, report.refused)
        assert report.scanner == reader, name
        assert report.findings.schema == FINDING_SCHEMA
        assert report.findings.num_rows > 0, name


def test_findings_keep_file_record_and_a_known_severity() -> None:
    for report in read_reports([str(REPORTS)]):
        rows = report.findings.to_pylist()
        assert all(r["file"] == report.file for r in rows)
        assert all(r["record"] >= 1 for r in rows)
        assert all(r["severity"] in SEVERITIES for r in rows)
        assert all(r["vuln_id"] or r["title"] for r in rows)
        assert all(r["cvss"] is None or 0.0 <= r["cvss"] <= 10.0 for r in rows)
        assert all(c.startswith("CVE-") and c == c.upper() for r in rows for c in r["cves"])


def test_trivy_finding_carries_package_versions_and_the_nvd_cvss() -> None:
    doc = json.loads((REPORTS / "trivy-teamdojo.json").read_text())
    vulns = [v for r in doc["Results"] for v in r.get("Vulnerabilities") or []]
    rows = read_report(REPORTS / "trivy-teamdojo.json").findings.to_pylist()
    assert len(rows) == len(vulns)
    first, want = rows[0], vulns[0]
    assert first["asset"] == doc["ArtifactName"]
    assert (first["package"], first["version"], first["fixed_version"]) == (
        want["PkgName"],
        want["InstalledVersion"],
        want["FixedVersion"],
    )
    assert first["cves"] == [want["VulnerabilityID"]]
    assert first["cvss"] == want["CVSS"]["nvd"]["V3Score"]  # the NVD's score before the distribution's
    assert first["severity"] == want["Severity"].lower()


def test_grype_reads_every_match_with_its_artifact() -> None:
    doc = json.loads((REPORTS / "grype-many.json").read_text())
    rows = read_report(REPORTS / "grype-many.json").findings.to_pylist()
    assert len(rows) == len(doc["matches"])
    assert [r["package"] for r in rows] == [m["artifact"]["name"] for m in doc["matches"]]
    assert {r["vuln_id"] for r in rows} == {m["vulnerability"]["id"] for m in doc["matches"]}


def test_openvas_xml_result_names_every_cve_ref_and_the_fixed_version() -> None:
    root = ET.parse(REPORTS / "openvas-one.xml").getroot()
    refs = [r.get("id") for r in root.iter("ref") if r.get("type") == "cve"]
    (row,) = read_report(REPORTS / "openvas-one.xml").findings.to_pylist()
    assert row["cves"] == refs and len(refs) > 1
    assert row["fixed_version"] == "117"
    assert row["cvss"] == 10.0 and row["asset"] == "10.0.101.2"


def test_csv_exports_read_one_finding_per_data_row() -> None:
    for name in ("openvas-many.csv", "qualys.csv", "tenable-sc.csv"):
        with (REPORTS / name).open(newline="", encoding="utf-8") as fh:
            data_rows = sum(1 for _ in csv.DictReader(fh))
        assert read_report(REPORTS / name).findings.num_rows == data_rows, name


def test_qualys_numeric_severity_is_named_in_words() -> None:
    with (REPORTS / "qualys.csv").open(newline="", encoding="utf-8") as fh:
        want = [
            {"5": "critical", "4": "high", "3": "medium", "2": "low", "1": "info"}[r["Severity"]]
            for r in csv.DictReader(fh)
        ]
    assert read_report(REPORTS / "qualys.csv").findings.column("severity").to_pylist() == want


def test_a_gzipped_report_reads_as_the_plain_one(tmp_path: Path) -> None:
    gz = tmp_path / "trivy.json.gz"
    gz.write_bytes(gzip.compress((REPORTS / "trivy-teamdojo.json").read_bytes()))
    plain = read_report(REPORTS / "trivy-teamdojo.json").findings
    packed = read_report(gz).findings
    assert packed.drop_columns(["file"]) == plain.drop_columns(["file"])


def test_finding_ids_survive_a_rescan_under_another_name(tmp_path: Path) -> None:
    copy = tmp_path / "next-week.json"
    shutil.copy(REPORTS / "trivy-teamdojo.json", copy)
    a = read_report(REPORTS / "trivy-teamdojo.json").findings.column("finding_id").to_pylist()
    b = read_report(copy).findings.column("finding_id").to_pylist()
    assert a == b and len(set(a)) == len(a)
    assert finding_id("trivy", "img", "curl", "1.0", "CVE-2024-1", None) != finding_id(
        "trivy", "img", "curl", "1.1", "CVE-2024-1", None
    )


def test_a_finding_without_a_cve_is_kept_with_the_scanners_id() -> None:
    rows = read_report(REPORTS / "nexpose-dns.xml").findings.to_pylist()
    assert rows and all(r["cves"] == [] for r in rows)
    assert all(r["vuln_id"].startswith("nexpose:") for r in rows)


@pytest.mark.parametrize("reader", SCANNERS.names())
def test_every_reader_has_a_name_title_and_refuses_nothing_it_did_not_sniff(reader: str) -> None:
    r = SCANNERS.get(reader)
    assert r.name == reader and r.title
    assert not r.sniff(b"", Path("x"))
