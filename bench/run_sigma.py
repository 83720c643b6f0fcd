"""Sigma benchmark: all loadable SigmaHQ Windows rules over (a) every EVTX under
../shared/data/windows and (b) generated EVTX-shaped JSON lines at two sizes.

Each input runs in its own process, so its peak memory (max RSS: Python, Arrow, DuckDB and
the compiled rules together) is its own; two sizes show whether memory grows with the input.
Events/s is end to end: files read, parsed, every rule evaluated, alerts built; compiling
the rules is timed apart. The machine's load is recorded beside the figures.

    python bench/run_sigma.py                       # (a), and (b) at 0.5 and 2 GB (generated once)
    python bench/run_sigma.py --sizes 0.5 1         # other sizes, in GB
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
SHARED = ROOT.parent / "shared" / "data"


def shown(p: Path | str) -> str:
    return os.path.relpath(Path(p).resolve(), ROOT)


def one(inputs: list[str], rules: list[str]) -> dict[str, object]:
    """Run in a fresh process: compile, stream, evaluate; return the figures."""
    from bluebench.sigma import ReadReport, SigmaEngine, compile_rules, engine_alerts
    from bluebench.sigma import engine as sigma_engine
    from bluebench.sigma import source as sigma_source
    from bluebench.sigma.source import file_batches

    t0 = time.perf_counter()
    rs = compile_rules(rules)
    compile_s = time.perf_counter() - t0
    rss_after_compile = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = ReadReport()
    engine = SigmaEngine(rs)
    c0 = time.process_time()
    t1 = time.perf_counter()
    engine.run(file_batches(inputs, report))
    alerts = engine_alerts(engine)
    run_s = time.perf_counter() - t1
    cpu_s = time.process_time() - c0
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
        "inputs": [shown(p) for p in inputs],
        "input_bytes": size,
        "files_read": report.files,
        "events": engine.events_seen,
        "rules_loaded": len(rs.rules),
        "rules_failed": len(rs.failures),
        "compile_seconds": round(compile_s, 2),
        "run_seconds": round(run_s, 2),
        "run_cpu_seconds": round(cpu_s, 2),
        "events_per_second": round(engine.events_seen / run_s) if run_s else None,
        "matched_events": sum(m.count for m in engine.matches.values()),
        "rules_matched": sum(1 for m in engine.matches.values() if m.count),
        "alerts": len(alerts),
        "peak_rss_mb_after_compile": round(rss_after_compile, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "skipped_records": len(report.skipped),
        "matches_digest": digest.hexdigest(),
        "matches_per_rule": per_rule,
    }


def run_child(inputs: list[str], rules: list[str]) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", "--rules", *rules, "--inputs", *inputs]
    res = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"benchmark run failed:\n{res.stderr[-4000:]}")
    return compact(dict(json.loads(res.stdout.strip().splitlines()[-1])))


def compact(run: dict[str, object]) -> dict[str, object]:
    """Many input files are stored as their common folder and a count, not one path each."""
    inputs = run.get("inputs")
    if isinstance(inputs, list) and len(inputs) > 5:
        run["inputs"] = [os.path.commonpath(inputs)]
        run["input_files"] = len(inputs)
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", nargs="+", default=[str(SHARED / "sigma" / "rules" / "windows")])
    ap.add_argument("--evtx", default=str(SHARED / "windows"))
    ap.add_argument("--sizes", nargs="*", type=float, default=[0.5, 2.0], help="generated sizes in GB")
    ap.add_argument("--gen-dir", default=str(ROOT / "out" / "sigma-bench"))
    ap.add_argument("--out", default=str(RESULTS / "sigma.json"), help="where the result JSON goes")
    ap.add_argument("--no-evtx", action="store_true", help="skip (a), the EVTX folder")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--inputs", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one(args.inputs, args.rules)))
        return
    import importlib.util

    spec = importlib.util.spec_from_file_location("sigma_gen", HERE / "sigma_gen.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    generate = gen.generate

    load_before = os.getloadavg()
    runs: dict[str, object] = {}
    if not args.no_evtx:
        evtx = sorted(str(p) for p in Path(args.evtx).rglob("*.evtx"))
        print(f"(a) {len(evtx)} EVTX files under {shown(args.evtx)}", file=sys.stderr)
        runs["evtx"] = run_child(evtx, args.rules)
        print(json.dumps(runs["evtx"]), file=sys.stderr)
    for gb in args.sizes:
        path = Path(args.gen_dir) / f"sigma-{gb:g}gb.jsonl"
        if not path.exists():
            print(f"generating {shown(path)} ({gb:g} GB, not timed)", file=sys.stderr)
            generate(path, int(gb * 1e9))
        print(f"(b) {shown(path)}", file=sys.stderr)
        runs[f"generated_{gb:g}gb"] = run_child([str(path)], args.rules)
        print(json.dumps(runs[f"generated_{gb:g}gb"]), file=sys.stderr)
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
        "runs": runs,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
