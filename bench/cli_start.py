"""The command line's own cost: wall, CPU and peak memory of ``bluebench`` commands, each a fresh process.

Every command module is imported on every start (that is how the commands register), so what
those modules import is paid by ``--help`` and by ``sigma run`` alike (issue #18). Each command
runs ``--repeat`` times, the commands interleaved so that a change in the machine's load falls on
all of them; the figures are the child's own (``os.wait4``: its user+system CPU seconds and its
maximum resident set size, the largest of its processes) with the load average beside them, and
the proportional set size of the command and its workers together, sampled every 100 ms (what
``sigma run``'s processes hold together: shared pages counted once). With ``--rules`` and ``--evtx``,
``bluebench sigma run --json`` is measured too, after one untimed run that fills the rule cache:
over one small file (the warm start: imports, rules read from the cache, the engine set up) and
over the folder (``--copies N``: the folder N times, as ``run_sigma.py`` builds it), as many processes
as ``sigma run`` picks and ``--jobs 1``. Each output's
SHA-256 is recorded, so two versions of the code are compared byte for byte; ``--src`` given twice
runs both versions' sources, interleaved, in the same run (the fair comparison on a busy machine).

    python bench/cli_start.py                                    # --help and sigma run --help
    python bench/cli_start.py --rules ../shared/data/sigma/rules/windows \\
        --evtx ../shared/data/windows/evtx-to-mitre-attack --copies 10
    git archive main src | tar -x -C /tmp/base   # then: --src /tmp/base/src --src src
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from run_sigma import ROOT, copies, pss_mb, shown

RESULTS = Path(__file__).resolve().parent / "results"
#: Runs the console script's entry point from this checkout's sources, whatever is installed.
ENTRY = "import sys; from bluebench.cli import main; sys.argv[0] = 'bluebench'; main()"


def measure(args: list[str], env: dict[str, str]) -> dict[str, object]:
    """One run of ``bluebench ARGS`` in a fresh interpreter: its wall and CPU seconds, peak RSS, output digest."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", ENTRY, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    stdout = proc.stdout
    assert stdout is not None
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:  # the command and its workers together, every 100 ms while it runs
        while not done.wait(0.1):
            peak[0] = max(peak[0], pss_mb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    digest = hashlib.sha256()
    for block in iter(lambda: stdout.read(1 << 16), b""):
        digest.update(block)
    done.set()
    sampler.join()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    return {
        "wall_s": round(time.perf_counter() - t0, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "max_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "peak_pss_mib_all_processes": round(peak[0], 1),
        "exit": proc.returncode,
        "sha256": digest.hexdigest(),
    }


def summary(runs: list[dict[str, object]]) -> dict[str, object]:
    """Median and range of each figure over the repeats; the digest when every run agreed."""
    out: dict[str, object] = {"runs": runs}
    for key in ("wall_s", "cpu_s", "max_rss_mib", "peak_pss_mib_all_processes"):
        values = [float(r[key]) for r in runs]  # type: ignore[arg-type]
        out[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    digests = {r["sha256"] for r in runs}
    out["sha256"] = digests.pop() if len(digests) == 1 else "differs between runs"
    return out


def commands(args: argparse.Namespace) -> dict[str, list[str]]:
    """The commands to measure, by name."""
    cmds = {"--help": ["--help"], "sigma run --help": ["sigma", "run", "--help"]}
    if args.rules and args.evtx:
        folder = Path(args.evtx)
        files = sorted(folder.rglob("*.evtx"))
        if not files:
            raise SystemExit(f"no .evtx files under {folder}")
        tiny = min(files, key=lambda f: f.stat().st_size)
        if args.copies > 1:
            folder = copies(folder, args.copies, ROOT / "out" / f"evtx-x{args.copies}")
        run = ["sigma", "run", "--rules", args.rules, "--json"]
        cmds["sigma run, smallest file"] = [*run[:2], str(tiny), *run[2:]]
        cmds[f"sigma run, {shown(folder)}"] = [*run[:2], str(folder), *run[2:]]
        cmds[f"sigma run --jobs 1, {shown(folder)}"] = [*run[:2], str(folder), *run[2:], "--jobs", "1"]
    return cmds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each command (interleaved)")
    ap.add_argument("--rules", help="Sigma rules for `sigma run` (a file or folder)")
    ap.add_argument("--evtx", help="EVTX folder for `sigma run`")
    ap.add_argument("--copies", type=int, default=1, help="the EVTX folder N times (symbolic links)")
    ap.add_argument("--out", default=str(RESULTS / "cli-start.json"), help="result file")
    ap.add_argument(
        "--src", action="append", help="bluebench sources to run (repeat to compare; default this checkout's)"
    )
    args = ap.parse_args()

    # labelled relative to the repository: a published result names no path of this machine
    srcs = {shown(p): Path(p).resolve() for p in args.src or [ROOT / "src"]}
    cmds = commands(args)
    with tempfile.TemporaryDirectory(prefix="bluebench-cli-start-") as cache:
        envs = {
            (label if len(srcs) > 1 else ""): {
                **os.environ,
                "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
                "BLUEBENCH_CACHE_DIR": str(Path(cache) / str(i)),  # a cache per version: its own format
            }
            for i, (label, src) in enumerate(srcs.items())
        }
        for env in envs.values():  # untimed: bytecode compiled, rule cache filled; warm starts below
            measure(["--help"], env)
            if args.rules and args.evtx:
                measure(next(c for n, c in cmds.items() if n.endswith("smallest file")), env)
        load_before = os.getloadavg()
        runs: dict[str, list[dict[str, object]]] = {}
        for _ in range(args.repeat):
            for name, cmd in cmds.items():
                for label, env in envs.items():
                    runs.setdefault(f"{label}: {name}" if label else name, []).append(measure(cmd, env))
        load_after = os.getloadavg()
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.system()},
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "commands": {name: summary(r) for name, r in runs.items()},
    }
    for name, s in result["commands"].items():  # type: ignore[attr-defined]
        print(
            f"{name:50s} wall {s['wall_s']['median']:6.2f} s  CPU {s['cpu_s']['median']:6.2f} s  "
            f"peak RSS {s['max_rss_mib']['median']:6.1f} MiB, PSS of all processes "
            f"{s['peak_pss_mib_all_processes']['median']:6.1f} MiB  (median of {args.repeat}; "
            f"CPU {s['cpu_s']['min']:.2f}-{s['cpu_s']['max']:.2f}, peak {s['max_rss_mib']['min']:.1f}-"
            f"{s['max_rss_mib']['max']:.1f})  sha256 {str(s['sha256'])[:16]}",
        )
    print(f"load average {result['load_before']} before, {result['load_after']} after", file=sys.stderr)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {shown(Path(args.out))}", file=sys.stderr)


if __name__ == "__main__":
    main()
