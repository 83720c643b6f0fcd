"""Write the measured figures of ``bench/results/{jsonl-*,evtx,sigma-evtx-x10}.json`` into ``bench/README.md``.

The README's results section is generated, never typed: this script replaces what lies
between its ``results:begin`` and ``results:end`` markers with tables made from the result
files (run it after ``run_jsonl.py`` / ``run_evtx.py`` / ``run_sigma.py``).

    .venv/bin/python bench/report.py
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def load(name: str) -> dict[str, Any] | None:
    path = HERE / "results" / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def main_job(r: dict[str, Any], title: str) -> list[str]:
    m, ing, det, both, mem = r["machine"], r["ingest"], r["detect"], r["ingest_plus_detect"], r["memory"]
    out = [
        f"### {title}",
        "",
        f"Measured {r['measured_at']} on {m['cores']} cores ({m['cpu']}, {m['memory_gb']} GB), "
        f"load average {m['load_average_at_start'][0]:.1f} at the start and "
        f"{r['load_average_at_end'][0]:.1f} at the end (other processes share the cores); "
        f"DuckDB {m['duckdb']}, {r['duckdb_threads']} threads, memory limit {r['duckdb_memory_limit']}.",
        "",
        "| stage | wall s | CPU s | events/s | CPU µs/event |",
        "|---|---:|---:|---:|---:|",
        f"| ingest | {ing['wall_s']:.1f} | {ing['cpu_s']:.1f} | {ing['events_per_s']:,.0f} | "
        f"{r['cpu_us_per_event']['ingest']} |",
        f"| detect ({len(det['detectors'])} detectors, {det['alerts']} alerts) | {det['wall_s']:.1f} | "
        f"{det['cpu_s']:.1f} | | {r['cpu_us_per_event']['detect']} |",
        f"| close (checkpoint) | {r['close']['wall_s']:.1f} | {r['close']['cpu_s']:.1f} | | |",
        f"| **ingest + detect + close** | {both['wall_s']:.1f} | {both['cpu_s']:.1f} | **{both['events_per_s']:,.0f}** | |",
        f"| data quality report (apart) | {r['quality_report']['wall_s']:.1f} | "
        f"{r['quality_report']['cpu_s']:.1f} | | |",
        "",
        f"{r['events']:,} events in {r['files']} files, {r['skipped_records']} skipped. "
        f"Peak memory: **{mem['peak_rss_mb']:,.0f} MiB** maximum resident set of the process "
        f"({mem['peak_rss_after_ingest_mb']:,.0f} MiB by the end of ingest); DuckDB's own "
        f"accounting peaked at {mem['duckdb_peak_sampled_mb']:,.0f} MiB (sampled every 0.5 s). "
        f"Workspace on disk: {r['workspace_mb']:,.0f} MiB.",
        "",
        "| detector | wall s | CPU s | alerts |",
        "|---|---:|---:|---:|",
    ]
    for name, d in sorted(det["detectors"].items(), key=lambda kv: -kv[1]["wall_s"]):
        err = f" (error: {d['error'][:80]})" if "error" in d else ""
        out.append(f"| {name}{err} | {d['wall_s']:.2f} | {d['cpu_s']:.2f} | {d['alerts']} |")
    split = r.get("time_split")
    if split:
        out += [
            "",
            f"Where ingest time goes, each stage run alone on `{split['file']}` ({split['events']:,} "
            f"events; ingest of that file alone: {split['ingest_events_per_s']:,.0f} events/s):",
            "",
            "| stage | CPU µs/event | wall s |",
            "|---|---:|---:|",
        ]
        for k, v in split["cpu_us_per_event"].items():
            out.append(f"| {k} | {v} | {split['wall_s'][k]} |")
    cov = r.get("attack_coverage")
    if cov:
        out += ["", "| attack | instances | with a labelled event among alert evidence |", "|---|---:|---:|"]
        out += [f"| {k} | {v['instances']} | {v['with_alert_evidence']} |" for k, v in cov.items()]
    return [*out, ""]


def sigma_runs(r: dict[str, Any], title: str) -> list[str]:
    """``run_sigma.py``'s EVTX runs (one per ``--jobs`` value): speed, the ratio to the parser alone, memory."""
    load_before, load_after = r["load_average_before"][0], r["load_average_after"][0]
    out = [
        f"### {title}",
        "",
        f"Measured {r['when']} on {r['machine']['cpus']} cores, load average {load_before:.1f} at the start "
        f"and {load_after:.1f} at the end; rules loaded in a fresh process: {r['rule_loading']['cold']['wall_s']} s "
        f"cold (pySigma compiles), {r['rule_loading']['warm']['wall_s']} s warm (from the cache). Each row is "
        "the median of its repeats by wall time; the limit is the `evtx` parser alone over the same files, "
        "in the same process right after the run.",
        "",
        "| run | processes | events | wall s (repeats) | events/s | CPU s | wall / limit | "
        "peak PSS, all processes (MiB) | peak RSS (MiB) | matches digest |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, run in r["runs"].items():
        walls = ", ".join(str(x["run_seconds"]) for x in run.get("repeats", [])) or str(run["run_seconds"])
        out.append(
            f"| {name} | {run.get('jobs', 1)} | {run['events']:,} | {run['run_seconds']} ({walls}) | "
            f"{run['events_per_second']:,} | {run['run_cpu_seconds']} | {run['ratio_to_limit_wall']} | "
            f"{run.get('peak_pss_mb_all_processes')} | {run['peak_rss_mb']} | `{run['matches_digest'][:12]}` |"
        )
    return [*out, ""]


def render() -> str:
    lines = [
        BEGIN,
        "",
        "_Generated by `bench/report.py` from `bench/results/*.json`; do not edit by hand._",
        "",
    ]
    for path in sorted((HERE / "results").glob("jsonl-*.json")):
        if not re.fullmatch(r"jsonl-\d+\.json", path.name):
            continue  # another benchmark's results (jsonl-ingest-cost-*): not a main-job run
        r = json.loads(path.read_text(encoding="utf-8"))
        lines += main_job(r, f"Generated JSON lines: {r['events']:,} events (`{path.name}`)")
    evtx = load("evtx.json")
    if evtx:
        lines += main_job(evtx, "EVTX-to-MITRE-Attack, 281 files (`evtx.json`)")
        p = evtx["evtx_parse_only"]
        lines += [f"EVTX parsing alone: {p['wall_s']:.1f} s wall for {p['records']:,} records.", ""]
    # One file per run of the same command (a rerun at another time of day keeps its own file): the
    # machine's speed moves between them, the ratio to the parser alone much less.
    for path in sorted((HERE / "results").glob("sigma-evtx-x10*.json")):
        sigma = json.loads(path.read_text(encoding="utf-8"))
        title = f"Sigma: every loadable SigmaHQ Windows rule over the EVTX folder x10 (`{path.name}`)"
        lines += sigma_runs(sigma, title)
    return "\n".join([*lines, END])


def main() -> int:
    readme = HERE / "README.md"
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        print(f"{readme}: no {BEGIN} ... {END} section", file=sys.stderr)
        return 2
    new = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _m: render(), text, flags=re.S)
    readme.write_text(new, encoding="utf-8")
    print(f"updated {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
