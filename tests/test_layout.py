"""The shape of the code base: modules and functions a reader can hold, imports that flow one way.

Module size counts lines; function size counts from ``def`` to its last line, nested functions
included. A table of constants may be exempted by name below, with the reason.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "bluebench"
MAX_MODULE_LINES = 900
MAX_FUNCTION_LINES = 100
#: "path relative to src/bluebench[:function]" -> why it may be longer (tables of constants only).
EXEMPT: dict[str, str] = {}
MODULES = sorted(SRC.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_size(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES or _name(path) in EXEMPT, f"{_name(path)}: {lines} lines"


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            key = f"{_name(path)}:{node.name}"
            if length > MAX_FUNCTION_LINES and key not in EXEMPT:
                out.append(f"{key} (line {node.lineno}): {length} lines")
    return out


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_function_size(path: Path) -> None:
    assert _long_functions(path) == []


def test_the_size_checks_see_a_long_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself: a 101-line function is found, nested or not."""
    body = "\n".join(f"        x{i} = {i}" for i in range(100))
    (tmp_path / "m.py").write_text(f"def outer():\n    def inner():\n{body}\n    return inner\n")
    monkeypatch.setattr("test_layout.SRC", tmp_path)
    found = _long_functions(tmp_path / "m.py")
    assert [f.split(" ")[0] for f in found] == ["m.py:outer", "m.py:inner"]


def test_import_contracts_are_kept() -> None:
    """The layers and no-cycle contracts of pyproject.toml ([tool.importlinter]), as `make lint` runs them."""
    lint = Path(sys.executable).parent / "lint-imports"
    root = SRC.parent.parent
    done = subprocess.run([str(lint)], cwd=root, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


MACHINE_ROOTS = re.compile(r'"/(?:home|work|root|Users|tmp|var|mnt|opt|srv)/')


def test_published_bench_results_name_no_path_of_a_machine() -> None:
    """Results are committed: a path of the machine that measured them would leak its layout."""
    results = SRC.parent.parent / "bench" / "results"
    leaks = [p.name for p in sorted(results.glob("*.json")) if MACHINE_ROOTS.search(p.read_text("utf-8"))]
    assert not leaks, f"absolute paths in {leaks}: write results through bench/common.py's public()"


def test_public_makes_this_machines_paths_relative() -> None:
    """The scrub every bench result goes through keeps URLs and relative paths as they are."""
    sys.path.insert(0, str(SRC.parent.parent / "bench"))
    try:
        from common import ROOT, public
    finally:
        sys.path.pop(0)
    shared = str(ROOT.parent / "shared" / "data" / "x.log")
    out = public({"a": [f"--data {shared} --n 3"], "u": "https://example.org/a/b", "r": "../shared/data"})
    assert out["a"] == ["--data ../shared/data/x.log --n 3"]
    assert out["u"] == "https://example.org/a/b" and out["r"] == "../shared/data"
    assert not MACHINE_ROOTS.search(json.dumps(out))
