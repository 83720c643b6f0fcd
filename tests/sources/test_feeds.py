"""Vulnerability feeds read with their dates: EPSS layouts, KEV JSON and CSV, CVE records, ExploitDB maps; bad rows named."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from datetime import date
from pathlib import Path

import pytest

from bluebench.errors import InputError
from bluebench.sources.feeds import (
    exploit_history,
    history_days,
    parse_record,
    read_exploit_map,
    read_kev,
    read_records,
    read_snapshot,
)
from bluebench.sources.feeds.epss import SKIPS_NAMED
from bluebench.sources.limits import Limits

ROWS = "CVE-2024-0001,0.5,0.99\nCVE-2024-0002,0.01,0.4\n"


def test_first_format_is_dated_by_its_header(tmp_path: Path) -> None:
    p = tmp_path / "epss.csv.gz"
    text = "#model_version:v2025.03.14,score_date:2025-03-17T00:00:00+0000\ncve,epss,percentile\n" + ROWS
    p.write_bytes(gzip.compress(text.encode()))
    s = read_snapshot(p)
    assert (s.day, s.model, s.table.num_rows) == (date(2025, 3, 17), "v2025.03.14", 2)
    assert s.table["epss"].to_pylist() == [0.5, 0.01]


def test_semicolon_files_without_header_are_dated_by_folder(tmp_path: Path) -> None:
    d = tmp_path / "2024-06-30"
    d.mkdir()
    (d / "CVE_2024_EPSS.csv").write_text(ROWS.replace(",", ";"))
    (d / "CVE_2023_EPSS.csv.gz").write_bytes(gzip.compress(b"CVE-2023-0009;0.2;0.9\n"))
    s = read_snapshot(d)
    assert s.day == date(2024, 6, 30) and s.table.num_rows == 3


def test_bad_rows_are_skipped_by_line_and_the_rest_kept(tmp_path: Path) -> None:
    p = tmp_path / "2024-06-30.csv"
    p.write_text(
        "cve,epss,percentile\nCVE-2024-0001,0.5,0.99\nnot-a-cve,0.1,0.1\nCVE-2024-0003,1.5,0.1\nCVE-2024-0004,x,0.1\n"
    )
    s = read_snapshot(p)
    assert s.table["cve"].to_pylist() == ["CVE-2024-0001"]
    assert [(x.record, x.file) for x in s.skipped] == [(3, str(p)), (4, str(p)), (5, str(p))]


def test_a_flood_of_bad_rows_is_counted_not_listed(tmp_path: Path) -> None:
    p = tmp_path / "2024-06-30.csv"
    p.write_text("".join(f"junk{i},1,1\n" for i in range(SKIPS_NAMED + 7)))
    s = read_snapshot(p)
    assert len(s.skipped) == SKIPS_NAMED + 1 and s.skipped[-1].reason.startswith("7 more rows skipped")


def test_an_undated_snapshot_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "scores.csv"
    p.write_text(ROWS)
    with pytest.raises(InputError, match="cannot tell the day of this EPSS snapshot"):
        read_snapshot(p)


def test_history_lists_dated_snapshots(tmp_path: Path) -> None:
    for d in ("2024-06-30", "2024-03-31", "notes"):
        (tmp_path / d).mkdir()
    assert [d for d, _ in history_days(tmp_path)] == [date(2024, 3, 31), date(2024, 6, 30)]


def test_kev_json_and_csv(tmp_path: Path) -> None:
    j = tmp_path / "kev.json"
    j.write_text(
        json.dumps(
            {
                "dateReleased": "2025-06-25T16:52:26Z",
                "vulnerabilities": [
                    {
                        "cveID": "CVE-2024-3400",
                        "vendorProject": "Palo Alto Networks",
                        "product": "PAN-OS",
                        "dateAdded": "2024-04-12",
                        "cwes": ["CWE-77"],
                    },
                    {"cveID": "bogus", "dateAdded": "2024-04-12"},
                    {"cveID": "CVE-2024-3400", "dateAdded": "2024-05-01"},
                ],
            }
        )
    )
    k = read_kev(j)
    assert k.released == date(2025, 6, 25) and k.table["date_added"].to_pylist() == [date(2024, 4, 12)]
    assert [(s.record, s.reason[:20]) for s in k.skipped] == [
        (2, "entry without a CVE "),
        (3, "CVE-2024-3400 listed"),
    ]
    c = tmp_path / "kev.csv"
    c.write_text(
        "cveID,vendorProject,product,dateAdded,knownRansomwareCampaignUse,cwes\nCVE-2023-4966,Citrix,NetScaler,2023-10-18,Known,CWE-119\n"
    )
    row = read_kev(c).table.to_pylist()[0]
    assert (row["vendor"], row["ransomware"], row["cwes"]) == ("Citrix", True, ["CWE-119"])
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InputError, match="not valid JSON"):
        read_kev(tmp_path / "bad.json")


RECORD = {
    "cveMetadata": {
        "cveId": "CVE-2024-1234",
        "state": "PUBLISHED",
        "datePublished": "2024-02-01T10:00:00Z",
        "dateUpdated": "2024-09-01T00:00:00Z",
        "assignerShortName": "fortinet",
    },
    "containers": {
        "cna": {
            "providerMetadata": {"dateUpdated": "2024-02-02T00:00:00Z"},
            "affected": [{"vendor": "n/a", "product": "n/a"}, {"vendor": "Fortinet", "product": "FortiOS"}],
            "metrics": [{"cvssV3_1": {"vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}],
            "references": [{"url": "x", "tags": ["exploit", "Patch"]}],
        },
        "adp": [
            {
                "providerMetadata": {"shortName": "CISA-ADP", "dateUpdated": "2024-03-01T00:00:00Z"},
                "metrics": [
                    {
                        "other": {
                            "type": "ssvc",
                            "content": {
                                "timestamp": "2024-03-01T00:00:00Z",
                                "options": [
                                    {"Exploitation": "poc"},
                                    {"Automatable": "yes"},
                                    {"Technical Impact": "total"},
                                ],
                            },
                        }
                    },
                    {"other": {"type": "kev", "content": {"dateAdded": "2024-08-15"}}},
                ],
            }
        ],
    },
}


def test_a_record_keeps_each_part_with_its_day() -> None:
    r = parse_record(RECORD)
    assert r is not None
    assert (r["cna_vendor"], r["cna_product"], r["cna_cvss"]) == (
        "Fortinet",
        "FortiOS",
        9.8,
    )  # score from the vector
    assert r["cna_tags"] == ["exploit", "patch"] and r["cna_exploit_refs"] == 1
    assert r["ssvc_day"] == date(2024, 3, 1) and r["ssvc_exploitation"] == "poc"
    assert r["adp_day"] == date(2024, 8, 15)  # the KEV date inside moves the container's day
    assert parse_record({"cveMetadata": {"cveId": "nope"}}) is None


def test_records_from_folder_tar_and_zip_read_alike(tmp_path: Path) -> None:
    data = json.dumps(RECORD).encode()
    folder = tmp_path / "recs" / "2024" / "1xxx"
    folder.mkdir(parents=True)
    (folder / "CVE-2024-1234.json").write_bytes(data)
    (folder / "CVE-2024-9999.json").write_text("{broken")
    tgz = tmp_path / "r.tar.gz"
    with tarfile.open(tgz, "w:gz") as tf:
        info = tarfile.TarInfo("v/2024/1xxx/CVE-2024-1234.json")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    z = tmp_path / "r.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("2024/CVE-2024-1234.json", data)
    tables = [read_records(p).table for p in (tmp_path / "recs", tgz, z)]
    assert all(t.to_pylist() == tables[0].to_pylist() for t in tables)
    assert [s.reason[:14] for s in read_records(tmp_path / "recs").skipped] == ["not valid JSON"]
    big = read_records(tmp_path / "recs", Limits(record_bytes=10))
    assert big.table.num_rows == 0 and "record_bytes" in big.skipped[0].reason


def test_exploit_maps_are_dated_by_path_and_read_either_way(tmp_path: Path) -> None:
    d = tmp_path / "2024-06-30"
    d.mkdir()
    (d / "cveToEdbid.json").write_text(json.dumps({"CVE-2021-44228": ["50592", "50590"], "junk": ["1"]}))
    m = read_exploit_map(d)
    assert m.day == date(2024, 6, 30) and m.table.to_pylist() == [{"cve": "CVE-2021-44228", "exploits": 2}]
    e = tmp_path / "2023-02-24"
    e.mkdir()
    (e / "cve_to_edbid.json").write_text(json.dumps({"50592": ["CVE-2021-44228"]}))
    assert read_exploit_map(e).table.to_pylist() == [{"cve": "CVE-2021-44228", "exploits": 1}]
    assert [d for d, _ in exploit_history(tmp_path)] == [date(2023, 2, 24), date(2024, 6, 30)]
    undated = tmp_path / "map.json"
    undated.write_text("{}")
    with pytest.raises(InputError, match="no date inside"):
        read_exploit_map(undated)


def test_a_truncated_gzip_snapshot_is_refused_naming_the_file(tmp_path: Path) -> None:
    whole = gzip.compress(
        b"cve,epss,percentile\n" + b"".join(b"CVE-2024-%d,0.1,0.5\n" % (1000 + i) for i in range(500))
    )
    p = tmp_path / "2024-06-30.csv.gz"
    p.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match=r"2024-06-30\.csv\.gz.*cannot read EPSS file"):
        read_snapshot(p)


def test_broken_records_in_an_archive_are_named_by_member_and_the_rest_kept(tmp_path: Path) -> None:
    good = json.dumps(RECORD).encode()
    p = tmp_path / "records.tar.gz"
    with tarfile.open(p, "w:gz") as t:
        for name, data in (
            ("cves/CVE-2024-1234.json", good),
            ("cves/CVE-2024-2222.json", b'{"cveMetadata": '),
            ("cves/CVE-2024-3333.json", b"[1, 2]"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    rs = read_records(p)
    assert rs.table["cve"].to_pylist() == ["CVE-2024-1234"]
    reasons = sorted(str(s) for s in rs.skipped)
    assert reasons[0].startswith(f"{p}:cves/CVE-2024-2222.json: not valid JSON")
    assert reasons[1].startswith(f"{p}:cves/CVE-2024-3333.json: not a CVE JSON 5 record")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(p.read_bytes()[:60])
    damaged = read_records(cut)
    assert damaged.table.num_rows == 0 and "archive damaged" in str(damaged.skipped[0])


def test_a_broken_exploit_map_is_refused_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "2024-06-30"
    folder.mkdir()
    (folder / "cveToEdbid.json").write_text('{"CVE-2024-1234": [')
    with pytest.raises(InputError, match=r"cveToEdbid\.json: not valid JSON"):
        read_exploit_map(folder)
