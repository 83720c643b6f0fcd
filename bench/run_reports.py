"""Time the documents of issue #5 on the shared EVTX run: facts, report, timelines, verify.

Builds a workspace from ``../shared/data/windows/evtx-to-mitre-attack`` (ingest, every
detector, incidents, evaluation against ``evtx_labels.csv``), then times, each in a fresh
resolver so nothing is cached from a previous step: ``collect_facts``; the case-study report
as Markdown and as HTML (charts included); ``verify`` of each report; the timeline of every
incident and its verification. Writes ``bench/results/reports.json`` with the machine load.

    .venv/bin/python bench/run_reports.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from bluebench import pipeline
from bluebench.alerts.store import load_alerts
from bluebench.evaluation import evaluate_alerts, load_labels, save_evaluation
from bluebench.events.workspace import Workspace
from bluebench.reports.facts import collect_facts, open_workspace
from bluebench.reports.report import ReportOptions, write_report
from bluebench.reports.timeline import build_timeline
from bluebench.reports.verify import Verifier
from common import ROOT, machine, shown, timed, write_result

DATA = ROOT.parent / "shared" / "data" / "windows"
OUT = Path(__file__).resolve().parent / "out"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    evtx, labels = args.data / "evtx-to-mitre-attack", args.data / "evtx_labels.csv"
    if not evtx.is_dir():
        print(f"no data at {evtx} (this benchmark reads ../shared/data)", file=sys.stderr)
        return 2
    info = machine()
    folder = OUT / "reports"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ws_dir = folder / "ws"
    old = Path.cwd()
    os.chdir(ROOT)  # stored paths relative to the repository, as a user running from it stores them
    try:
        with Workspace(ws_dir) as ws:
            files = [
                f for f in pipeline.input_files([os.path.relpath(evtx)]) if f.path.suffix.lower() == ".evtx"
            ]
            grouping = pipeline.scan(ws, files).grouping
            save_evaluation(
                ws.con, evaluate_alerts(ws.con, load_labels(os.path.relpath(labels)), load_alerts(ws.con))
            )
            events = ws.event_count()
    finally:
        os.chdir(old)
    result: dict[str, object] = {"machine": info, "data": shown(evtx), "events": events}
    print(f"{events:,} events, {grouping.text()}")

    with timed() as t:
        facts = collect_facts(ws_dir)
    result["collect_facts"] = {**t.to_json(), "facts": len(facts)}
    print(f"collect_facts: {len(facts)} facts in {t.wall:.2f} s")

    for name in ("report.md", "report.html"):
        with timed() as t:
            path = write_report(ws_dir, folder / name, ReportOptions())
        result[f"write_{name}"] = {**t.to_json(), "bytes": path.stat().st_size}
        con = open_workspace(ws_dir, read_only=True)
        try:
            verifier = Verifier(con, ws_dir)
            with timed() as t:
                checked = verifier.verify_file(path)
            verifier.resolver.close()
        finally:
            con.close()
        assert checked.ok, [str(f) for f in checked.failures[:5]]
        result[f"verify_{name}"] = {**t.to_json(), "sentences": checked.sentences, "facts": checked.facts}
        print(
            f"{name}: written in {result[f'write_{name}']['wall_s']} s, verified in {t.wall:.2f} s ({checked.facts} facts)"
        )  # type: ignore[index]

    con = open_workspace(ws_dir, read_only=True)
    try:
        ids = [r[0] for r in con.execute("SELECT id FROM incidents ORDER BY id").fetchall()]
        with timed() as t:
            docs = [build_timeline(con, i).to_markdown() for i in ids]
        result["timelines_build"] = {**t.to_json(), "incidents": len(ids)}
        verifier = Verifier(con, ws_dir)
        with timed() as t:
            bad = sum(1 for d in docs if not verifier.verify_text(d).ok)
        verifier.resolver.close()
        result["timelines_verify"] = {**t.to_json(), "failed": bad}
    finally:
        con.close()
    print(
        f"{len(ids)} timelines built in {result['timelines_build']['wall_s']} s, verified in {t.wall:.2f} s, {bad} failed"
    )  # type: ignore[index]
    shutil.rmtree(folder, ignore_errors=True)
    path = write_result("reports", result, args.out)
    print(f"result: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
