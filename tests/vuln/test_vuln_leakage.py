"""Adding or changing anything dated after --at changes no ranking; changing what was known does.

The same world is written twice; the second copy gets an EPSS snapshot taken later, KEV
entries added later (and those already added later moved), CVE records published later,
new content in record parts changed later, and a later ExploitDB map. The model is trained
on both (on days before --at, outcomes up to --at) and both rank the day: the tables must be
equal value for value. A change dated before the day must show, or the test proves nothing.
"""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from pathlib import Path

import pyarrow as pa

from bluebench.vuln.knowledge import KnowledgeBase
from bluebench.vuln.modelfile import LoadedModel
from bluebench.vuln.rank import rank_cves
from bluebench.vuln.train import train
from vuln_world import AT, VENDORS, World, record, write_world


def ranked(world: World) -> pa.Table:
    kb = KnowledgeBase(
        kev=world.kev, epss_history=world.epss_history, cves=world.records, exploits=world.exploits
    )
    trained = train(kb, AT)
    model = LoadedModel(trained.model, {"training": {"at": AT.isoformat()}}, "trained-in-test")
    return rank_cves(kb.at(AT), model).table


def add_after(world: World) -> None:
    """Data dated after AT, added or changed."""
    later = AT + timedelta(days=30)
    folder = world.epss_history / later.isoformat()
    folder.mkdir()
    rows = "".join(f"{c.cve},0.9,0.99\n" for c in world.cves)
    (folder / "epss.csv.gz").write_bytes(gzip.compress(("cve,epss,percentile\n" + rows).encode()))
    kev = json.loads(world.kev.read_text())
    for e in kev["vulnerabilities"]:
        if e["dateAdded"] > AT.isoformat():
            e["dateAdded"] = (AT + timedelta(days=2)).isoformat()
            e["vendorProject"] = "Hooli"
    pick = [c for c in world.cves if c.added is None][:40]
    kev["vulnerabilities"] += [
        {
            "cveID": c.cve,
            "vendorProject": "Stark",
            "product": "Suit",
            "dateAdded": later.isoformat(),
            "cwes": ["CWE-1"],
        }
        for c in pick
    ]
    world.kev.write_text(json.dumps(kev))
    for n in range(30):  # records published after the day
        c = world.cves[n]
        doc = record(c, cvss=10.0)
        doc["cveMetadata"]["cveId"] = f"CVE-2024-{90000 + n}"  # type: ignore[index]
        doc["cveMetadata"]["datePublished"] = f"{later}T00:00:00Z"  # type: ignore[index]
        (world.records / f"CVE-2024-{90000 + n}.json").write_text(json.dumps(doc))
    for f in world.records.glob("CVE-*.json"):  # parts changed after the day get new content
        doc = json.loads(f.read_text())
        cna = doc["containers"]["cna"]
        if cna["providerMetadata"]["dateUpdated"][:10] > AT.isoformat():
            cna["affected"] = [{"vendor": VENDORS[0], "product": "Everything"}]
            cna["metrics"] = [
                {
                    "cvssV3_1": {
                        "baseScore": 10.0,
                        "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
                    }
                }
            ]
        for adp in doc["containers"]["adp"]:
            ssvc = adp["metrics"][0]["other"]["content"]
            if ssvc["timestamp"][:10] > AT.isoformat():
                ssvc["options"] = [
                    {"Exploitation": "active"},
                    {"Automatable": "yes"},
                    {"Technical Impact": "total"},
                ]
        f.write_text(json.dumps(doc))
    maps = world.exploits / later.isoformat()
    maps.mkdir()
    (maps / "cveToEdbid.json").write_text(json.dumps({c.cve: ["1"] for c in world.cves}))


def test_data_dated_after_the_day_changes_no_ranking(tmp_path: Path) -> None:
    a = write_world(tmp_path / "a")
    b = write_world(tmp_path / "b")
    add_after(b)
    left, right = ranked(a), ranked(b)
    assert left.num_rows == right.num_rows > 1000
    assert left.equals(right)


def test_a_change_dated_before_the_day_does_change_it(tmp_path: Path) -> None:
    a = write_world(tmp_path / "a")
    b = write_world(tmp_path / "b")
    kev = json.loads(b.kev.read_text())
    for e in kev["vulnerabilities"]:
        if e["dateAdded"] <= AT.isoformat():
            e["vendorProject"] = "Wonka"  # a vendor with other KEV entries by then
    b.kev.write_text(json.dumps(kev))
    assert not ranked(a).equals(ranked(b))
