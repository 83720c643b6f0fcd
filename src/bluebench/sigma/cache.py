"""Compiled Sigma rules kept on disk, so that a second run starts without pySigma.

Compiling SigmaHQ's Windows rules takes seconds (YAML, pySigma's parse and pipeline) and
its result is plain data. The key hashes everything that result depends on: each rule
file's name and bytes, the pySigma version, and the source of the modules that compile
(the processing pipeline among them), so a changed rule, another pySigma or an edited
compiler each compile again. An entry is JSON, read as data and never executed; one that
cannot be read is compiled again and rewritten. Beside the rules it keeps what the engine derives
from them before reading an event (``index``: atoms numbered, clauses and programs as ids), so a
warm start reads int lists instead of hashing every atom again.
"""

from __future__ import annotations

import gc
import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bluebench.diskcache import CACHE_ENV as CACHE_ENV  # the same variable for every cache
from bluebench.diskcache import cache_dir, keep_recent, mark_used, write_atomic
from bluebench.errors import ConfigError
from bluebench.sigma.index import AND, ATOM, CONST, NOT, OR, AtomTable, Program, RuleIndex
from bluebench.sigma.ir import And, Atom, Const, Node, Not, Or
from bluebench.sigma.rules import (
    Compiled,
    CompiledCorrelation,
    CompiledRule,
    RuleFailure,
    RuleSet,
    compile_files,
    rule_files,
    select,
)

if TYPE_CHECKING:
    from sigma.processing.pipeline import ProcessingPipeline

#: Bumped when the layout of an entry changes (the compiler's own source is hashed anyway).
CACHE_FORMAT = 2
#: The modules whose code decides what a rule compiles to (and ``index``, what the engine derives).
COMPILER_MODULES = ("rules.py", "ir.py", "convert.py", "pipeline.py", "index.py", "cache.py")
#: Entries kept in the folder, the most recently used first (each rule-set edit makes one).
KEEP = 8


def default_cache_dir() -> Path | None:
    """$BLUEBENCH_CACHE_DIR/sigma, else the user's cache folder; None when turned off."""
    return cache_dir("sigma")


def cache_key(files: Iterable[tuple[Path, str]]) -> str | None:
    """SHA-256 of the rule files (names and bytes), pySigma's version and the compiler; None if unreadable."""
    h = hashlib.sha256()
    try:
        pysigma = version("pysigma")
    except PackageNotFoundError:
        pysigma = "unknown"
    h.update(f"format {CACHE_FORMAT}\npysigma {pysigma}\n".encode())
    here = Path(__file__).parent
    try:
        for name in COMPILER_MODULES:
            h.update(name.encode() + b"\0" + hashlib.sha256((here / name).read_bytes()).digest())
        for path, display in files:
            h.update(display.encode("utf-8", "surrogateescape") + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    except OSError:  # an unreadable file compiles to a failure that names it; not worth keeping
        return None
    return h.hexdigest()


def compiled_rules(
    files: list[tuple[Path, str]], cache_dir: Path | None, pipeline: ProcessingPipeline | None = None
) -> tuple[Compiled, bool]:
    """The files compiled, from the cache when an entry matches; (compiled, whether it came from the cache).

    A pipeline other than the default is compiled every time: its effect is not in the key.
    """
    key = cache_key(files) if cache_dir is not None and pipeline is None else None
    entry = cache_dir / f"{key}.json" if cache_dir is not None and key is not None else None
    if entry is not None:
        found = _read(entry)
        if found is not None:
            mark_used(entry)
            return found, True
    compiled = compile_files(files, pipeline)
    compiled.index = RuleIndex.build(compiled.rules)  # this run's engine uses it too
    if entry is not None:
        _write(entry, compiled)
    return compiled, False


def load_rules(
    paths: Iterable[str | Path],
    status: Iterable[str] | None = None,
    levels: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
    *,
    cache: bool = True,
    cache_dir: Path | None = None,
) -> RuleSet:
    """Compile rules the user named (through the cache); a missing path is a usage error, a bad rule a failure."""
    paths = list(paths)
    for p in paths:
        if not Path(p).exists():
            raise ConfigError(f"{p}: no such rule file or folder")
    folder = (cache_dir or default_cache_dir()) if cache else None
    compiled, hit = compiled_rules(list(rule_files(paths)), folder)
    out = select(compiled, status=status, levels=levels, tags=tags)
    out.from_cache = hit
    return out


# ------------------------------------------------------------ entry files ----


def _read(entry: Path) -> Compiled | None:
    try:
        with _no_collection():
            return decode(json.loads(entry.read_bytes()))
    except (OSError, ValueError, TypeError, KeyError, IndexError, RecursionError):
        return None


@contextmanager
def _no_collection() -> Iterator[None]:
    """The cyclic GC paused while an entry is read back.

    Every object made is kept (rules, atoms, programs: no cycle to find), but the hundreds of
    thousands of them set off collections that walk them all again: more than half the read.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _write(entry: Path, compiled: Compiled) -> None:
    """Write atomically (a reader never sees half an entry), then drop the least recently used."""
    data = json.dumps(encode(compiled), separators=(",", ":"))
    try:
        write_atomic(entry, lambda p: p.write_text(data, encoding="utf-8"))
        keep_recent(entry.parent, ".json", KEEP)
    except OSError:  # a cache that cannot be written only costs the next run its compile
        return


# ------------------------------------------------------------ JSON layout ----


def encode(compiled: Compiled) -> dict[str, Any]:
    """A compiled rule set as JSON-ready data: each distinct atom once, rules pointing at them by id."""
    index = compiled.index
    if index is None or not index.fits(compiled.rules):
        index = RuleIndex.build(compiled.rules)
    number = index.atoms.number  # every atom of the rules is in the table already
    rules = [_rule(r, number, index.rule_atoms[i], index.clauses[i]) for i, r in enumerate(compiled.rules)]
    return {
        "format": CACHE_FORMAT,
        "atoms": [[a.field, a.op, a.value, a.cased] for a in index.atoms.atoms],
        "rules": rules,
        "pieces": sorted(index.pieces.items()),
        "correlations": [vars(c) for c in compiled.correlations],
        "failures": [vars(f) for f in compiled.failures],
    }


def decode(data: dict[str, Any]) -> Compiled:
    """``encode``'s output back to the same objects, with the rule index; raises on anything else."""
    if data.get("format") != CACHE_FORMAT:
        raise ValueError("another cache format")
    # Field names and operators repeat across thousands of atoms: one string object each.
    atoms = [Atom(sys.intern(str(f)), sys.intern(str(o)), str(v), bool(c)) for f, o, v, c in data["atoms"]]
    # One int object per atom id: JSON gives each occurrence its own (some 100,000 of them).
    shared = list(range(len(atoms)))
    rules: list[CompiledRule] = []
    rule_atoms: list[list[int]] = []
    rule_clauses: list[list[list[int]]] = []
    programs: list[Program] = []
    for d in data["rules"]:
        rule, prog = _unrule(d, atoms, shared)
        rule_atoms.append(_ids(d["atom_ids"], shared))
        rule_clauses.append([_ids(cl, shared) for cl in d["clauses"]])
        rules.append(rule)
        programs.append(prog)
    return Compiled(
        rules=rules,
        correlations=[CompiledCorrelation(**c) for c in data["correlations"]],
        failures=[RuleFailure(**f) for f in data["failures"]],
        index=RuleIndex(
            AtomTable.of_distinct(atoms),
            [r.id for r in rules],
            rule_atoms,
            rule_clauses,
            programs,
            {k: p for k, p in (_ids(pair, shared) for pair in data["pieces"])},
        ),
    )


def _ids(x: list[Any], shared: list[int]) -> list[int]:
    """A list of atom ids, checked, as the shared int objects: an id outside the table is not used."""
    n = len(shared)
    return [shared[k] if type(k) is int and 0 <= k < n else _outside() for k in x]


def _outside() -> int:
    raise ValueError("an atom id outside the table")


def _rule(
    r: CompiledRule, number: Callable[[Atom], int], atom_ids: list[int], rule_clauses: list[list[int]]
) -> dict[str, Any]:
    d = dict(vars(r))
    d["node"] = _node(r.node, number)
    d["channels"] = sorted(r.channels) if r.channels is not None else None
    d["codes"] = sorted(r.codes) if r.codes is not None else None
    d["atom_ids"] = atom_ids
    d["clauses"] = rule_clauses
    return d


def _unrule(d: dict[str, Any], atoms: list[Atom], shared: list[int]) -> tuple[CompiledRule, Program]:
    d = dict(d)
    del d["atom_ids"], d["clauses"]
    d["node"], prog = _unnode(d["node"], atoms, shared)
    d["channels"] = frozenset(d["channels"]) if d["channels"] is not None else None
    d["codes"] = frozenset(d["codes"]) if d["codes"] is not None else None
    d["logsource"] = tuple(d["logsource"])
    return CompiledRule(**d), prog


def _node(n: Node, number: Callable[[Atom], int]) -> Any:
    """A node as an atom id or a tagged list: ["&", [...]], ["|", [...]], ["!", x], ["c", b]."""
    if isinstance(n, Atom):
        return number(n)
    if isinstance(n, And):
        return ["&", [_node(a, number) for a in n.args]]
    if isinstance(n, Or):
        return ["|", [_node(a, number) for a in n.args]]
    if isinstance(n, Not):
        return ["!", _node(n.arg, number)]
    return ["c", n.value]


def _unnode(x: Any, atoms: list[Atom], shared: list[int]) -> tuple[Node, Program]:
    """A node back, with its program (``index.program``'s form) made in the same walk."""
    if type(x) is int:
        if not 0 <= x < len(atoms):
            raise ValueError("an atom id outside the table")
        return atoms[x], (ATOM, shared[x])
    tag = x[0]
    if tag == "&" or tag == "|":
        parts = [_unnode(a, atoms, shared) for a in x[1]]
        args = tuple(p[0] for p in parts)
        progs = tuple(p[1] for p in parts)
        return (And(args), (AND, progs)) if tag == "&" else (Or(args), (OR, progs))
    if tag == "!":
        node, prog = _unnode(x[1], atoms, shared)
        return Not(node), (NOT, prog)
    if tag == "c":
        return Const(bool(x[1])), (CONST, bool(x[1]))
    raise ValueError(f"unknown node tag {tag!r}")
