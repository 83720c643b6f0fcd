"""Compiled Sigma rules kept on disk, so that a second run starts without pySigma.

Compiling SigmaHQ's Windows rules takes seconds (YAML, pySigma's parse and pipeline) and
its result is plain data. The key hashes everything that result depends on: each rule
file's name and bytes, the pySigma version, and the source of the modules that compile
(the processing pipeline among them), so a changed rule, another pySigma or an edited
compiler each compile again. An entry is JSON, read as data and never executed; one that
cannot be read is compiled again and rewritten.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bluebench.diskcache import CACHE_ENV as CACHE_ENV  # the same variable for every cache
from bluebench.diskcache import cache_dir, keep_recent, mark_used, write_atomic
from bluebench.errors import ConfigError
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
CACHE_FORMAT = 1
#: The modules whose code decides what a rule compiles to.
COMPILER_MODULES = ("rules.py", "ir.py", "convert.py", "pipeline.py", "cache.py")
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
        data = json.loads(entry.read_bytes())
        return decode(data)
    except (OSError, ValueError, TypeError, KeyError, IndexError, RecursionError):
        return None


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
    """A compiled rule set as JSON-ready data."""
    return {
        "format": CACHE_FORMAT,
        "rules": [_rule(r) for r in compiled.rules],
        "correlations": [vars(c) for c in compiled.correlations],
        "failures": [vars(f) for f in compiled.failures],
    }


def decode(data: dict[str, Any]) -> Compiled:
    """``encode``'s output back to the same objects; raises on anything else."""
    if data.get("format") != CACHE_FORMAT:
        raise ValueError("another cache format")
    return Compiled(
        rules=[_unrule(r) for r in data["rules"]],
        correlations=[CompiledCorrelation(**c) for c in data["correlations"]],
        failures=[RuleFailure(**f) for f in data["failures"]],
    )


def _rule(r: CompiledRule) -> dict[str, Any]:
    d = dict(vars(r))
    d["node"] = _node(r.node)
    d["channels"] = sorted(r.channels) if r.channels is not None else None
    d["codes"] = sorted(r.codes) if r.codes is not None else None
    return d


def _unrule(d: dict[str, Any]) -> CompiledRule:
    d = dict(d)
    d["node"] = _unnode(d["node"])
    d["channels"] = frozenset(d["channels"]) if d["channels"] is not None else None
    d["codes"] = frozenset(d["codes"]) if d["codes"] is not None else None
    d["logsource"] = tuple(d["logsource"])
    return CompiledRule(**d)


def _node(n: Node) -> list[Any]:
    """A node as a tagged list: ["a", field, op, value, cased], ["&", [...]], ["|", [...]], ["!", x], ["c", b]."""
    if isinstance(n, Atom):
        return ["a", n.field, n.op, n.value, n.cased]
    if isinstance(n, And):
        return ["&", [_node(a) for a in n.args]]
    if isinstance(n, Or):
        return ["|", [_node(a) for a in n.args]]
    if isinstance(n, Not):
        return ["!", _node(n.arg)]
    return ["c", n.value]


def _unnode(x: list[Any]) -> Node:
    tag = x[0]
    if tag == "a":
        return Atom(str(x[1]), str(x[2]), str(x[3]), bool(x[4]))
    if tag == "&":
        return And(tuple(_unnode(a) for a in x[1]))
    if tag == "|":
        return Or(tuple(_unnode(a) for a in x[1]))
    if tag == "!":
        return Not(_unnode(x[1]))
    if tag == "c":
        return Const(bool(x[1]))
    raise ValueError(f"unknown node tag {tag!r}")
