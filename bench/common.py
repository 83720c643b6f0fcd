"""What both ingest benchmarks share: timing with CPU time, memory, detector times, the result file.

Every figure is measured by the run that reports it: wall and CPU seconds from the clock and
``getrusage``, peak memory as the process's maximum resident set size (what the kernel
charged for Python, Arrow and DuckDB together) plus DuckDB's own accounting sampled while
the run goes. The machine's load is recorded beside the figures, since other processes on
a shared machine slow every wall-clock number.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from bluebench import pipeline
from bluebench.engines.parquet import ExportSummary, export_parquet
from bluebench.events.quality import quality_report
from bluebench.events.workspace import IngestSummary, Workspace
from bluebench.sources import InputFile, discover

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent


def shown(path: Path) -> str:
    """A path as stored in results: relative to the repository, never this machine's layout."""
    return os.path.relpath(Path(path).resolve(), ROOT)


_ABSOLUTE = re.compile(r"(?<![\w.:/-])/(?:[\w.@+-]+/)*[\w.@+-]*")


def public(value: Any) -> Any:
    """A result with every absolute path of this machine made relative to the repository (none published)."""
    if isinstance(value, str):
        return _ABSOLUTE.sub(lambda m: os.path.relpath(m.group(0), ROOT) if m.group(0) != "/" else "/", value)
    if isinstance(value, dict):
        return {k: public(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [public(v) for v in value]
    return value


def evtx_files(data: Path) -> list[InputFile]:
    """The EVTX files under a folder (none when it is missing: the caller says what to fetch)."""
    if not data.is_dir():
        return []
    return [f for f in discover([str(data)]) if f.path.suffix.lower() == ".evtx"]


def cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mb() -> float:
    """The process's maximum resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Timer:
    """Wall and CPU seconds of a block."""

    wall: float = 0.0
    cpu: float = 0.0

    def to_json(self) -> dict[str, float]:
        return {"wall_s": round(self.wall, 3), "cpu_s": round(self.cpu, 3)}


@contextmanager
def timed() -> Iterator[Timer]:
    t = Timer()
    w0, c0 = time.perf_counter(), cpu_seconds()
    try:
        yield t
    finally:
        t.wall, t.cpu = time.perf_counter() - w0, cpu_seconds() - c0


@dataclass
class MemorySampler:
    """Samples DuckDB's memory accounting and this process's RSS on a second connection."""

    con: duckdb.DuckDBPyConnection
    every: float = 0.5
    duckdb_peak_mb: float = 0.0
    rss_peak_mb: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MemorySampler:
        cursor = self.con.cursor()

        def run() -> None:
            while not self._stop.wait(self.every):
                self.sample(cursor)
            self.sample(cursor)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return self

    def sample(self, cursor: duckdb.DuckDBPyConnection) -> None:
        try:
            used = cursor.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()[0][0]
            self.duckdb_peak_mb = max(self.duckdb_peak_mb, float(used or 0) / 2**20)
        except duckdb.Error:
            pass
        with open("/proc/self/statm") as fh:
            rss_pages = int(fh.read().split()[1])
        self.rss_peak_mb = max(self.rss_peak_mb, rss_pages * os.sysconf("SC_PAGE_SIZE") / 2**20)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()


def machine() -> dict[str, Any]:
    """Where the figures were measured: cores, CPU, load before the run, library versions."""
    model = ""
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as fh:
        mem_kb = int(fh.readline().split()[1])
    import pyarrow

    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gb": round(mem_kb / 2**20, 1),
        "load_average_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pyarrow": pyarrow.__version__,
    }


def ingest_and_detect(
    folder: Path, files: list[InputFile], events_hint: int | None = None, memory_limit: str = "1GB"
) -> dict[str, Any]:
    """The main job, timed stage by stage in a fresh workspace: ingest, detect, save, close.

    Ingest and detection are the pipeline's own (``bluebench.pipeline``), as ``scan`` runs
    them; a detector whose query fails at this scale is recorded and the others still run.
    The data quality report that ``scan`` prints is timed too, apart, since it is not part
    of ingest or detection.
    """
    out: dict[str, Any] = {}
    ws = Workspace(folder, memory_limit=memory_limit)
    with MemorySampler(ws.con) as mem:
        threads = ws.scalar("SELECT current_setting('threads')")
        limit = ws.scalar("SELECT current_setting('memory_limit')")
        with timed() as t_ingest:
            summary: IngestSummary = pipeline.ingest(ws, files)
        events = summary.events
        rss_after_ingest = peak_rss_mb()
        report = pipeline.detect(ws.con, pipeline.DetectOptions(keep_going=True))
        with timed() as t_quality:
            quality_report(ws.con)
    with timed() as t_close:  # the checkpoint: part of the job a user waits for
        ws.close()
    t_detect = Timer(report.timing.wall_s, report.timing.cpu_s)
    total = Timer(t_ingest.wall + t_detect.wall + t_close.wall, t_ingest.cpu + t_detect.cpu + t_close.cpu)
    per_detector: dict[str, dict[str, Any]] = {}
    for run in report.runs:
        per_detector[run.id] = {**run.timing.to_json(), "alerts": run.alerts}
        if run.error:
            per_detector[run.id]["error"] = run.error
    out.update(
        {
            "events": events,
            "files": len(summary.files),
            "skipped_records": summary.skipped_records,
            "duckdb_threads": threads,
            "duckdb_memory_limit": limit,
            "ingest": {**t_ingest.to_json(), "events_per_s": rate(events, t_ingest.wall)},
            "detect": {
                **t_detect.to_json(),
                "views": report.views.to_json(),
                "save_alerts": report.save.to_json(),
                "detectors": per_detector,
                "alerts": len(report.alerts),
            },
            "close": t_close.to_json(),
            "ingest_plus_detect": {**total.to_json(), "events_per_s": rate(events, total.wall)},
            "quality_report": t_quality.to_json(),
            "cpu_us_per_event": {
                "ingest": round(t_ingest.cpu * 1e6 / max(events, 1), 1),
                "detect": round(t_detect.cpu * 1e6 / max(events, 1), 1),
            },
            "memory": {
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "peak_rss_after_ingest_mb": round(rss_after_ingest, 1),
                "duckdb_peak_sampled_mb": round(mem.duckdb_peak_mb, 1),
                "rss_peak_sampled_mb": round(mem.rss_peak_mb, 1),
            },
            "workspace_mb": round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1),
        }
    )
    return out


def ingest_and_export(
    work: Path, files: list[InputFile]
) -> tuple[Workspace, ExportSummary, dict[str, float]]:
    """A fresh workspace of these files under ``work`` and its Parquet export, each step timed.

    What the engine-parity benchmarks start from: the same events for DuckDB and for Spark.
    """
    shutil.rmtree(work, ignore_errors=True)
    ws = Workspace(work / "ws")
    t = time.perf_counter()
    pipeline.ingest(ws, files)
    ingest_s = time.perf_counter() - t
    t = time.perf_counter()
    export = export_parquet(ws.con, work / "parquet")
    export_s = time.perf_counter() - t
    return ws, export, {"ingest_s": round(ingest_s, 2), "export_parquet_s": round(export_s, 2)}


def rate(events: int, seconds: float) -> float:
    return round(events / seconds) if seconds > 0 else 0.0


def write_result(name: str, result: dict[str, Any], out: Path | None = None) -> Path:
    """Write the result JSON (with when and where it was measured) and return its path."""
    path = out or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": name,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_at_end": os.getloadavg(),
        **result,
    }
    path.write_text(json.dumps(public(result), indent=1) + "\n", encoding="utf-8")
    return path


def print_summary(result: dict[str, Any], say: Callable[[str], None] = print) -> None:
    """The figures a person reads first."""
    ing, det, both, mem = result["ingest"], result["detect"], result["ingest_plus_detect"], result["memory"]
    say(
        f"{result['events']:,} events in {result['files']} files; "
        f"ingest {ing['wall_s']:.1f} s ({ing['events_per_s']:,.0f} events/s, CPU {ing['cpu_s']:.1f} s), "
        f"detect {det['wall_s']:.1f} s ({det['alerts']} alerts), "
        f"close {result['close']['wall_s']:.1f} s; ingest + detect + close {both['events_per_s']:,.0f} events/s"
    )
    say(
        f"peak RSS {mem['peak_rss_mb']:,.0f} MiB (after ingest {mem['peak_rss_after_ingest_mb']:,.0f}); "
        f"DuckDB memory sampled peak {mem['duckdb_peak_sampled_mb']:,.0f} MiB "
        f"(limit {result['duckdb_memory_limit']}); workspace {result['workspace_mb']:,.0f} MiB"
    )
    slow = sorted(det["detectors"].items(), key=lambda kv: -kv[1]["wall_s"])[:5]
    say("slowest detectors: " + ", ".join(f"{k} {v['wall_s']:.1f} s" for k, v in slow))
