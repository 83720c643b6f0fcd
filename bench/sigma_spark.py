"""Sigma rules on DuckDB and on Spark over the same events: identical or not, counts, times.

Ingests every EVTX file under ``../shared/data/windows`` (read-only) into a fresh workspace,
exports it as day-partitioned Parquet, loads the SigmaHQ Windows rules
(``../shared/data/sigma/rules/windows``) once, and runs the rules Spark accepts on both
engines: the DuckDB SigmaEngine over the workspace (``detect_workspace``) and Spark
(``--master``, default ``local[2]``) over the Parquet (``bluebench.sigma.spark.run_rules``).
Alerts are compared with ``parity_key`` and scores, and per rule: match count, and per host
count, first/last time and evidence (file, record); and again without which events are kept
as examples where a rule matched more than the evidence cap on a host, or in what order
(the DuckDB engine keeps them in input order, Spark in file and record order: the same
unless files were ingested in another order than by path). ``--subset matching`` runs on Spark only
the rules that matched on DuckDB (all rules are still run on DuckDB); a rule that matches
nothing on DuckDB and something on Spark is then not seen, so the full run is the one that
shows parity. Writes ``bench/results/sigma_spark[-matching].json``; exits 1 when anything differs.

    .venv/bin/python bench/sigma_spark.py [--subset matching]
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bluebench.engines import parity_key
from bluebench.engines.spark import SparkEngine, start_session
from bluebench.schema import Alert
from bluebench.sigma import SigmaEngine, compile_rules, detect_workspace, engine_alerts
from bluebench.sigma.spark import check_ruleset, run_rules
from common import cpu_seconds, evtx_files, ingest_and_export, machine, shown, write_result

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
OUT = HERE / "out"


def _keys(alerts: list[Alert]) -> list[tuple[Any, ...]]:
    return [(*parity_key(a), a.score) for a in sorted(alerts, key=lambda a: (a.id, a.event_ids))]


def _host_state(engine: SigmaEngine, rid: str, evidence: bool = True) -> Any:
    """Per host: count, first and last time, and (``evidence``) the events kept, in order."""
    rm = engine.matches[rid]
    return (
        rm.count,
        {
            h: (hm.count, hm.first, hm.last, [(e.file, e.record) for e in hm.events] if evidence else None)
            for h, hm in sorted(rm.hosts.items())
        },
    )


def _without_choice(alerts: list[Alert], cap: int) -> list[tuple[Any, ...]]:
    """Alerts without which matching events were kept as examples, and in what order.

    Where a rule matched at most ``cap`` events on a host both engines keep all of them
    (compared as a set); beyond that each keeps ``cap`` exact examples, chosen by its own order.
    The 'matched fields' reason shows the first example's values, so it goes with the choice.
    """
    out = []
    for a in sorted(alerts, key=lambda a: (a.id, sorted(a.event_ids))):
        key = list(parity_key(a))
        key[6] = [r for r in a.reasons if not r.startswith("matched fields:")]
        key[7] = sorted(a.event_ids) if a.event_count <= cap else None
        out.append((*key, a.score))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED / "windows")
    ap.add_argument("--rules", type=Path, default=SHARED / "sigma" / "rules" / "windows")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--subset", choices=("all", "matching"), default="all")
    ap.add_argument("--work", type=Path, default=OUT / "sigma-spark")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    files = evtx_files(args.data)
    if not files or not args.rules.is_dir():
        print(
            f"no EVTX under {args.data} or no rules under {args.rules} (reads ../shared/data)",
            file=sys.stderr,
        )
        return 2
    info = machine()
    t = time.perf_counter()
    loaded = compile_rules([args.rules])
    rs = check_ruleset(loaded)  # the rules both engines run: those Spark accepts
    load_s = time.perf_counter() - t
    ws, export, prep_s = ingest_and_export(args.work, files)

    t, c = time.perf_counter(), cpu_seconds()
    duck, duck_alerts = detect_workspace(ws.con, rs)
    duck_s, duck_cpu = time.perf_counter() - t, cpu_seconds() - c
    matching = [r for r in rs.rules if duck.matches[r.id].count]
    on_spark = rs
    if args.subset == "matching":
        keep = {r.id for r in matching} | {rid for corr in rs.correlations for rid in corr.rules}
        on_spark = dataclasses.replace(rs, rules=[r for r in rs.rules if r.id in keep])
        duck, duck_alerts = detect_workspace(ws.con, on_spark)  # the same rules on both sides

    t = time.perf_counter()
    spark = start_session(args.master)
    SparkEngine(spark, args.work / "parquet")
    start_s = time.perf_counter() - t
    t = time.perf_counter()
    spk = run_rules(spark, on_spark)
    spark_s = time.perf_counter() - t
    spark_alerts = engine_alerts(spk)
    spark.stop()
    ws.close()

    differing = [
        {
            "rule": r.id,
            "title": r.title,
            "duckdb_count": duck.matches[r.id].count,
            "spark_count": spk.matches[r.id].count,
        }
        for r in on_spark.rules
        if _host_state(duck, r.id) != _host_state(spk, r.id)
    ]
    identical = _keys(duck_alerts) == _keys(spark_alerts) and not differing
    # The same rules, hosts, counts and times; evidence compared as a set where all is kept.
    differing_matches = [
        r.id for r in on_spark.rules if _host_state(duck, r.id, False) != _host_state(spk, r.id, False)
    ]
    same_up_to_examples = not differing_matches and _without_choice(duck_alerts, duck.evidence_cap) == (
        _without_choice(spark_alerts, spk.evidence_cap)
    )
    shutil.rmtree(args.work, ignore_errors=True)
    result = {
        "machine": info,
        "data": shown(args.data),
        "rules_dir": shown(args.rules),
        "files": len(files),
        "events": export.events,
        "windows_events_seen": {"duckdb": duck.events_seen, "spark": spk.events_seen},
        "parquet_files": export.files,
        "spark_master": args.master,
        "subset": args.subset,
        "rules_loaded": len(loaded.rules),
        "rules_failed": len(loaded.failures),
        "rules_refused_on_spark": len(rs.failures) - len(loaded.failures),
        "correlations": len(rs.correlations),
        "rules_run_on_spark": len(on_spark.rules),
        "rules_matching": len(matching),
        "rule_load_s": round(load_s, 2),
        **prep_s,
        "duckdb_sigma_s": round(duck_s, 2),  # all rules Spark accepts, whatever the subset
        "duckdb_sigma_cpu_s": round(duck_cpu, 2),
        "spark_session_start_s": round(start_s, 2),
        "spark_sigma_s": round(spark_s, 2),
        "alerts": {"duckdb": len(duck_alerts), "spark": len(spark_alerts)},
        "matches": {
            "duckdb": sum(m.count for m in duck.matches.values()),
            "spark": sum(m.count for m in spk.matches.values()),
        },
        "identical": identical,
        "identical_except_which_examples_are_kept": same_up_to_examples,
        "rules_differing_in_counts_hosts_or_times": differing_matches,
        "rules_differing": differing[:50],
        "rules_differing_count": len(differing),
    }
    name = "sigma_spark" if args.subset == "all" else "sigma_spark-matching"
    path = write_result(name, result, args.out)
    print(
        f"{export.events:,} events, {len(on_spark.rules)} rules on Spark ({len(matching)} match on DuckDB); "
        f"alerts duckdb {len(duck_alerts)} spark {len(spark_alerts)}; identical: {identical} "
        f"(except which examples are kept: {same_up_to_examples}); "
        f"sigma time duckdb {duck_s:.1f} s, spark {spark_s:.1f} s; result: {path}"
    )
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
