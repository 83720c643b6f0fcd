"""Which corrections the KEV model's gain over EPSS comes from: the forward evaluation with features held out.

Runs ``bluebench.vuln.evaluate.evaluate`` (train on earlier days, judge on later KEV additions)
once per variant and ranking day, with the held-out features' columns set to 0 in training and
ranking alike (a constant column gets weight 0, so the model is EPSS plus the kept corrections).
Writes ``bench/results/vuln_ablation.json``; ``bench/vuln_report.py`` puts the table in ``docs/vuln.md``.

    .venv/bin/python bench/vuln_ablation.py --data ../shared/data/vuln [--days 2024-06-30 2024-09-29]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import bluebench.vuln.evaluate as evaluate_mod
import bluebench.vuln.train as train_mod
from bluebench.sources.feeds import parse_day, read_kev
from bluebench.vuln.features import NAMES, Features, build_features
from bluebench.vuln.knowledge import KnowledgeBase

HISTORY = ("vendor_kev", "product_kev", "cwe_kev")
VARIANTS: dict[str, tuple[str, ...]] = {
    "EPSS + age": ("age",),
    "EPSS + KEV history of vendor, product, CWE": HISTORY,
    "all but age": tuple(n for n in NAMES if n != "age"),
}


def keeping(kept: tuple[str, ...]) -> Callable[..., Features]:
    """``build_features`` with every column but ``kept`` set to 0."""
    drop = [i for i, n in enumerate(NAMES) if n not in kept]

    def build(*args: Any, **kwargs: Any) -> Features:
        f = build_features(*args, **kwargs)
        X = f.X.copy()
        X[:, drop] = 0.0
        return replace(f, X=X)

    return build


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the shared vuln folder")
    ap.add_argument("--days", nargs="+", default=["2024-06-30", "2024-09-29"])
    ap.add_argument("--cves", default="vulnrichment-2024-09-29_8609bda66102.tar.gz")
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "vuln_ablation.json"
    )
    args = ap.parse_args()
    d = args.data
    truth_path = d / "kev-history" / "2025-06-26" / "known_exploited_vulnerabilities.json.gz"
    kb = KnowledgeBase(
        kev=truth_path,
        epss_history=d / "epss",
        cves=d / "cisa_vulnrichment" / args.cves,
        exploits=d / "exploitdb_cve_map_pyExploitDb",
    )
    truth = read_kev(truth_path)
    out: list[dict[str, Any]] = []
    for day in args.days:
        for name, kept in VARIANTS.items():
            build = keeping(kept)
            train_mod.build_features = build  # type: ignore[assignment]
            evaluate_mod.build_features = build  # type: ignore[assignment]
            ev = evaluate_mod.evaluate(kb, parse_day(day), truth).to_json()
            model = next(r for r in ev["rankers"] if r["name"] == "model")
            row = {
                "at": day,
                "variant": name,
                "kept": list(kept),
                "ap": model["ap"],
                "coverage_1": model["efforts"][0]["coverage"],
                "ap_ratio": ev["ap_ratio"],
                "positives": ev["positives"],
            }
            out.append(row)
            print(
                day,
                name,
                f"AP ratio {ev['ap_ratio']['value']:.2f}",
                f"cover 1% {row['coverage_1']['k']}/{row['coverage_1']['n']}",
            )
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
