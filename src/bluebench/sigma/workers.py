"""Sigma over files on several cores: workers forked after the rules are loaded share them.

The files are cut into contiguous runs of about equal bytes, one per process. The main
process reads the first run; each forked worker reads one other and sends back what its
engine kept (``Part``). Merged in input order, the result is the one a single process
gives: counts and time spans add up, a host's evidence is its first events in input order
with the matched fields on the first one only, hosts are listed in the order they first
matched, and correlation keys stay in input order (tests/sigma/test_workers.py).

Fork, not spawn: a spawned worker would load the rules again (a second and their memory
again), while a forked one shares the parent's pages until it writes them; ``frozen`` keeps
the garbage collector from touching (and so copying) them. Each process makes its own
engine, and so its own DuckDB database, after the fork: no thread is forked midway. Fork is
used only where the platform has it; when a worker fails, its files are read again in the
main process and the report says so.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import signal
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from bluebench.heap import frozen
from bluebench.sigma.engine import SigmaEngine
from bluebench.sigma.match import CorrelationKey, HostMatches
from bluebench.sigma.rules import RuleSet
from bluebench.sigma.source import ReadReport, input_batches
from bluebench.sources import InputFile, Skipped

#: Below this many input bytes one process is used: a worker's start (fork, its own DuckDB
#: database) costs about 0.1 s, and the shared EVTX folder (54 MB) takes 0.4 s in one.
MIN_PARALLEL_BYTES = 64 * 1024 * 1024
MEMINFO = Path("/proc/meminfo")
CGROUP = Path("/sys/fs/cgroup")  # cgroup v2, unified: this process's own group where it is namespaced
#: Memory a worker adds (proportional set size, measured by bench/run_sigma.py: about 130 MB
#: over the shared copied EVTX folder), with room to spare: no more workers than fit.
WORKER_BYTES = 200 * 1024 * 1024


@dataclass
class Part:
    """What one worker's engine and reader kept: all the main process needs to merge."""

    events_seen: int
    report: ReadReport
    engine_skipped: list[Skipped]
    #: Per matched rule id: the match count, per host state, correlation keys.
    matches: dict[str, tuple[int, dict[str, HostMatches], list[CorrelationKey]]]


def split(sizes: Sequence[int], n: int) -> list[range]:
    """Contiguous runs of the files (by index), at most ``n``, none empty, of about equal bytes.

    Contiguous, unlike ingest's ``events.direct.split_by_size`` (largest first to the lightest
    part, which balances better but interleaves the files): a worker's part is merged after
    everything before it, which is the input order only when its files all follow those.
    """
    if not sizes:
        return [range(0)]
    n = max(1, min(n, len(sizes)))
    weights = [size + 1 for size in sizes]  # a byte more each: empty files are still files to open
    total = sum(weights)
    cuts = [0]
    done = 0  # weight before file i
    for i, weight in enumerate(weights):
        if len(cuts) < n and i > cuts[-1] and done * n >= total * len(cuts):
            cuts.append(i)
        done += weight
    cuts.append(len(sizes))
    return [range(a, b) for a, b in itertools.pairwise(cuts)]


def _cores() -> int:
    """Cores this process may run on (a container's or ``taskset``'s limit, not the machine's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _available_bytes(meminfo: Path = MEMINFO, cgroup: Path = CGROUP) -> int | None:
    """Memory this process may still take: MemAvailable (Linux), less where a cgroup (v2: a
    container's or a service's limit) allows less; None where neither can be read."""
    free: int | None = None
    try:
        with open(meminfo, encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        free = None
    try:
        limit = (cgroup / "memory.max").read_text(encoding="ascii").strip()
        if limit != "max":
            left = max(0, int(limit) - int((cgroup / "memory.current").read_text(encoding="ascii")))
            free = left if free is None else min(free, left)
    except (OSError, ValueError):
        pass
    return free


def auto_jobs(input_bytes: int, files: int) -> int:
    """Processes for an input: one per core, file and ``WORKER_BYTES`` of free memory; one for a
    small input or where fork is missing."""
    if not hasattr(os, "fork") or input_bytes < MIN_PARALLEL_BYTES or files < 2:
        return 1
    free = _available_bytes()
    by_memory = max(1, free // WORKER_BYTES) if free is not None else 1
    return max(1, min(_cores(), files, by_memory))


def _size(f: InputFile) -> int:
    try:
        return f.path.stat().st_size
    except OSError:  # named by the reader, which reports it like any unreadable file
        return 0


def run_files(ruleset: RuleSet, files: list[InputFile], report: ReadReport, jobs: int = 1) -> SigmaEngine:
    """All rules over ``files`` in up to ``jobs`` processes (0: ``auto_jobs``); one engine's result."""
    sizes = [_size(f) for f in files]
    if jobs == 0:
        jobs = auto_jobs(sum(sizes), len(files))
    runs = split(sizes, jobs if hasattr(os, "fork") else 1)
    workers: list[tuple[int, int]] = []
    # Frozen from before the forks to the end: a full collection in the main process would
    # write to every rule object's header and so copy the pages it shares with the workers.
    with frozen():
        try:
            for run in runs[1:]:
                try:
                    workers.append(_fork(ruleset, [files[i] for i in run]))
                except OSError:  # out of processes or memory: the rest are read here
                    break
            return _main_part(ruleset, files, runs, workers, report)
        finally:
            for pid, fd in workers:  # an error in the main process: no worker is left behind
                _stop(pid, fd)


def _main_part(
    ruleset: RuleSet,
    files: list[InputFile],
    runs: list[range],
    workers: list[tuple[int, int]],
    report: ReadReport,
) -> SigmaEngine:
    """The first run read here, then each worker's part merged in order (``workers`` emptied as
    they are collected, so ``run_files`` stops only the ones still running)."""
    engine = _engine_over(ruleset, [files[i] for i in runs[0]], report)
    for run in runs[1:]:
        started = workers.pop(0) if workers else None
        part, why = _collect(*started) if started is not None else (None, "it could not be started")
        if part is None:
            first, last = files[run[0]].display, files[run[-1]].display
            report.notes.append(
                f"the worker for {len(run)} files ({first} .. {last}) failed ({why}); "
                "they were read again in the main process"
            )
            part = _part_of(ruleset, [files[i] for i in run])
        merge(engine, report, part)
    return engine


def _engine_over(ruleset: RuleSet, files: list[InputFile], report: ReadReport) -> SigmaEngine:
    """A fresh engine that has read ``files`` (reducing them through its own database)."""
    engine = SigmaEngine(ruleset)
    engine.run(input_batches(files, report, con=engine.connection))
    return engine


def _part_of(ruleset: RuleSet, files: list[InputFile]) -> Part:
    """Run a fresh engine over ``files`` and keep what merging needs."""
    report = ReadReport()
    engine = _engine_over(ruleset, files, report)
    matches = {rid: (rm.count, rm.hosts, rm.keys) for rid, rm in engine.matches.items() if rm.count}
    return Part(engine.events_seen, report, list(engine.skipped), matches)


def _fork(ruleset: RuleSet, files: list[InputFile]) -> tuple[int, int]:
    """Start a worker over ``files``; its process id and the pipe its ``Part`` will come through."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # else the worker's copy of the buffer could be written twice
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        raise
    if pid == 0:  # pragma: no cover - the worker; its result is checked by the parent's tests
        os.close(r)
        _work(ruleset, files, w)
    os.close(w)
    return pid, r


def _work(ruleset: RuleSet, files: list[InputFile], fd: int) -> NoReturn:  # pragma: no cover - in a worker
    """The worker's whole life: read, evaluate, send the part, exit without running the parent's
    clean-up (``os._exit``: atexit handlers and buffers belong to the parent)."""
    # Ctrl-C reaches the whole process group: the main process stops its workers itself
    # (``run_files``), so a worker does not also print a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    code = 1
    try:
        data = pickle.dumps(_part_of(ruleset, files), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        code = 0
    except BaseException:  # every failure ends the worker; the parent reads its files again
        traceback.print_exc()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _collect(pid: int, fd: int) -> tuple[Part | None, str]:
    """A worker's part, or None and why not (its exit status, or a short message)."""
    with os.fdopen(fd, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:  # a worker exits 0 only after its whole part is written
        return None, f"exit status {code}" if code > 0 else f"signal {-code}"
    if not data:
        return None, "it sent nothing"
    part: Part = pickle.loads(data)  # written by our own forked worker, never by input
    return part, ""


def _stop(pid: int, fd: int) -> None:
    """End a worker whose part is no longer wanted and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    os.close(fd)
    os.waitpid(pid, 0)


def merge(engine: SigmaEngine, report: ReadReport, part: Part) -> None:
    """Add a part read after everything ``engine`` has seen, as if one engine had read both."""
    engine.events_seen += part.events_seen
    engine.skipped.extend(part.engine_skipped)
    report.extend(part.report)
    cap = engine.evidence_cap
    for rid, (count, hosts, keys) in part.matches.items():
        rm = engine.matches[rid]
        rm.count += count
        rm.keys.extend(keys)
        for name, hm in hosts.items():
            mine = rm.hosts.get(name)
            if mine is None:  # first matched in this part: after every host matched before
                rm.hosts[name] = hm
                continue
            mine.count += hm.count
            if hm.first is not None and (mine.first is None or hm.first < mine.first):
                mine.first = hm.first
            if hm.last is not None and (mine.last is None or hm.last > mine.last):
                mine.last = hm.last
            for ev in hm.events[: max(0, cap - len(mine.events))]:
                ev.matched = {}  # the fields that matched are shown on a host's first event only
                mine.events.append(ev)
