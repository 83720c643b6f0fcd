"""Engine stage 3: rule programs over candidate rows, and what the recorder keeps of matches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sigma_helpers import T0, batch, proc_rule, write_rule

from bluebench.sigma import compile_rules
from bluebench.sigma.extract import FieldReader
from bluebench.sigma.index import AtomTable, program
from bluebench.sigma.ir import And, Atom, Const, Not, Or
from bluebench.sigma.match import MatchRecorder, epoch_seconds, evaluate

A, B = Atom("F", "eq", "a"), Atom("F", "eq", "b")


def test_programs_follow_the_boolean_ir_over_all_or_candidate_rows() -> None:
    table = AtomTable()
    truth = {
        table.number(A): np.array([True, True, False, False]),
        table.number(B): np.array([True, False, True, False]),
    }

    def atom_at(k: int, r: np.ndarray[Any, Any] | None) -> np.ndarray[Any, Any]:
        return truth[k] if r is None else truth[k][r]

    assert evaluate(program(And((A, Not(B))), table.number), None, 4, atom_at).tolist() == [
        False,
        True,
        False,
        False,
    ]
    assert evaluate(program(Or((B, Const(False))), table.number), None, 4, atom_at).tolist() == [
        True,
        False,
        True,
        False,
    ]
    assert evaluate(program(And((A, B)), table.number), np.array([0, 1]), 2, atom_at).tolist() == [
        True,
        False,
    ]


def test_an_and_stops_asking_once_all_rows_are_false() -> None:
    table = AtomTable()
    asked: list[int] = []

    def atom_at(k: int, r: np.ndarray[Any, Any] | None) -> np.ndarray[Any, Any]:
        asked.append(k)
        return np.zeros(3, dtype=bool)

    assert not evaluate(program(And((A, B)), table.number), None, 3, atom_at).any()
    assert asked == [table.number(A)]


def test_epoch_seconds_reads_naive_times_as_utc() -> None:
    assert epoch_seconds(datetime(1970, 1, 2)) == 86400.0
    assert epoch_seconds(datetime(1970, 1, 2, tzinfo=UTC)) == 86400.0
    assert epoch_seconds(None) == 0.0


def test_recorder_keeps_exact_counts_and_capped_evidence_in_input_order(tmp_path: Path) -> None:
    rs = compile_rules(
        [write_rule(tmp_path, proc_rule("    sel:\n        Image|startswith: 'x'\n    condition: sel"))]
    )
    rule = rs.rules[0]
    b = batch([{"Image": "x1"}, {"Image": "x2", "_host": "pc2"}, {"Image": "x3"}, {"Image": "x4"}])
    reader = FieldReader(threads=1)
    rec = MatchRecorder(rs.rules, evidence_cap=2, corr_fields={})
    rec.begin(b)
    # Two cells of one batch, the later rows recorded first: evidence still follows the input.
    for rows in (np.array([2, 3]), np.array([0, 1])):
        rec.record(rule, b, rows, np.array([0, 1]), reader.columns(b, rows, ["Image"]))
    rec.flush()
    rm = rec.matches[rule.id]
    assert rm.count == 4
    assert list(rm.hosts) == ["pc1", "pc2"]
    pc1 = rm.hosts["pc1"]
    assert (pc1.count, pc1.first, pc1.last) == (3, T0, T0 + timedelta(seconds=3))
    assert [(e.record, e.matched) for e in pc1.events] == [(1, {"Image": "x1"}), (3, {})]
    assert [(e.record, e.host, e.matched) for e in rm.hosts["pc2"].events] == [(2, "pc2", {"Image": "x2"})]
