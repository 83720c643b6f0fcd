"""The Typer application and the options every command shares."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from bluebench.errors import BluebenchError


class _Group(TyperGroup):
    """Turns bluebench's own errors (bad mapping, config, labels) into one line and exit 2.

    Done here rather than only in ``main`` so that every way of running the app, tests with
    ``CliRunner`` included, gets the documented exit code.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BluebenchError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from exc


app = typer.Typer(
    cls=_Group,
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

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="BLUEBENCH_DB",
        help="Review database URL, e.g. postgresql://user@host/db (default: review.db in the workspace).",
        show_envvar=True,
    ),
]
RulesOpt = Annotated[
    list[str] | None, typer.Option("--rules", help="Also run these Sigma rule files or folders.")
]
RuleStatusOpt = Annotated[list[str] | None, typer.Option("--rule-status", help="Sigma: keep this status.")]
RuleLevelOpt = Annotated[list[str] | None, typer.Option("--rule-level", help="Sigma: keep this level.")]
