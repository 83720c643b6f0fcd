"""Every scanner report of the shared set read or refused with a reason: a row per tool.

Reads ``../shared/data/vuln/scanner_reports_defectdojo/unittests/scans`` (DefectDojo's parser
fixtures, one folder per tool) with ``bluebench.sources.scanners.read_reports`` and counts, per
tool folder: files, files read, files refused, findings, distinct CVEs, and the refusal reasons.

    .venv/bin/python bench/vuln_reports.py [--out bench/results/vuln_reports.json]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from bluebench.sources.scanners import read_reports

SCANS = (
    Path(__file__).resolve().parent.parent.parent
    / "shared"
    / "data"
    / "vuln"
    / "scanner_reports_defectdojo"
    / "unittests"
    / "scans"
)


def per_tool(root: Path) -> dict[str, dict[str, Any]]:
    """Tool folder -> what its files gave."""
    out: dict[str, dict[str, Any]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        reports = read_reports([str(folder)])
        cves: set[str] = set()
        scanners: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        for r in reports:
            if r.refused:
                reasons[r.refused.split(":")[0][:80]] += 1
                continue
            scanners[r.scanner or "?"] += 1
            cves.update(v for v in pc.list_flatten(r.findings["cves"]).to_pylist() if v)
        out[folder.name] = {
            "files": len(reports),
            "read": sum(1 for r in reports if not r.refused),
            "refused": sum(1 for r in reports if r.refused),
            "findings": sum(r.findings.num_rows for r in reports),
            "cves": len(cves),
            "read_as": dict(scanners.most_common()),
            "refusals": dict(reasons.most_common()),
            "skipped_records": sum(len(r.skipped) for r in reports),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scans", type=Path, default=SCANS)
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "vuln_reports.json"
    )
    args = ap.parse_args()
    tools = per_tool(args.scans)
    total = {k: sum(t[k] for t in tools.values()) for k in ("files", "read", "refused", "findings", "cves")}
    args.out.write_text(json.dumps({"tools": tools, "total": total}, indent=2) + "\n", encoding="utf-8")
    print("| tool | files | read | refused | findings | CVEs | read as / refused because |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, t in tools.items():
        why = ", ".join(f"{k} {v}" for k, v in t["read_as"].items())
        if t["refusals"]:
            why += ("; " if why else "") + "; ".join(f"{v}x {k}" for k, v in t["refusals"].items())
        print(
            f"| {name} | {t['files']} | {t['read']} | {t['refused']} | {t['findings']:,} | {t['cves']:,} | {why} |"
        )
    print(
        f"| **all** | {total['files']} | {total['read']} | {total['refused']} | {total['findings']:,} | "
        f"{total['cves']:,} (summed per tool) | |"
    )


if __name__ == "__main__":
    main()
