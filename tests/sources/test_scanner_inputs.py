"""Bad scanner reports: refused with the file and the reason, bad findings skipped by record, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluebench.errors import ConfigError
from bluebench.sources.limits import Limits
from bluebench.sources.scanners import load_finding_mapping, read_report

TRIVY = {
    "SchemaVersion": 2,
    "ArtifactName": "shop:1.2",
    "Results": [
        {
            "Target": "shop:1.2 (debian 12)",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2024-3094",
                    "PkgName": "xz-utils",
                    "InstalledVersion": "5.6.0",
                    "Severity": "CRITICAL",
                },
                "not an object",
                {"PkgName": "orphan"},
                {"VulnerabilityID": "GHSA-xxxx-yyyy-zzzz", "PkgName": "left-pad", "Severity": "LOW"},
            ],
        }
    ],
}


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


def test_bad_findings_are_skipped_by_record_and_the_rest_kept(tmp_path: Path) -> None:
    report = read_report(write(tmp_path, "t.json", json.dumps(TRIVY)))
    assert report.refused is None
    assert report.findings.column("vuln_id").to_pylist() == ["CVE-2024-3094", "GHSA-xxxx-yyyy-zzzz"]
    assert report.findings.column("cves").to_pylist() == [["CVE-2024-3094"], []]
    assert [(s.record, s.reason) for s in report.skipped] == [
        (2, "vulnerability is not a JSON object"),
        (3, "finding without a CVE, an id or a title"),
    ]
    assert all(s.file == report.file for s in report.skipped)


def test_truncated_json_is_refused_with_line_and_column(tmp_path: Path) -> None:
    text = json.dumps(TRIVY, indent=1)
    report = read_report(write(tmp_path, "cut.json", text[: len(text) // 2]))
    assert report.findings.num_rows == 0
    assert report.refused is not None and report.refused.startswith("not valid JSON:")
    assert "line" in report.refused and "column" in report.refused


def test_xml_with_entity_declarations_is_refused_before_parsing(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        '<NessusClientData_v2><Report><ReportHost name="h">&b;</ReportHost></Report></NessusClientData_v2>'
    )
    report = read_report(write(tmp_path, "bomb.nessus", bomb))
    assert report.scanner == "nessus"
    assert report.refused == "XML entity declarations are not read (a scanner report needs none)"


def test_broken_xml_is_refused_with_its_position(tmp_path: Path) -> None:
    report = read_report(write(tmp_path, "b.nessus", "<NessusClientData_v2><Report><ReportHost name='h'>"))
    assert report.refused is not None and report.refused.startswith("not well-formed XML at line 1")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty file"),
        ("null", "an empty JSON document (null): no findings"),
        (
            '{"imageDigest": "sha256:1", "vulnerabilities": []}',
            "JSON of no scanner bluebench reads (first keys: imageDigest, vulnerabilities)",
        ),
        ("<nmaprun scanner='nmap'></nmaprun>", "XML of no scanner bluebench reads (root <nmaprun>)"),
        (
            "a,b,c\n1,2,3\n",
            "not a scanner report bluebench reads: text without a known CSV header (read it with --mapping)",
        ),
    ],
)
def test_unknown_files_are_refused_saying_what_they_look_like(tmp_path: Path, body: str, reason: str) -> None:
    report = read_report(write(tmp_path, "x", body))
    assert report.scanner is None and report.refused == reason


def test_a_report_over_the_size_limit_is_refused_naming_the_setting(tmp_path: Path) -> None:
    p = write(tmp_path, "big.json", json.dumps(TRIVY))
    report = read_report(p, limits=Limits(report_bytes=100))
    assert report.refused is not None and "[limits] report_bytes = 100 bytes" in report.refused


def test_a_csv_row_the_parser_cannot_read_ends_the_file_with_its_line(tmp_path: Path) -> None:
    header = "IP,Hostname,Port,Port Protocol,CVSS,Severity,NVT Name,NVT OID,CVEs\n"
    good = "10.0.0.1,web,443,tcp,9.8,High,Thing,1.3.6.1,CVE-2021-44228\n"
    huge = "10.0.0.2,db,5432,tcp,5.0,Medium," + "x" * 500 + ",1.3.6.2,CVE-2014-0160\n"
    report = read_report(
        write(tmp_path, "o.csv", header + good + huge + good), limits=Limits(record_bytes=256)
    )
    assert report.findings.column("cves").to_pylist() == [["CVE-2021-44228"]]
    assert [(s.record, s.reason.split(":")[0]) for s in report.skipped] == [
        (3, "CSV cannot be read from here on")
    ]


def test_non_utf8_csv_is_read_as_latin1_and_says_so(tmp_path: Path) -> None:
    header = b"IP,Hostname,Port,Port Protocol,CVSS,Severity,NVT Name,NVT OID,CVEs\n"
    row = b"10.0.0.1,caf\xe9,443,tcp,9.8,High,Thing,1.3.6.1,CVE-2021-44228\n"
    report = read_report(write(tmp_path, "l.csv", header + row))
    assert report.findings.column("asset").to_pylist() == ["café"]
    assert [s.kept for s in report.skipped] == [True] and "Latin-1" in report.skipped[0].reason


def test_mapping_reads_another_tools_csv_and_checks_its_columns(tmp_path: Path) -> None:
    mapping = write(
        tmp_path,
        "m.toml",
        'scanner = "acme"\n[fields]\nasset = "Host"\ncves = "Vuln"\npackage = "Component"\nseverity = "Risk"\n',
    )
    m = load_finding_mapping(mapping)
    data = write(
        tmp_path, "acme.csv", "Host,Component,Vuln,Risk\nweb1,openssl,CVE-2014-0160,High\nweb2,bash,,Low\n"
    )
    report = read_report(data, mapping=m)
    assert report.scanner == "acme"
    assert report.findings.column("cves").to_pylist() == [["CVE-2014-0160"]]
    assert [(s.record, s.reason) for s in report.skipped] == [(3, "finding without a CVE, an id or a title")]
    other = write(tmp_path, "other.csv", "Server,Component\nweb1,openssl\n")
    refused = read_report(other, mapping=m)
    assert refused.refused == "the mapping names columns this CSV's header lacks: host, risk, vuln"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[fields]\nhost = 'Host'\n", "unknown finding fields ['host']"),
        ("[fields]\nasset = 'Host'\n", "map at least one of cves, vuln_id or title"),
        ("scanner = 'x'\n", "a [fields] table"),
        ("[fields\n", "cannot read the findings mapping"),
    ],
)
def test_bad_mappings_are_config_errors(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_finding_mapping(write(tmp_path, "m.toml", toml))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["r.json", "r.xml", "r.csv", "r.nessus"]))
def test_any_bytes_are_read_or_refused_never_raised(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, name: str
) -> None:
    p = tmp_path_factory.mktemp("fuzz") / name
    p.write_bytes(data)
    report = read_report(p)
    assert report.refused is not None or report.findings.num_rows >= 0


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(list((Path(__file__).resolve().parents[2] / "data/samples/vuln/reports").iterdir())),
    st.integers(1, 400),
)
def test_reports_cut_anywhere_are_read_or_refused(
    tmp_path_factory: pytest.TempPathFactory, sample: Path, cut: int
) -> None:
    data = sample.read_bytes()
    p = tmp_path_factory.mktemp("cut") / sample.name
    p.write_bytes(data[: max(1, len(data) * cut // 401)])
    report = read_report(p)
    assert (report.refused is None) or report.findings.num_rows == 0
