"""The compiled-rule cache: a warm start equals a compile, a changed rule compiles again, bad entries are ignored."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sigma_helpers import proc_rule, run, write_rule

from bluebench.sigma import compile_rules
from bluebench.sigma import rules as rules_module
from bluebench.sigma.cache import CACHE_ENV, KEEP, cache_key, decode, default_cache_dir, encode, load_rules
from bluebench.sigma.rules import rule_files

DATA = Path(__file__).resolve().parent.parent / "data" / "sigma"


def _same(a: object, b: object) -> None:
    """Two rule sets hold equal rules, correlations and failures, in the same order."""
    assert a.rules == b.rules  # type: ignore[attr-defined]
    assert a.correlations == b.correlations  # type: ignore[attr-defined]
    assert a.failures == b.failures  # type: ignore[attr-defined]
    assert a.filtered == b.filtered  # type: ignore[attr-defined]


def test_a_warm_start_gives_what_a_compile_gives(tmp_path: Path) -> None:
    cold = load_rules([DATA / "rules"], cache_dir=tmp_path)
    warm = load_rules([DATA / "rules"], cache_dir=tmp_path)
    assert not cold.from_cache and warm.from_cache
    _same(warm, compile_rules([DATA / "rules"]))
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_the_json_layout_round_trips_every_rule_and_failure(tmp_path: Path) -> None:
    write_rule(tmp_path, "title: [unclosed\n", "bad.yml")
    compiled = rules_module.compile_files(list(rule_files([DATA / "rules", tmp_path])))
    assert compiled.failures and compiled.rules
    back = decode(json.loads(json.dumps(encode(compiled))))
    assert back == compiled


def test_a_changed_rule_compiles_again(tmp_path: Path) -> None:
    rules, cache = tmp_path / "rules", tmp_path / "cache"
    rules.mkdir()
    path = write_rule(rules, proc_rule("    sel:\n        Image|endswith: '\\a.exe'\n    condition: sel"))
    first = load_rules([rules], cache_dir=cache)
    assert run(first, [{"Image": r"C:\a.exe"}]).matches[first.rules[0].id].count == 1
    path.write_text(path.read_text().replace("a.exe", "b.exe"), encoding="utf-8")
    second = load_rules([rules], cache_dir=cache)
    assert not second.from_cache
    eng = run(second, [{"Image": r"C:\a.exe"}, {"Image": r"C:\b.exe"}])
    assert [e.record for e in eng.matches[second.rules[0].id].events] == [2]
    assert load_rules([rules], cache_dir=cache).from_cache


def test_the_key_follows_names_bytes_and_the_compiler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_rule(tmp_path, proc_rule("    sel:\n        Image: x\n    condition: sel"))
    key = cache_key([(path, "rule.yml")])
    assert key == cache_key([(path, "rule.yml")])
    assert key != cache_key([(path, "other name.yml")])
    assert cache_key([(tmp_path / "gone.yml", "gone.yml")]) is None
    monkeypatch.setattr("bluebench.sigma.cache.version", lambda _name: "99.0")
    assert key != cache_key([(path, "rule.yml")])


def test_filters_apply_after_the_cache(tmp_path: Path) -> None:
    body = proc_rule("    sel:\n        Image: x\n    condition: sel")
    (tmp_path / "r").mkdir()
    write_rule(tmp_path / "r", body, "high.yml")
    write_rule(tmp_path / "r", body.replace("0001", "0002").replace("level: high", "level: low"), "low.yml")
    everything = load_rules([tmp_path / "r"], cache_dir=tmp_path / "c")
    low = load_rules([tmp_path / "r"], levels=["low"], cache_dir=tmp_path / "c")
    assert low.from_cache
    assert [r.level for r in low.rules] == ["low"] and low.filtered == 1
    assert len(everything.rules) == 2


def test_an_unreadable_entry_is_compiled_again_and_replaced(tmp_path: Path) -> None:
    cold = load_rules([DATA / "rules"], cache_dir=tmp_path)
    (entry,) = tmp_path.glob("*.json")
    head = b'{"format": 2, "atoms": [], "failures": [], "correlations": [], "rules": [{"atom_ids": [], '
    deep = head + b'"clauses": [], "node": ' + b'["!", ' * 100_000
    deep += b'["c", true]' + b"]" * 100_000 + b"}]}"
    good = json.loads(entry.read_bytes())
    outside = json.loads(entry.read_bytes())
    outside["rules"][0]["clauses"] = [[len(good["atoms"])]]  # an atom id past the table's end
    piece = dict(good, pieces=[[0]])  # a LIKE piece without its atom
    bad_node = json.loads(entry.read_bytes())
    bad_node["rules"][0]["node"] = -1
    wrong = [json.dumps(x).encode() for x in (outside, piece, bad_node)]
    for broken in (b"{not json", b'{"format": 2, "rules": [["x"]]}', b'{"format": 1}', deep, *wrong):
        entry.write_bytes(broken)
        again = load_rules([DATA / "rules"], cache_dir=tmp_path)
        assert not again.from_cache
        _same(again, cold)
        assert load_rules([DATA / "rules"], cache_dir=tmp_path).from_cache


def test_old_entries_are_dropped(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    path = write_rule(rules, proc_rule("    sel:\n        Image: x0\n    condition: sel"))
    for i in range(KEEP + 3):
        path.write_text(proc_rule(f"    sel:\n        Image: x{i}\n    condition: sel"), encoding="utf-8")
        load_rules([rules], cache_dir=tmp_path / "c")
    assert len(list((tmp_path / "c").glob("*.json"))) == KEEP
    assert not list((tmp_path / "c").glob("*.tmp"))


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, "")
    assert default_cache_dir() is None
    assert not load_rules([DATA / "rules"]).from_cache
    assert not load_rules([DATA / "rules"]).from_cache
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert default_cache_dir() == tmp_path / "sigma"
    assert not load_rules([DATA / "rules"], cache=False).from_cache
    assert not list(tmp_path.rglob("*.json"))


def test_a_warm_start_does_not_import_pysigma(tmp_path: Path) -> None:
    load_rules([DATA / "rules"], cache_dir=tmp_path)
    code = (
        "import sys; from bluebench.sigma.cache import load_rules; from pathlib import Path; "
        f"rs = load_rules([{str(DATA / 'rules')!r}], cache_dir=Path({str(tmp_path)!r})); "
        "print(rs.from_cache, len(rs.rules), any(m == 'sigma' or m.startswith('sigma.') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "True" and int(out[1]) > 0
    assert out[2] == "False"


def test_reading_an_entry_leaves_the_collector_as_it_was(tmp_path: Path) -> None:
    load_rules([DATA / "rules"], cache_dir=tmp_path)
    assert load_rules([DATA / "rules"], cache_dir=tmp_path).from_cache and gc.isenabled()
    (entry,) = tmp_path.glob("*.json")
    entry.write_bytes(b'{"format": 2, "rules": [["x"]]}')  # a failed read restores it too
    assert not load_rules([DATA / "rules"], cache_dir=tmp_path).from_cache and gc.isenabled()
    gc.disable()
    try:
        assert load_rules([DATA / "rules"], cache_dir=tmp_path).from_cache
        assert not gc.isenabled()
    finally:
        gc.enable()
