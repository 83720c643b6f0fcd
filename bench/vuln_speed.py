"""How fast ``bluebench vuln rank`` is: every CVE of one EPSS day, and a 10,000-finding report.

Runs the command itself (a fresh process each time, as a user would) and reads the child's
wall time, CPU time and peak resident memory from ``os.wait4``: once cold (the parsed CVE
records' cache empty, so the run parses the archive) and ``--repeat`` times warm. The report is a Trivy JSON
written here with ``--findings`` findings on 50 images, drawn from the CVEs EPSS scores on
the day (a fixed seed), so every finding is scored, reasoned about and ranked.

    .venv/bin/python bench/vuln_speed.py --data ../shared/data/vuln --at 2025-03-23 \
        [--findings 10000] [--repeat 3] [--out bench/results/vuln_speed.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bluebench.sources.feeds import read_snapshot

IMAGES = 50


def write_trivy(path: Path, cves: list[str], n: int, seed: int = 20) -> None:
    """A Trivy JSON with ``n`` findings spread over IMAGES images (one ``Results`` entry each)."""
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(cves), size=n, replace=n > len(cves))
    per: dict[int, list[dict[str, Any]]] = {}
    for i, j in enumerate(picked.tolist()):
        per.setdefault(i % IMAGES, []).append(
            {
                "VulnerabilityID": cves[j],
                "PkgName": f"pkg{j % 997}",
                "InstalledVersion": "1.0.0",
                "FixedVersion": "1.0.1",
                "Severity": "HIGH",
            }
        )
    doc = {
        "SchemaVersion": 2,
        "ArtifactName": "fleet",
        "Results": [
            {"Target": f"image{k}:latest (debian 12)", "Class": "os-pkgs", "Vulnerabilities": v}
            for k, v in per.items()
        ],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")


def run(cmd: list[str]) -> dict[str, Any]:
    """One command: wall and CPU seconds, peak RSS, JSON lines written, exit code."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: out.read(1 << 20), b""))
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "rows": lines,
        "exit": os.waitstatus_to_exitcode(status),
    }


def stages(d: Path, at: str, known: Path, records: Path, report: Path, assets: Path) -> dict[str, float]:
    """The same work in this process, timed stage by stage: what is fixed cost and what grows."""
    from bluebench.sources.feeds import parse_day
    from bluebench.sources.feeds.cverecords import parse_records
    from bluebench.sources.scanners import read_reports
    from bluebench.vuln.assets import load_assets
    from bluebench.vuln.findings import rank_findings
    from bluebench.vuln.knowledge import KnowledgeBase
    from bluebench.vuln.modelfile import load_model
    from bluebench.vuln.rank import rank_cves

    out: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        out[name] = round(now - clock, 2)
        clock = now

    kb = KnowledgeBase(
        kev=known,
        epss=d / "epss" / at,
        epss_history=d / "epss",
        cves=records,
        exploits=d / "exploitdb_cve_map_pyExploitDb",
    )
    lap("read EPSS, KEV, ExploitDB")
    parse_records(records)
    lap("parse CVE records (no cache)")
    kb.records()
    lap("read CVE records (cached)")
    k = kb.at(parse_day(at))
    model = load_model(None)
    lap("cut to the day, load the model")
    rank_cves(k, model)
    lap("rank every CVE of the day (features, scores, reasons)")
    found = read_reports([str(report)])
    lap("read the report")
    rank_findings(found, k, model, load_assets(assets))
    lap("rank the report's findings")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the shared vuln folder")
    ap.add_argument("--at", default="2025-03-23")
    ap.add_argument("--findings", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "vuln_speed.json"
    )
    args = ap.parse_args()
    d = args.data
    epss = d / "epss" / args.at
    kev = sorted((d / "kev-history").glob("*/known_exploited_vulnerabilities.json*"))
    known = [k for k in kev if k.parent.name <= args.at][-1]
    cves = sorted((d / "cisa_vulnrichment").glob("vulnrichment-*.tar.gz"))
    records = [c for c in cves if c.name[13:23] <= args.at][-1]
    exe = str(Path(shutil.which("bluebench") or Path(sys.executable).parent / "bluebench"))
    base = [exe, "vuln", "rank", "--at", args.at, "--kev", str(known), "--epss", str(epss)]
    base += ["--epss-history", str(d / "epss"), "--cves", str(records)]
    base += ["--exploits", str(d / "exploitdb_cve_map_pyExploitDb"), "--json"]
    ids = read_snapshot(epss).table["cve"].to_pylist()
    results: dict[str, Any] = {"at": args.at, "inputs": {"kev": known.name, "cves": records.name}}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "trivy.json"
        write_trivy(report, ids, args.findings)
        assets = Path(tmp) / "assets.csv"
        assets.write_text(
            "asset,criticality,internet_facing,owner\n"
            + "".join(
                f"image{k}:latest (debian 12),{('low', 'high')[k % 2]},{k % 3 == 0},team{k % 4}\n"
                for k in range(IMAGES)
            ),
            encoding="utf-8",
        )
        cache = Path(tmp) / "cache"
        os.environ["BLUEBENCH_CACHE_DIR"] = str(cache)  # the children's and this process's parsed feeds
        for name, cmd in (
            ("every CVE of the day", base),
            (f"{args.findings:,}-finding Trivy report", [*base, str(report), "--assets", str(assets)]),
        ):
            shutil.rmtree(cache, ignore_errors=True)
            cold = run(cmd)  # the first run on these records parses them and fills the cache
            runs = [run(cmd) for _ in range(args.repeat)]
            results[name] = {"cold": cold, "runs": runs, "best_wall_s": min(r["wall_s"] for r in runs)}
            print(
                f"{name}: cold {cold['wall_s']} s wall, {cold['max_rss_mb']} MB; warm "
                + "; ".join(f"{r['wall_s']} s wall, {r['max_rss_mb']} MB, {r['rows']:,} rows" for r in runs)
            )
        results["stages_s"] = stages(d, args.at, known, records, report, assets)
        print("; ".join(f"{k}: {v} s" for k, v in results["stages_s"].items()))
    results["machine"] = {
        "cpus": os.cpu_count(),
        "load": os.getloadavg(),
        "python": platform.python_version(),
    }
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
