"""The engine's result does not depend on how the input is cut into batches.

Counts, times, evidence (the first events per host, in input order) and correlation keys
must be the same for one row per batch, a few rows per batch and one batch of everything:
the batch size is a speed/memory knob, never a change in detections.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sigma_helpers import T0, batch, proc_rule, write_rule

from bluebench.sigma import RuleSet, SigmaEngine, compile_rules
from bluebench.sigma.source import file_batches

DATA = Path(__file__).parents[1] / "data" / "sigma"
SECURITY = "Security"

# process_creation reads Sysmon 1 and Security 4688: two cells of one batch feed one rule.
DETECTION = """    sel:
        Image|endswith: '\\evil.exe'
    filter:
        CommandLine|contains: 'harmless'
    condition: sel and not filter
"""


def summary(eng: SigmaEngine) -> dict[str, Any]:
    """Everything a user sees of the matches: counts, times, evidence records and fields, keys."""
    out: dict[str, Any] = {}
    for rid, rm in eng.matches.items():
        if not rm.count:
            continue
        out[rid] = (
            rm.count,
            {
                h: (hm.count, hm.first, hm.last, [(e.file, e.record, e.host, e.matched) for e in hm.events])
                for h, hm in rm.hosts.items()
            },
            list(rm.keys),
            list(rm.hosts),  # hosts in the order they first matched: the order of the alerts
        )
    return out


def run_in_batches(rs: RuleSet, table: pa.Table, size: int, cap: int) -> dict[str, Any]:
    eng = SigmaEngine(rs, evidence_cap=cap)
    for lo in range(0, table.num_rows, size):
        eng.process(table.slice(lo, size))
    return summary(eng)


def event(i: int, image: str, security: bool, host: int, cmd: str = "x") -> dict[str, Any]:
    e: dict[str, Any] = {"_host": f"pc{host}", "_ts": T0 + timedelta(seconds=i), "CommandLine": cmd}
    if security:  # Security 4688 names the image NewProcessName (an alias of Image)
        return {**e, "NewProcessName": image, "_code": "4688", "_channel": SECURITY}
    return {**e, "Image": image}


def test_interleaved_cells_keep_input_order(tmp_path: Path) -> None:
    rs = compile_rules([write_rule(tmp_path, proc_rule(DETECTION))])
    # Security rows come first in the input, Sysmon rows later: evidence must follow the input.
    evs = [event(i, "C:\\x\\evil.exe", security=i % 3 == 0, host=i % 2) for i in range(40)]
    evs[5]["CommandLine"] = "harmless"
    table = batch(evs)
    want = run_in_batches(rs, table, 1, cap=3)
    for size in (2, 7, table.num_rows):
        assert run_in_batches(rs, table, size, cap=3) == want, size
    (rid,) = want
    count, hosts, _, order = want[rid]
    assert count == 39
    assert order == ["pc0", "pc1"]
    # The first three matching rows of each host, in input order, whatever the cell.
    assert [r for _, r, _, _ in hosts["pc0"][3]] == [1, 3, 5]
    assert [r for _, r, _, _ in hosts["pc1"][3]] == [2, 4, 8]


def test_shipped_regression_evtx_same_for_any_batch_size() -> None:
    rs = compile_rules([DATA / "rules"])
    table = pa.concat_tables(list(file_batches([str(DATA / "regression")])))
    want = run_in_batches(rs, table, table.num_rows, cap=2)
    assert want  # the shipped rules match their EVTX
    for size in (1, 5):
        assert run_in_batches(rs, table, size, cap=2) == want, size


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["C:\\x\\evil.exe", "C:\\y\\EVIL.EXE", "C:\\x\\good.exe"]),
            st.booleans(),
            st.integers(0, 2),
            st.sampled_from(["x", "harmless run", "y"]),
        ),
        min_size=1,
        max_size=40,
    ),
    size=st.integers(1, 9),
)
def test_any_batch_size_gives_the_same_matches(
    tmp_path: Path, rows: list[tuple[str, bool, int, str]], size: int
) -> None:
    rs = compile_rules([write_rule(tmp_path, proc_rule(DETECTION))])
    table = batch([event(i, img, sec, host, cmd) for i, (img, sec, host, cmd) in enumerate(rows)])
    assert run_in_batches(rs, table, size, cap=2) == run_in_batches(rs, table, table.num_rows, cap=2)


def test_reading_through_the_engines_database_changes_nothing() -> None:
    rs = compile_rules([DATA / "rules"])
    paths = [str(DATA / "regression")]
    own = pa.concat_tables(list(file_batches(paths)))
    eng = SigmaEngine(rs, evidence_cap=2)
    # Batches reduced on the engine's database, interleaved with its own field reads.
    eng.run(file_batches(paths, con=eng.connection), batch_rows=1)
    assert pa.concat_tables(list(file_batches(paths, con=eng.connection))).equals(own)
    assert summary(eng) == run_in_batches(rs, own, own.num_rows, cap=2)
    assert eng.events_seen == own.num_rows > 0
