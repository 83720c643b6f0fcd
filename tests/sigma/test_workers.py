"""Sigma over files in several processes gives exactly what one process gives.

Counts, time spans, evidence (the first events per host in input order, matched fields on
the first one), host order, correlation keys and alerts must not depend on ``jobs``; a worker
that fails is read again in the main process and the report says so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_batch_invariance import summary
from test_correlation import BASE, corr

from bluebench.datagen import generate
from bluebench.schema import Alert
from bluebench.sigma import ReadReport, compile_rules, detect_files, workers
from bluebench.sigma.workers import auto_jobs, split

DATA = Path(__file__).parents[1] / "data" / "sigma"

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="workers are forked")


def _alerts(paths: list[str], rules: list[Path], jobs: int) -> tuple[dict[str, Any], list[Alert], ReadReport]:
    report = ReadReport()
    engine, alerts = detect_files(paths, compile_rules(rules), report, jobs)
    got = summary(engine)
    got["events"] = engine.events_seen
    return got, alerts, report


@pytest.fixture(scope="module")
def logons(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[Path]]:
    """Six days of generated Windows logons (one file a day, the same hosts every day) and
    rules whose evidence and correlation keys span the files."""
    tmp = tmp_path_factory.mktemp("workers")
    generate(tmp / "gen", 3000, seed=3, days=6, linux_share=0.0)
    rule = tmp / "logons.yml"
    rule.write_text(BASE + corr("event_count", "        gte: 3", timespan="10m"), encoding="utf-8")
    return [str(tmp / "gen" / "windows")], [rule]


@needs_fork
@pytest.mark.parametrize("jobs", [2, 3, 6])
def test_jobs_give_the_one_process_result(logons: tuple[list[str], list[Path]], jobs: int) -> None:
    paths, rules = logons
    want, want_alerts, want_report = _alerts(paths, rules, 1)
    got, got_alerts, report = _alerts(paths, rules, jobs)
    assert got == want
    assert got_alerts == want_alerts
    assert report.files == want_report.files == 6
    assert not report.notes
    count, hosts, keys, _ = want["10000000-0000-0000-0000-000000000001"]  # failed logons, every day
    assert count > 100 and len(keys) == count  # a correlation key per match, across all six files
    assert sum(h[0] for h in hosts.values()) == count


@needs_fork
def test_shipped_evtx_same_in_any_number_of_processes() -> None:
    paths, rules = [str(DATA / "regression")], [DATA / "rules"]
    want, want_alerts, _ = _alerts(paths, rules, 1)
    assert want["events"] > 0 and len(want) > 1  # the shipped rules match their EVTX
    for jobs in (2, 5):
        got, got_alerts, _ = _alerts(paths, rules, jobs)
        assert (got, got_alerts) == (want, want_alerts), jobs


@needs_fork
def test_a_failed_worker_is_read_again_and_named(
    logons: tuple[list[str], list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, rules = logons
    want, want_alerts, _ = _alerts(paths, rules, 1)
    main = os.getpid()
    real = workers._part_of

    def dies_in_a_worker(*args: Any) -> workers.Part:
        if os.getpid() != main:
            os._exit(3)
        return real(*args)

    monkeypatch.setattr(workers, "_part_of", dies_in_a_worker)
    got, got_alerts, report = _alerts(paths, rules, 3)
    assert (got, got_alerts) == (want, want_alerts)
    assert len(report.notes) == 2
    assert all("failed (exit status 3)" in n and "read again in the main process" in n for n in report.notes)
    assert "winlogbeat-2025-03-05.ndjson" in report.notes[0]  # the files it had are named


@given(st.lists(st.integers(0, 10**9), max_size=40), st.integers(1, 12))
def test_split_covers_every_file_once_in_order(sizes: list[int], n: int) -> None:
    runs = split(sizes, n)
    assert [i for r in runs for i in r] == list(range(len(sizes)))
    if sizes:
        assert all(len(r) for r in runs)
        biggest = max(sizes)
        share = sum(sizes) / min(n, len(sizes))
        assert all(sum(sizes[i] for i in r) <= share + biggest for r in runs)


@given(st.integers(1, 60), st.integers(1, 12), st.integers(0, 10**6))
def test_equal_files_give_every_process_a_run_of_near_equal_length(files: int, n: int, size: int) -> None:
    runs = split([size] * files, n)
    assert len(runs) == min(n, files)  # no process is left idle while files remain
    assert max(map(len, runs)) - min(map(len, runs)) <= 1


def test_split_halves_equal_files() -> None:
    assert split([10] * 8, 2) == [range(4), range(4, 8)]
    assert split([10] * 3, 8) == [range(1), range(1, 2), range(2, 3)]


def test_auto_jobs_one_for_small_inputs_and_bounded_by_cores_and_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    big = workers.MIN_PARALLEL_BYTES
    assert auto_jobs(big - 1, 100) == 1
    assert auto_jobs(big, 1) == 1
    monkeypatch.setattr(workers, "_cores", lambda: 8)
    monkeypatch.setattr(workers, "_available_bytes", lambda: 3 * workers.WORKER_BYTES)
    if hasattr(os, "fork"):
        assert auto_jobs(big, 100) == 3
        assert auto_jobs(big, 2) == 2
    monkeypatch.setattr(workers, "_available_bytes", lambda: None)  # unknown: no worker
    assert auto_jobs(big, 100) == 1


def test_available_memory_is_the_smaller_of_the_machine_and_the_cgroup(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 8000000 kB\nMemAvailable:    4000000 kB\n", encoding="ascii")
    group = tmp_path / "cgroup"
    group.mkdir()
    assert workers._available_bytes(meminfo, group) == 4_000_000 * 1024  # no cgroup files: the machine's
    (group / "memory.max").write_text("max\n", encoding="ascii")
    (group / "memory.current").write_text("100\n", encoding="ascii")
    assert workers._available_bytes(meminfo, group) == 4_000_000 * 1024  # no limit
    (group / "memory.max").write_text(f"{600 * 2**20}\n", encoding="ascii")
    (group / "memory.current").write_text(f"{200 * 2**20}\n", encoding="ascii")
    assert workers._available_bytes(meminfo, group) == 400 * 2**20  # the container's limit is lower
    assert workers._available_bytes(tmp_path / "none", group) == 400 * 2**20
    assert workers._available_bytes(tmp_path / "none", tmp_path / "none") is None


@needs_fork
def test_an_error_in_the_main_process_leaves_no_worker_behind(
    logons: tuple[list[str], list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, rules = logons
    main = os.getpid()
    real = workers.input_batches

    def fails_in_the_main_process(*args: Any, **kwargs: Any) -> Any:
        if os.getpid() == main:
            raise RuntimeError("disk gone")
        return real(*args, **kwargs)

    started: list[int] = []
    fork = workers._fork

    def recorded(*args: Any) -> tuple[int, int]:
        pid, fd = fork(*args)
        started.append(pid)
        return pid, fd

    monkeypatch.setattr(workers, "input_batches", fails_in_the_main_process)
    monkeypatch.setattr(workers, "_fork", recorded)
    with pytest.raises(RuntimeError, match="disk gone"):
        detect_files(paths, compile_rules(rules), ReadReport(), 3)
    assert len(started) == 2
    for pid in started:  # each worker was stopped and reaped: no such child is left
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
