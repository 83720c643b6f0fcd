"""export-parquet: the workspace's events as day-partitioned Parquet, for Spark or any engine."""

from __future__ import annotations

from typing import Annotated

import typer

from bluebench.cli.app import WorkspaceOpt, app, out


@app.command("export-parquet")
def export_parquet_cmd(
    out_dir: Annotated[str, typer.Argument(help="Folder to write (Hive layout, event_day=YYYY-MM-DD).")],
    workspace: WorkspaceOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier export there.")] = False,
) -> None:
    """Export every stored event as Parquet partitioned by day: what `detect --engine spark` reads."""
    from bluebench.engines.parquet import export_parquet
    from bluebench.events.workspace import workspace_from_env

    with workspace_from_env(workspace, command="export-parquet", read_only=True) as ws:
        summary = export_parquet(ws.con, out_dir, overwrite=overwrite)
    out.print(
        f"wrote {summary.events:,} events in {summary.files} files ({summary.partitions} days) under "
        f"{summary.path}"
    )
