"""The rules as numbers: what the cache keeps equals what the engine would derive, and fits only its rules."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from sigma_helpers import proc_rule, run, write_rule

from bluebench.sigma import compile_rules
from bluebench.sigma.cache import decode, encode, load_rules
from bluebench.sigma.index import AND, AtomTable, RuleIndex
from bluebench.sigma.ir import And, Atom, Not, atoms
from bluebench.sigma.plan import RulePlan

DATA = Path(__file__).resolve().parent.parent / "data" / "sigma"


def _as_data(index: RuleIndex) -> tuple[object, ...]:
    return (index.atoms.atoms, index.rule_ids, index.rule_atoms, index.clauses, index.programs, index.pieces)


def test_the_cached_index_is_the_one_the_rules_give(tmp_path: Path) -> None:
    load_rules([DATA / "rules"], cache_dir=tmp_path)
    warm = load_rules([DATA / "rules"], cache_dir=tmp_path)
    assert warm.from_cache and warm.index is not None and warm.index.fits(warm.rules)
    assert _as_data(warm.index) == _as_data(RuleIndex.build(warm.rules))
    assert len(warm.index.atoms.atoms) < sum(len(a) for a in warm.index.rule_atoms)  # shared atoms


def test_a_decoded_rule_shares_its_atoms_with_the_table() -> None:
    compiled = compile_rules([DATA / "rules"])
    back = decode(json.loads(json.dumps(encode(compiled))))
    assert back.index is not None
    table = {id(a) for a in back.index.atoms.atoms}

    assert all(id(a) in table for r in back.rules for a in atoms(r.node))


def test_a_filtered_rule_set_keeps_the_index_of_its_own_rules(tmp_path: Path) -> None:
    body = proc_rule("    sel:\n        Image|endswith: '\\\\a.exe'\n    condition: sel")
    (tmp_path / "r").mkdir()
    write_rule(tmp_path / "r", body, "high.yml")
    low_body = body.replace("0001", "0002").replace("level: high", "level: low").replace("a.exe", "b.exe")
    write_rule(tmp_path / "r", low_body, "low.yml")
    load_rules([tmp_path / "r"], cache_dir=tmp_path / "c")
    low = load_rules([tmp_path / "r"], levels=["low"], cache_dir=tmp_path / "c")
    assert low.from_cache and low.index is not None and low.index.fits(low.rules)
    eng = run(low, [{"Image": r"C:\a.exe"}, {"Image": r"C:\b.exe"}])
    assert [e.record for e in eng.matches[low.rules[0].id].events] == [2]


def test_an_index_of_other_rules_is_not_used() -> None:
    rs = compile_rules([DATA / "rules"])
    assert len(rs.rules) > 1
    stale = RuleIndex.build(list(reversed(rs.rules)))
    assert not stale.fits(rs.rules)
    plan = RulePlan(rs.rules, {}, stale)
    fresh = RuleIndex.build(rs.rules)
    assert (plan.atoms.atoms, plan.rule_atoms, plan.clauses, plan.programs) == (
        fresh.atoms.atoms,
        fresh.rule_atoms,
        fresh.clauses,
        fresh.programs,
    )


def test_like_pieces_are_numbered_with_the_rules() -> None:
    like, short = Atom("CommandLine", "like", "%abc%de%"), Atom("CommandLine", "like", "%ab%")
    index = RuleIndex.build([SimpleNamespace(id="r", node=And((like, Not(short))))])
    (k,) = index.pieces
    assert index.atoms.atoms[k] == like
    assert index.atoms.atoms[index.pieces[k]] == Atom("CommandLine", "contains", "abc")
    assert index.programs[0][0] == AND and len(index.atoms.atoms) == 3


def test_a_table_read_back_numbers_as_the_one_written() -> None:
    atoms_ = [Atom("F", "eq", "a"), Atom("F", "contains", "b")]
    table = AtomTable.of_distinct(list(atoms_))
    assert [table.number(a) for a in reversed(atoms_)] == [1, 0]
    assert table.number(Atom("G", "eq", "a")) == 2


def test_a_copied_table_grows_apart() -> None:
    table = AtomTable([Atom("F", "eq", "a")])
    other = table.copy()
    assert other.number(Atom("F", "contains", "b")) == 1
    assert len(table.atoms) == 1 and table.number(Atom("F", "eq", "a")) == 0
