"""Engine stage 2: pruning clauses, field plans, and which rules and rows a cell's atoms leave."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from sigma_helpers import SYSMON, batch, proc_rule, write_rule

from bluebench.sigma import compile_rules
from bluebench.sigma.extract import FieldReader, own_values
from bluebench.sigma.index import AtomTable, clauses
from bluebench.sigma.ir import And, Atom, Not, Or
from bluebench.sigma.plan import CellHits, RulePlan, _automaton_hits, _literal_hits, field_plan


def test_clauses_come_from_the_top_level_and() -> None:
    a, b, c, d = (Atom("F", "contains", x) for x in "abcd")
    assert clauses(And((a, Or((b, c)), Not(d)))) == [[a], [b, c]]
    # Inside an OR, an AND gives its smallest clause; a NOT or a null test gives none.
    assert clauses(Or((a, And((b, Or((c, d))))))) == [[a, b]]
    assert clauses(Or((a, Not(b)))) == []
    assert clauses(Atom("F", "null")) == []


def test_atom_table_numbers_each_atom_once() -> None:
    table = AtomTable()
    a, b = Atom("F", "eq", "a"), Atom("F", "eq", "b")
    assert [table.number(a), table.number(b), table.number(Atom("F", "eq", "a"))] == [0, 1, 0]
    assert table.atoms == [a, b]


def test_field_plan_splits_equality_literals_and_the_rest() -> None:
    table = AtomTable()
    atoms = [
        Atom("Image", "endswith", "\\evil.exe"),
        Atom("Image", "eq", "c:\\x.exe"),
        Atom("Image", "like", "%powershell%.ps1"),
        Atom("Image", "re", "ab+"),
    ]
    ids = [table.number(a) for a in atoms]
    plan = field_plan(list(zip(ids, atoms, strict=True)), table.number)
    assert plan.eq_keys == {"c:\\x.exe": [ids[1]]}
    assert [k for k, _ in plan.other] == [ids[2], ids[3]]
    # The LIKE's longest literal piece becomes an automaton key, so the LIKE kernel sees only
    # the values that hold it.
    assert table.atoms[plan.like_pre[ids[2]]] == Atom("Image", "contains", "powershell")
    assert plan.keys == ["\\evil.exe", "powershell"]


def test_cell_hits_skip_rules_that_cannot_match_and_give_candidate_rows(tmp_path: Path) -> None:
    evil = proc_rule(
        "    sel:\n        Image|endswith: '\\evil.exe'\n    condition: sel",
        "a" * 8 + "-0000-0000-0000-" + "0" * 12,
    )
    absent = proc_rule(
        "    sel:\n        CommandLine|contains: 'nothere'\n    condition: sel",
        "b" * 8 + "-0000-0000-0000-" + "0" * 12,
    )
    rs = compile_rules([write_rule(tmp_path, evil, "a.yml"), write_rule(tmp_path, absent, "b.yml")])
    assert not rs.failures, rs.failures
    plan = RulePlan(rs.rules, rs.correlation_fields())
    cell = plan.cell(SYSMON.lower(), "1")
    assert sorted(cell.rules) == [0, 1]
    assert plan.cell(SYSMON.lower(), "1") is cell  # planned once per (channel, event id)
    assert plan.cell("security", "4624").rules == []
    b = batch([{"Image": "C:\\evil.exe"}, {"Image": "C:\\good.exe"}, {"Image": "D:\\EVIL.exe"}])
    cols = FieldReader(threads=1).columns(b, np.arange(3), cell.fields)
    hits = CellHits(cell, cols, plan.atoms.atoms)
    i = next(j for j, r in enumerate(rs.rules) if r.id.startswith("a"))
    assert hits.alive(cell).tolist() == [i]
    cand = hits.candidates(plan.clauses[i])
    assert cand is not None and cand.tolist() == [0, 2]


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.text(alphabet="abcKkSsſİi:\\ é.-", max_size=30) | st.none(), max_size=30),
    keys=st.lists(st.text(alphabet="abcksſi:\\ é.-", min_size=3, max_size=5), min_size=1, max_size=6),
)
def test_the_prefilter_leaves_out_only_values_holding_no_key(
    texts: list[str | None], keys: list[str]
) -> None:
    """With RE2's prefilter, the automaton finds on long values what it finds on every value."""
    keys = [k.lower() for k in keys if len(k.lower()) >= 3]
    if not keys:
        return
    plan = field_plan([(i, Atom("f", "contains", k)) for i, k in enumerate(keys)], lambda a: 0)
    assert plan.prefilter is not None
    col = own_values(pa.array(texts, pa.string()))
    want = _automaton_hits(plan, col.lower)
    got = _literal_hits(plan, col, min_bytes=0)
    assert {tuple(map(int, hit)) for hit in zip(*want, strict=True)} == {
        tuple(map(int, hit)) for hit in zip(*got, strict=True)
    }
