"""A small, seeded world of vulnerability knowledge written as the real feeds are, for the vuln tests.

Three EPSS snapshots (FIRST's format with its header, a semicolon file without one, a folder
of per-year files), a KEV catalog whose additions favour the "risky" vendors' recent CVEs,
CVE JSON 5 records (complete for 2023 and 2024, a selection of 2022 that holds every CVE later added
to KEV, as Vulnrichment does) and ExploitDB maps. Nothing here reads ../shared/data.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

DAYS = (date(2024, 1, 7), date(2024, 4, 7), date(2024, 7, 7))
AT = DAYS[-1]
TRUTH_END = date(2025, 7, 1)
VENDORS = ("Acme Corp", "Globex", "Initech Inc.", "Umbrella", "Hooli", "Vandelay", "Wonka", "Stark")
RISKY = 3  # the first vendors are the ones attackers favour
CWES = ("CWE-78", "CWE-79", "CWE-89", "CWE-787", "CWE-22", "CWE-200")


@dataclass
class Cve:
    cve: str
    year: int
    published: date
    vendor: int
    risk: float
    added: date | None = None
    cna_updated: date | None = None
    ssvc_day: date | None = None
    vector: str = ""
    cwe: str = ""


@dataclass
class World:
    """Where the files are and the truth behind them."""

    root: Path
    cves: list[Cve] = field(default_factory=list)

    @property
    def epss_history(self) -> Path:
        return self.root / "epss"

    @property
    def kev(self) -> Path:
        return self.root / "kev.json"

    @property
    def records(self) -> Path:
        return self.root / "records"

    @property
    def exploits(self) -> Path:
        return self.root / "exploitdb"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1 / (1 + np.exp(-x))
    return out


def make_cves(seed: int = 3, n: int = 2500) -> list[Cve]:
    rng = np.random.default_rng(seed)
    years = rng.choice(np.arange(2016, 2025), size=n, p=np.linspace(1, 3, 9) / np.linspace(1, 3, 9).sum())
    out: list[Cve] = []
    used: set[str] = set()
    for i in range(n):
        year = int(years[i])
        while True:
            cve = f"CVE-{year}-{rng.integers(1000, 60000)}"
            if cve not in used:
                used.add(cve)
                break
        last = date(2024, 6, 30) if year == 2024 else date(year, 12, 31)
        span = (last - date(year, 1, 1)).days
        published = date(year, 1, 1) + timedelta(days=int(rng.integers(0, span + 1)))
        vendor = int(rng.integers(0, len(VENDORS)))
        risk = float(
            rng.normal()
        )  # what EPSS sees; attackers also favour some vendors, which EPSS does not see
        av, pr, ui = rng.choice(["N", "L"]), rng.choice(["N", "L", "H"]), rng.choice(["N", "R"])
        vector = f"CVSS:3.1/AV:{av}/AC:L/PR:{pr}/UI:{ui}/S:U/C:H/I:H/A:H"
        c = Cve(cve, year, published, vendor, risk, vector=vector, cwe=str(rng.choice(CWES)))
        # Younger CVEs of risky vendors are added more often; some already before the first day.
        favoured = 1.8 if vendor < RISKY else 0.0
        hazard = float(_sigmoid(np.array([c.risk + favoured - 4.4 - 0.35 * (2024 - year)]))[0])
        if rng.random() < hazard * 3:
            start = max(published, date(2021, 11, 3))
            c.added = start + timedelta(days=int(rng.integers(1, 900)))
            if c.added > TRUTH_END:
                c.added = None
        c.cna_updated = published + timedelta(days=int(rng.integers(0, 60)))
        if c.added and rng.random() < 0.6:
            c.ssvc_day = c.added  # CISA rates exploitation when it adds to KEV
        elif year == 2024:
            c.ssvc_day = published + timedelta(days=int(rng.integers(1, 20)))
        out.append(c)
    return out


def _epss(cves: list[Cve], day: date, rng: np.random.Generator) -> list[tuple[str, float, float]]:
    live = [c for c in cves if c.published <= day]
    noise = rng.normal(0, 0.6, len(live))
    scores = _sigmoid(np.array([c.risk for c in live]) * 1.2 - 6.0 + noise)
    pct = (np.argsort(np.argsort(scores)) + 1) / len(scores)
    return [
        (c.cve, round(float(s), 5), round(float(p), 5)) for c, s, p in zip(live, scores, pct, strict=True)
    ]


def write_epss(root: Path, cves: list[Cve], days: tuple[date, ...] = DAYS, seed: int = 5) -> None:
    rng = np.random.default_rng(seed)
    for i, day in enumerate(days):
        rows = _epss(cves, day, rng)
        folder = root / "epss" / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        if i == 0:  # FIRST's own file: header line with the day, then a column header
            text = f"#model_version:v2023.03.01,score_date:{day}T00:00:00+0000\ncve,epss,percentile\n"
            text += "".join(f"{c},{e:.5f},{p:.5f}\n" for c, e, p in rows)
            (folder / "epss_scores.csv.gz").write_bytes(gzip.compress(text.encode()))
        elif i == 1:  # one semicolon file, no header, dated by its folder
            (folder / "scores.csv").write_text("".join(f"{c};{e:.9f};{p:.9f}\n" for c, e, p in rows))
        else:  # per-year files as the weekly crawl keeps them
            for year in sorted({c[4:8] for c, _, _ in rows}):
                part = "".join(f"{c};{e:.9f};{p:.9f}\n" for c, e, p in rows if c[4:8] == year)
                (folder / f"CVE_{year}_EPSS.csv.gz").write_bytes(gzip.compress(part.encode()))


def kev_entry(c: Cve) -> dict[str, object]:
    assert c.added is not None
    return {
        "cveID": c.cve,
        "vendorProject": VENDORS[c.vendor].split()[0],
        "product": "Server",
        "vulnerabilityName": "x",
        "dateAdded": c.added.isoformat(),
        "knownRansomwareCampaignUse": "Unknown",
        "cwes": [c.cwe],
    }


def write_kev(path: Path, cves: list[Cve], until: date = TRUTH_END) -> None:
    entries = [
        kev_entry(c) for c in sorted(cves, key=lambda c: c.added or date.max) if c.added and c.added <= until
    ]
    path.write_text(
        json.dumps(
            {
                "catalogVersion": until.isoformat(),
                "dateReleased": f"{until}T00:00:00Z",
                "vulnerabilities": entries,
            }
        )
    )


def record(c: Cve, cvss: float = 8.8) -> dict[str, object]:
    adp: list[dict[str, object]] = []
    if c.ssvc_day:
        exploitation = "active" if c.added and c.ssvc_day >= c.added else "poc" if c.risk > 1 else "none"
        adp.append(
            {
                "providerMetadata": {"shortName": "CISA-ADP", "dateUpdated": f"{c.ssvc_day}T00:00:00Z"},
                "metrics": [
                    {
                        "other": {
                            "type": "ssvc",
                            "content": {
                                "timestamp": f"{c.ssvc_day}T00:00:00Z",
                                "options": [
                                    {"Exploitation": exploitation},
                                    {"Automatable": "yes"},
                                    {"Technical Impact": "total"},
                                ],
                            },
                        }
                    }
                ],
            }
        )
    return {
        "dataType": "CVE_RECORD",
        "cveMetadata": {
            "cveId": c.cve,
            "state": "PUBLISHED",
            "datePublished": f"{c.published}T00:00:00Z",
            "dateUpdated": f"{max(c.cna_updated or c.published, c.ssvc_day or c.published)}T00:00:00Z",
            "assignerShortName": "mitre",
        },
        "containers": {
            "cna": {
                "providerMetadata": {"shortName": "mitre", "dateUpdated": f"{c.cna_updated}T00:00:00Z"},
                "affected": [
                    {"vendor": VENDORS[c.vendor], "product": f"{VENDORS[c.vendor].split()[0]} Server 9"}
                ],
                "metrics": [{"cvssV3_1": {"baseScore": cvss, "vectorString": c.vector}}],
                "problemTypes": [{"descriptions": [{"type": "CWE", "cweId": c.cwe}]}],
                "references": [{"url": "https://example.org", "tags": ["vendor-advisory"]}],
            },
            "adp": adp,
        },
    }


def write_records(folder: Path, cves: list[Cve], seed: int = 9) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for c in cves:
        # 2023 and 2024 whole; of 2022 a selection: every CVE later added to KEV, a fifth of the others.
        if c.year >= 2023 or (c.year == 2022 and (c.added is not None or rng.random() < 0.2)):
            (folder / f"{c.cve}.json").write_text(json.dumps(record(c)))


def write_exploits(
    root: Path, cves: list[Cve], days: tuple[date, ...] = (date(2023, 6, 1), date(2024, 7, 1))
) -> None:
    for i, day in enumerate(days):
        folder = root / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        chosen = {
            c.cve: [str(1000 + j)]
            for j, c in enumerate(cves)
            if c.risk > 1.2 - 0.3 * i and c.published <= day
        }
        (folder / "cveToEdbid.json").write_text(json.dumps(chosen))


def write_world(root: Path, seed: int = 3) -> World:
    cves = make_cves(seed)
    root.mkdir(parents=True, exist_ok=True)
    world = World(root, cves)
    write_epss(root, cves)
    write_kev(world.kev, cves)
    write_records(world.records, cves)
    write_exploits(world.exploits, cves)
    return world
