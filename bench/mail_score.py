"""Scoring speed of the phishing model: messages per second, from files to verdicts with reasons.

Reads ``../shared/data/email`` (SpamAssassin, phishing-pot, Nazario, modern-ham; see that
folder's README for sources and terms). Times what ``bluebench mail score --jobs N`` does:
read the files, parse each message, extract features, score, explain every verdict, with
one process and with two (the machine has two cores). Training and loading the model are
not timed; each run loads it afresh, so it starts with a cold word cache as every ``mail
score`` command does. The model is the one ``mail train`` would write on the same data (or
``--model``); a model with a spam part scores it too, for every message the phishing part did
not flag, and the result says which parts were timed.

    .venv/bin/python bench/mail_score.py [--model MODEL] [--repeat 3] [--jobs 1 2] [--out bench/out/mail_score.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

from bluebench.heap import frozen
from bluebench.mail.batch import iter_batches
from bluebench.mail.labels import load_labels
from bluebench.mail.modelfile import SpamPart, load_model, save_model
from bluebench.mail.train import attach_labels, train_shipped
from bluebench.sources.mailparse import read_mail

EMAIL = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "email"


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the --jobs workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(EMAIL))
    ap.add_argument("--model", help="model file; default: train one on --data first (not timed)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="process counts to measure")
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args()

    model_path = args.model
    if model_path is None:
        ms = read_mail([args.data])
        (fitted, meta), spam = train_shipped(attach_labels(ms, load_labels(Path(args.data) / "labels.csv")))
        model_path = os.path.join(tempfile.mkdtemp(), "mail.model")
        part = None if spam is None else SpamPart(spam[0].model, spam[0].spec, spam[1])
        save_model(model_path, fitted.model, fitted.spec, meta, part)

    result: dict[str, object] = {
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "python bench/mail_score.py --model MODEL --jobs " + " ".join(map(str, args.jobs)),
        "data": os.path.relpath(args.data, Path(__file__).resolve().parent.parent),
        "bytes": sum(p.stat().st_size for p in Path(args.data).rglob("*") if p.is_file()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        # what each verdict cost: the phishing part, and the spam part where the model has one
        "parts": ["phishing"] if load_model(model_path).spam is None else ["phishing", "spam"],
    }
    for jobs in args.jobs:
        runs = []
        for _ in range(args.repeat):
            # each run loads the model afresh (not timed), so its word cache starts cold, as
            # in every `mail score` command
            model = load_model(model_path)
            load = os.getloadavg()[0]
            c0 = _cpu()
            # what `mail score` does: batch after batch, read and extracted, then scored
            start = mark = time.perf_counter()
            read_s = score_s = 0.0
            verdicts = []
            with frozen():  # as `mail score` runs
                for batch in iter_batches([args.data], jobs, era=model.reads_era):
                    got = time.perf_counter()
                    read_s += got - mark
                    verdicts.extend(model.score_extracted(batch.refs, batch.extracted))
                    mark = time.perf_counter()
                    score_s += mark - got
            end = time.perf_counter()
            read_s += end - mark
            cpu = _cpu() - c0
            assert all(v.reasons for v in verdicts)
            runs.append(
                {
                    "messages": len(verdicts),
                    "read_extract_s": read_s,
                    "score_explain_s": score_s,
                    "total_s": end - start,
                    "cpu_s": cpu,
                    "load_1min_before": load,
                }
            )
        rates = [r["messages"] / r["total_s"] for r in runs]
        per_cpu = statistics.median(r["messages"] / r["cpu_s"] for r in runs)
        summary = {
            "median": statistics.median(rates),
            "best": max(rates),
            "worst": min(rates),
            "per_cpu_second": per_cpu,
        }
        result[f"jobs_{jobs}"] = {"runs": runs, "messages_per_second": summary}
        loads = ", ".join(f"{r['load_1min_before']:.1f}" for r in runs)
        print(
            f"--jobs {jobs}: {runs[0]['messages']} messages, files to verdicts with reasons: "
            f"median {summary['median']:.0f} msg/s (best {summary['best']:.0f}, worst {summary['worst']:.0f}); "
            f"{per_cpu:.0f} msg per CPU-second (all processes); "
            f"1-min load average before the runs {loads} on {os.cpu_count()} CPUs "
            "(other work on the machine slows the wall-clock figures, not the CPU-second one)"
        )
    result["load_average_at_end"] = list(os.getloadavg())
    # the benchmark process's peak (the model, the libraries and the largest batch in flight)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
