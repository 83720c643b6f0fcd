"""The Typer application and the options every command shares."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    name="bluebench",
    help="Detect credential attacks in Windows and Linux logs; every alert explained and measured.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=False)
err = Console(stderr=True)

WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace", "-w", help="Workspace folder (default ./.bluebench or $BLUEBENCH_WORKSPACE)."
    ),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", "-c", help="Detector config TOML (see `bluebench config`)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (one object per line) instead of tables.")]
