"""Starting the CLI loads no stage it does not run: `--help` and `sigma run` stay small and quick.

Every command module is imported on every start (that is how the commands register), so a
module-level import of the pipeline, the review store or the web app used to load scikit-learn,
SciPy and SQLAlchemy for `bluebench sigma run --help` (232 MB, issue #18). Checked in a fresh
interpreter through ``sys.modules``, never by timing: a module that is not imported costs
neither seconds nor memory, and a timing assert would fail on a busy 2-core CI machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import bluebench

SRC = Path(bluebench.__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[1] / "data" / "sigma"
#: Loaded only by the commands that use them: models, the review store, the web app, plots.
HEAVY = ("sklearn", "scipy", "sqlalchemy", "argon2", "fastapi", "starlette", "uvicorn", "matplotlib")
#: What a command that reads no events has no use for either: Arrow, DuckDB, the EVTX parser, Sigma.
ENGINES = ("numpy", "pyarrow", "duckdb", "evtx", "sigma")

REPORT = "import json, sys; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"


def loaded(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The top-level packages in ``sys.modules`` after ``code`` ran in a fresh interpreter."""
    run_env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join([str(SRC), *sys.path])}
    res = subprocess.run(
        [sys.executable, "-c", f"{code}\n{REPORT}"], capture_output=True, text=True, env=run_env, check=False
    )
    assert res.returncode == 0, res.stderr
    return set(json.loads(res.stdout.splitlines()[-1]))


def run_cli(*args: str) -> str:
    """Code that runs ``bluebench ARGS`` as the console script does, keeping the interpreter alive."""
    return (
        "import contextlib, io, sys\n"
        "from bluebench.cli import main\n"
        f"sys.argv = ['bluebench', *{list(args)!r}]\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main()"
    )


def test_importing_the_cli_loads_no_stage() -> None:
    mods = loaded("import bluebench.cli")
    assert {"typer", "bluebench"} <= mods  # the probe sees what was imported
    assert mods.isdisjoint(HEAVY + ENGINES), sorted(mods & set(HEAVY + ENGINES))


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("sigma", "run", "--help"),
        ("scan", "--help"),
        ("generate", "--help"),
        ("review", "--help"),
        ("serve", "--help"),
        ("mail", "--help"),
    ],
)
def test_help_loads_no_stage(args: tuple[str, ...]) -> None:
    mods = loaded(run_cli(*args))
    assert mods.isdisjoint(HEAVY + ENGINES), sorted(mods & set(HEAVY + ENGINES))


def test_sigma_run_loads_the_engine_and_nothing_heavier(tmp_path: Path) -> None:
    rule = DATA / "rules" / "proc_creation_win_certutil_download_direct_ip.yml"
    evtx = DATA / "regression" / "proc_creation_win_certutil_download_direct_ip"
    code = run_cli("sigma", "run", str(evtx), "--rules", str(rule), "--json")
    mods = loaded(code, env={"BLUEBENCH_CACHE_DIR": str(tmp_path)})
    assert {"duckdb", "evtx", "sigma"} <= mods  # the run really ran: its engine is there
    assert mods.isdisjoint(HEAVY), sorted(mods & set(HEAVY))
