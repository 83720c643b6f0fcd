"""The ``bluebench`` command: thin Typer commands that parse, call one function and render.

Commands live in submodules by stage; each registers itself on ``app`` when imported.
Exit codes: 0 done, 1 done but some input was skipped, 2 usage or configuration error.
"""

from __future__ import annotations

import sys

# Importing a command module registers its commands on ``app``.
from bluebench.cli import (  # noqa: F401
    core,
    drill,
    evaluate,
    generate,
    mail,
    malware,
    network,
    reports,
    serve,
    sigma,
    spark,
    triage,
    vuln,
)
from bluebench.cli.app import app
from bluebench.errors import BluebenchError

__all__ = ["app", "main"]


def main() -> None:
    """Console entry point; bluebench errors become a one-line message and exit code 2."""
    try:
        app()
    except BluebenchError as exc:
        from bluebench.cli.app import err, show

        err.print(f"[red]error:[/red] {show(exc, lines=True)}")
        sys.exit(2)
