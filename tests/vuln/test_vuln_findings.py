"""Findings ranked by priority = chance x asset weight, with the SSVC-style decision and the assets file checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluebench.errors import InputError
from bluebench.sources.scanners import read_report
from bluebench.vuln.assets import Asset, decision, find_asset, load_assets
from bluebench.vuln.findings import rank_findings
from bluebench.vuln.knowledge import KnowledgeBase
from bluebench.vuln.modelfile import LoadedModel
from bluebench.vuln.train import train
from vuln_world import AT, World


def report(tmp_path: Path, world: World) -> Path:
    kev_cve = next(c.cve for c in world.cves if c.added and c.added <= AT and c.published <= AT)
    quiet = next(c.cve for c in world.cves if not c.added and c.published <= AT)
    rows = [
        ("web-01", "openssl", kev_cve, "High"),
        ("db-01", "openssl", kev_cve, "High"),
        ("web-01", "zlib", quiet, "Low"),
        ("db-01", "nginx.conf", "", "Critical"),
    ]
    text = "Host,Component,CVE,Risk,Rule\n" + "".join(
        f"{a},{p},{c},{r},R{i}\n" for i, (a, p, c, r) in enumerate(rows)
    )
    path = tmp_path / "scan.csv"
    path.write_text(text)
    (tmp_path / "map.toml").write_text(
        '[fields]\nasset = "Host"\npackage = "Component"\ncves = "CVE"\nseverity = "Risk"\nvuln_id = "Rule"\n'
    )
    return path


def test_priority_weighs_the_chance_by_the_asset_and_decides(tmp_path: Path, world: World) -> None:
    from bluebench.sources.scanners import load_finding_mapping

    kb = KnowledgeBase(
        kev=world.kev, epss_history=world.epss_history, cves=world.records, exploits=world.exploits
    )
    model = LoadedModel(train(kb, AT).model, {"training": {"at": AT.isoformat()}}, "test")
    path = report(tmp_path, world)
    (tmp_path / "assets.csv").write_text(
        "asset,criticality,internet_facing,owner\nweb-01,critical,yes,alice\ndb-01,low,no,bob\n"
    )
    assets = load_assets(tmp_path / "assets.csv")
    rep = read_report(path, mapping=load_finding_mapping(tmp_path / "map.toml"))
    out = rank_findings([rep], kb.at(AT), model, assets).table.to_pylist()
    assert len(out) == 4
    for r in out:
        assert r["priority"] == pytest.approx(r["score"] * r["weight"])
        assert r["reasons"][0].startswith(f"asset {r['asset']}:")
        assert r["reasons"][1].startswith(f"priority = chance {r['score']:.3g} x weight {r['weight']}")
    first = out[0]
    assert (first["asset"], first["in_kev"], first["decision"], first["weight"]) == (
        "web-01",
        True,
        "Act",
        16,
    )
    db = next(r for r in out if r["asset"] == "db-01" and r["in_kev"])
    assert db["decision"] == "Attend" and db["weight"] == 1
    no_cve = next(r for r in out if not r["cves"])
    assert no_cve["cve"] is None and no_cve["reasons"][2].startswith(
        "no CVE: the day's median chance of CVEs rated critical"
    )
    assert [r["rank"] for r in out] == [1, 2, 3, 4]


def test_assets_file_errors_name_the_line(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text("asset,criticality\nweb,critical\ndb,severe\n")
    with pytest.raises(InputError, match=r"a.csv, record 3: criticality 'severe' is not one of"):
        load_assets(p)
    p.write_text("host,owner\nweb,alice\n")
    with pytest.raises(InputError, match="needs an 'asset' and a 'criticality' column"):
        load_assets(p)
    p.write_text("asset,criticality,internet_facing\nweb,high,maybe\n")
    with pytest.raises(InputError, match="internet_facing 'maybe' is not yes or no"):
        load_assets(p)


def test_unlisted_assets_are_medium_internal_and_the_reason_says_so() -> None:
    a = find_asset({"web": Asset("web", "high", True)}, "https://web:8443/login")
    assert a.name == "web" and a.weight == 8
    b = find_asset({}, "db-9")
    assert not b.known and b.weight == 2 and "not in the assets file" in b.reason()


@pytest.mark.parametrize(
    ("kev", "active", "exploit", "auto", "top", "crit", "net", "want"),
    [
        (True, False, False, False, False, "low", True, "Act"),
        (True, False, False, False, False, "high", False, "Act"),
        (True, False, False, False, False, "medium", False, "Attend"),
        (False, True, False, False, False, "medium", False, "Attend"),
        (False, False, True, True, False, "low", True, "Attend"),
        (False, False, True, False, False, "critical", False, "Attend"),
        (False, False, True, False, False, "medium", False, "Track*"),
        (False, False, False, False, True, "medium", True, "Track*"),
        (False, False, False, True, False, "critical", True, "Track"),
    ],
)
def test_decision_table(
    kev: bool, active: bool, exploit: bool, auto: bool, top: bool, crit: str, net: bool, want: str
) -> None:
    assert decision(kev, active, exploit, auto, top, Asset("x", crit, net)) == want
