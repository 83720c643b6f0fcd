"""Sigma benchmark: all loadable SigmaHQ Windows rules over (a) every EVTX under
../shared/data/windows and (b) generated EVTX-shaped JSON lines at two sizes.

Each input runs in its own process, so its peak memory (max RSS: Python, Arrow, DuckDB and
the compiled rules together) is its own; two sizes show whether memory grows with the input.
Events/s is end to end: files read, parsed, every rule evaluated, alerts built; loading the
rules is timed apart, twice, each in a fresh process: a cold start (an empty rule cache: pySigma
compiles every rule) and a warm start (the compiled rules read back from the cache).

The limit is measured in the same process right after each run, on the same files: the
``evtx`` parser alone turning every record of the EVTX inputs into JSON (or DuckDB alone
reading the JSON-lines inputs), and the ratio of bluebench's time to it is printed, in CPU
seconds (steady on a loaded machine) and wall seconds (meaningful on a quiet one). The run's CPU
time is also split by phase (``run_cpu_seconds_by_phase``: the EVTX parser and reader, DuckDB's
reduce of each record, DuckDB's field reads per cell, and the rest: cells, plans, matching), so a
change is read against the phase it targets.

(a) runs once per ``--jobs`` value (default: one process, then two: forked workers,
``bluebench.sigma.workers``). Max RSS counts pages a worker shares with the main process in
both, so memory is also sampled from outside every 100 ms as the proportional set size of the
run's process and its workers together (``peak_pss_mb_all_processes``: shared pages split
between them), the figure to hold against a memory budget.

    python bench/run_sigma.py                       # (a), and (b) at 0.5 and 2 GB (generated once)
    python bench/run_sigma.py --sizes 0.5 1         # other sizes, in GB
    python bench/run_sigma.py --copies 10 --sizes   # (a) on the EVTX folder copied ten times
    python bench/run_sigma.py --jobs 1 2 0          # (a) in one process, two, and as many as auto picks
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
SHARED = ROOT.parent / "shared" / "data"


def shown(p: Path | str) -> str:
    return os.path.relpath(Path(p).resolve(), ROOT)


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def limit(inputs: list[str]) -> dict[str, float | int]:
    """The machine's limit on the same files: the evtx parser alone, DuckDB alone on JSON lines."""
    import duckdb
    from evtx import PyEvtxParser

    files = [f for p in inputs for f in ([Path(p)] if Path(p).is_file() else sorted(Path(p).rglob("*")))]
    evtx = [f for f in files if f.suffix.lower() == ".evtx"]
    jsonl = [str(f) for f in files if f.suffix.lower() in (".json", ".jsonl", ".ndjson")]
    c0, t0, records = cpu_s(), time.perf_counter(), 0
    for f in evtx:
        try:
            for _ in PyEvtxParser(str(f)).records_json():
                records += 1
        except (OSError, RuntimeError):  # the engine reports such files; the limit just reads on
            continue
    if jsonl:
        con = duckdb.connect()
        con.execute("SET threads = 2")
        records += int(
            con.sql(
                "SELECT count(*) FROM read_json($f, format='newline_delimited', columns={'winlog': 'JSON'})",
                params={"f": jsonl},
            ).fetchall()[0][0]
        )
        con.close()
    return {"records": records, "cpu_s": round(cpu_s() - c0, 2), "wall_s": round(time.perf_counter() - t0, 2)}


def timed_phases() -> dict[str, float]:
    """CPU seconds spent in each stage of a run, by wrapping the functions that do it (in the child).

    ``evtx_read``: the ``evtx`` parser and the reader's loop over its records; ``reduce``: DuckDB
    reading the System fields and EventData out of each record's JSON; ``fields``: DuckDB reading
    the fields the cells' rules need out of the EventData (one call per turn of reads); the rest of the run (cells, plans, matching,
    evidence) is what is left of the run's CPU time.
    """
    from bluebench.sigma import extract as sigma_extract
    from bluebench.sigma import source as sigma_source
    from bluebench.sources.evtx import EvtxReader

    spent = {"evtx_read": 0.0, "reduce": 0.0, "fields": 0.0}

    def call(name: str, f: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            c0 = time.process_time()
            try:
                return f(*args, **kwargs)
            finally:
                spent[name] += time.process_time() - c0

        return wrapped

    def generator(name: str, f: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            it = f(*args, **kwargs)
            while True:
                c0 = time.process_time()
                try:
                    item = next(it)
                except StopIteration:
                    return
                finally:
                    spent[name] += time.process_time() - c0
                yield item

        return wrapped

    EvtxReader.read = generator("evtx_read", EvtxReader.read)  # type: ignore[method-assign]
    sigma_source._reduce = call("reduce", sigma_source._reduce)
    sigma_extract.extract_lists = call("fields", sigma_extract.extract_lists)
    return spent


def one(inputs: list[str], rules: list[str], cache_dir: str, jobs: int) -> dict[str, object]:
    """Run in a fresh process: load the rules (through the cache), stream, evaluate; return the figures."""
    from bluebench.sigma import ReadReport, engine_alerts
    from bluebench.sigma import engine as sigma_engine
    from bluebench.sigma import extract as sigma_extract
    from bluebench.sigma import source as sigma_source
    from bluebench.sigma.cache import load_rules
    from bluebench.sigma.workers import run_files
    from bluebench.sources import discover

    phases = timed_phases()

    t0 = time.perf_counter()
    rs = load_rules(rules, cache_dir=Path(cache_dir))
    compile_s = time.perf_counter() - t0
    rss_after_compile = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = ReadReport()
    c0 = time.process_time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t1 = time.perf_counter()
    engine = run_files(rs, list(discover(inputs)), report, jobs)
    alerts = engine_alerts(engine)
    run_s = time.perf_counter() - t1
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    main_cpu = time.process_time() - c0
    run_cpu = main_cpu + workers_cpu
    phases["rest"] = main_cpu - sum(phases.values())
    lim = limit(inputs)
    size = sum(
        f.stat().st_size
        for p in inputs
        for f in ([Path(p)] if Path(p).is_file() else Path(p).rglob("*"))
        if f.is_file()
    )
    # What must not change when the engine is optimised: per rule, the match count, and a
    # digest of every (host, count, first, last, evidence file/record) kept.
    per_rule = {rid: m.count for rid, m in sorted(engine.matches.items()) if m.count}
    digest = hashlib.sha256()
    for rid, m in sorted(engine.matches.items()):
        for host, hm in sorted(m.hosts.items()):
            ev = [(shown(e.file) if e.file else None, e.record) for e in hm.events]
            digest.update(repr((rid, host, hm.count, str(hm.first), str(hm.last), ev)).encode())
    return {
        "batch_bytes": getattr(sigma_source, "BATCH_BYTES", None),
        "batch_rows": getattr(sigma_engine, "BATCH_ROWS", None),
        "duckdb_threads": getattr(sigma_extract, "DUCKDB_THREADS", None),
        "inputs": [shown(p) for p in inputs],
        "input_bytes": size,
        "files_read": report.files,
        "events": engine.events_seen,
        "rules_loaded": len(rs.rules),
        "rules_failed": len(rs.failures),
        "rules_from_cache": rs.from_cache,
        "compile_seconds": round(compile_s, 2),
        "run_seconds": round(run_s, 2),
        "run_cpu_seconds": round(run_cpu, 2),
        "jobs": jobs,
        "workers_cpu_seconds": round(workers_cpu, 2),
        # The main process's phases (with jobs > 1, the first share of the files only).
        "run_cpu_seconds_by_phase": {k: round(v, 2) for k, v in phases.items()},
        "limit": lim,
        "ratio_to_limit_cpu": round(run_cpu / lim["cpu_s"], 2) if lim["cpu_s"] else None,
        "ratio_to_limit_wall": round(run_s / lim["wall_s"], 2) if lim["wall_s"] else None,
        "events_per_second": round(engine.events_seen / run_s) if run_s else None,
        "matched_events": sum(m.count for m in engine.matches.values()),
        "rules_matched": sum(1 for m in engine.matches.values() if m.count),
        "alerts": len(alerts),
        "peak_rss_mb_after_compile": round(rss_after_compile, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_mb_largest_worker": round(after.ru_maxrss / 1024, 1) if jobs != 1 else None,
        "skipped_records": len(report.skipped),
        "matches_digest": digest.hexdigest(),
        "matches_per_rule": per_rule,
    }


def start(rules: list[str], cache_dir: Path) -> dict[str, object]:
    """A fresh process that only loads the rules: wall and CPU seconds from its start, its peak RSS."""
    code = (
        "import json, resource, sys; from pathlib import Path; from bluebench.sigma.cache import load_rules; "
        "rs = load_rules(sys.argv[2:], cache_dir=Path(sys.argv[1])); "
        "print(json.dumps({'rules': len(rs.rules), 'from_cache': rs.from_cache, "
        "'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-c", code, str(cache_dir), *rules], check=True, capture_output=True
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {**json.loads(res.stdout), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}


def copies(folder: Path, n: int, dest: Path) -> Path:
    """``n`` copies of the EVTX files under ``folder`` (as symbolic links), made once."""
    if not dest.is_dir():
        for i in range(n):
            for f in sorted(folder.rglob("*.evtx")):
                link = dest / f"copy{i}" / f.relative_to(folder)
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(f.resolve())
    return dest


def pss_mb(pid: int) -> float:
    """The proportional set size of a process and all its descendants (shared pages split
    between them, so the sum is what they hold together); 0 for one that has ended."""
    total = 0.0
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) / 1024
                    break
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            kids = [int(k) for k in fh.read().split()]
    except (OSError, ValueError):
        return total
    return total + sum(pss_mb(k) for k in kids)


def run_child(inputs: list[str], rules: list[str], cache_dir: Path, jobs: int = 1) -> dict[str, object]:
    """One run in a fresh process; its memory (with its workers') sampled from outside every 100 ms."""
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--jobs",
        str(jobs),
        "--rules",
        *rules,
        "--cache-dir",
        str(cache_dir),
        "--inputs",
        *inputs,
    ]
    peak = 0.0
    # Its output goes to files, not pipes: nothing reads a pipe while the run lasts, and a full one would stop it.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as errs:
        with subprocess.Popen(cmd, stdout=out, stderr=errs, text=True) as proc:
            while proc.poll() is None:
                if os.path.exists("/proc/self/smaps_rollup"):
                    peak = max(peak, pss_mb(proc.pid))
                time.sleep(0.1)
        out.seek(0)
        errs.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"benchmark run failed:\n{errs.read()[-4000:]}")
        run = dict(json.loads(out.read().strip().splitlines()[-1]))
    run["peak_pss_mb_all_processes"] = round(peak, 1) if peak else None
    return compact(run)


def compact(run: dict[str, object]) -> dict[str, object]:
    """Many input files are stored as their common folder and a count, not one path each."""
    inputs = run.get("inputs")
    if isinstance(inputs, list) and len(inputs) > 5:
        run["inputs"] = [os.path.commonpath(inputs)]
        run["input_files"] = len(inputs)
    return run


def median_of(n: int, run: Any) -> dict[str, object]:
    """The run of median wall time among ``n`` (a shared machine's speed varies from run to run
    by a third or more); every run's wall and CPU seconds and peak PSS are kept beside it."""
    done = sorted((run() for _ in range(max(1, n))), key=lambda r: float(r["run_seconds"]))
    mid = dict(done[len(done) // 2])
    mid["repeats"] = [
        {k: r[k] for k in ("run_seconds", "run_cpu_seconds", "peak_pss_mb_all_processes")} for r in done
    ]
    return mid


def say(run: dict[str, object]) -> None:
    """The figures a person reads first, then the whole run as JSON (on stderr)."""
    lim = run["limit"]
    assert isinstance(lim, dict)
    print(
        f"{run['events']:,} events, {run['rules_loaded']} rules, {run['jobs']} process(es): "
        f"{run['run_seconds']} s wall ({run['events_per_second']:,} events/s), {run['run_cpu_seconds']} s CPU, "
        f"peak RSS {run['peak_rss_mb']} MiB, peak PSS of all processes {run['peak_pss_mb_all_processes']} MiB; the limit ({lim['records']:,} "
        f"records read alone) {lim['wall_s']} s wall, {lim['cpu_s']} s CPU; bluebench / limit: "
        f"{run['ratio_to_limit_cpu']}x in CPU, {run['ratio_to_limit_wall']}x in wall time",
        file=sys.stderr,
    )
    print(f"CPU seconds by phase: {json.dumps(run.get('run_cpu_seconds_by_phase'))}", file=sys.stderr)
    print(json.dumps(run), file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", nargs="+", default=[str(SHARED / "sigma" / "rules" / "windows")])
    ap.add_argument("--evtx", default=str(SHARED / "windows"))
    ap.add_argument("--sizes", nargs="*", type=float, default=[0.5, 2.0], help="generated sizes in GB")
    ap.add_argument("--gen-dir", default=str(ROOT / "out" / "sigma-bench"))
    ap.add_argument("--out", default=str(RESULTS / "sigma.json"), help="where the result JSON goes")
    ap.add_argument("--no-evtx", action="store_true", help="skip (a), the EVTX folder")
    ap.add_argument("--copies", type=int, default=1, help="(a) on the EVTX folder copied N times")
    ap.add_argument("--cache-dir", default=str(ROOT / "out" / "sigma-cache"), help="the compiled-rule cache")
    ap.add_argument(
        "--jobs", type=int, nargs="+", default=[1, 2], help="(a) in this many processes each (0: auto)"
    )
    ap.add_argument("--repeat", type=int, default=3, help="(a) runs per --jobs value; the median is kept")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--inputs", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one(args.inputs, args.rules, args.cache_dir, args.jobs[0])))
        return
    import importlib.util

    spec = importlib.util.spec_from_file_location("sigma_gen", HERE / "sigma_gen.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    generate = gen.generate

    load_before = os.getloadavg()
    cache = Path(args.cache_dir)
    shutil.rmtree(cache, ignore_errors=True)
    starts = {"cold": start(args.rules, cache), "warm": start(args.rules, cache)}
    print(f"rule loading, fresh process: {json.dumps(starts)}", file=sys.stderr)
    runs: dict[str, object] = {}
    if not args.no_evtx:
        folder = Path(args.evtx)
        if args.copies > 1:
            folder = copies(folder, args.copies, ROOT / "out" / f"evtx-x{args.copies}")
        evtx = sorted(str(p) for p in folder.rglob("*.evtx"))
        print(f"(a) {len(evtx)} EVTX files under {shown(folder)}", file=sys.stderr)
        for jobs in args.jobs:
            name = "evtx" if jobs == 1 else f"evtx_jobs{jobs}"
            runs[name] = median_of(args.repeat, lambda jobs=jobs: run_child(evtx, args.rules, cache, jobs))
            say(runs[name])
    for gb in args.sizes:
        path = Path(args.gen_dir) / f"sigma-{gb:g}gb.jsonl"
        if not path.exists():
            print(f"generating {shown(path)} ({gb:g} GB, not timed)", file=sys.stderr)
            generate(path, int(gb * 1e9))
        print(f"(b) {shown(path)}", file=sys.stderr)
        runs[f"generated_{gb:g}gb"] = run_child([str(path)], args.rules, cache, args.jobs[0])
        say(runs[f"generated_{gb:g}gb"])
    result = {
        "benchmark": "sigma",
        "command": "python bench/run_sigma.py " + " ".join(a for a in sys.argv[1:]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "rules": [shown(r) for r in args.rules],
        "rule_loading": starts,
        "runs": runs,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from common import public  # here: the child processes measure start-up without bluebench's pipeline

    result = public(result)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
