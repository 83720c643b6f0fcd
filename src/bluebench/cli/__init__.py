"""The ``bluebench`` command: thin Typer commands that parse, call one function and render.

Commands live in submodules by stage; each registers itself on ``app`` when imported.
Exit codes: 0 done, 1 done but some input was skipped, 2 usage or configuration error.
"""

from __future__ import annotations

import sys

from bluebench.cli import core  # noqa: F401  (registers commands)
from bluebench.cli.app import app
from bluebench.errors import BluebenchError

__all__ = ["app", "main"]


def _load_optional() -> None:
    """Import command modules that may not exist in every build (added by later stages)."""
    import importlib

    for name in ("evaluate", "generate", "mail", "triage", "serve", "reports", "drill", "sigma", "spark"):
        try:
            importlib.import_module(f"bluebench.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bluebench.cli.{name}":
                raise


def main() -> None:
    """Console entry point; bluebench errors become a one-line message and exit code 2."""
    _load_optional()
    try:
        app()
    except BluebenchError as exc:
        from bluebench.cli.app import err

        err.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
