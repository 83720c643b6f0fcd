"""generate: write seeded, labelled Winlogbeat JSON lines and an auth.log for tests and benchmarks."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated

import typer

from bluebench.cli.app import app, err
from bluebench.datagen import DEFAULT_DAYS, DEFAULT_LINUX_SHARE, DEFAULT_START
from bluebench.errors import ConfigError


@app.command("generate")
def generate_cmd(
    out_dir: Annotated[str, typer.Argument(help="Folder to write (created if missing).")],
    events: Annotated[int, typer.Option("--events", "-n", help="Number of events, exactly.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 0,
    days: Annotated[int, typer.Option(help="Days of activity.")] = DEFAULT_DAYS,
    start: Annotated[str, typer.Option(help="First day (UTC), YYYY-MM-DD.")] = DEFAULT_START.isoformat(),
    linux_share: Annotated[
        float, typer.Option(help="Share of events in the Linux auth.log (0 for Windows only).")
    ] = DEFAULT_LINUX_SHARE,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
) -> None:
    """Generate realistic benign activity with labelled attacks: files, labels.csv, manifest.json."""
    from bluebench.datagen import generate

    try:
        first = date.fromisoformat(start)
    except ValueError as exc:
        raise ConfigError(f"--start must be YYYY-MM-DD: {exc}") from exc
    t0 = time.perf_counter()
    summary = generate(
        out_dir,
        events,
        seed=seed,
        days=days,
        start=first,
        linux_share=linux_share,
        progress=None if quiet else lambda msg: err.print(f"[dim]{msg}[/dim]"),
    )
    took = time.perf_counter() - t0
    err.print(
        f"wrote {summary.events:,} events in {len(summary.files)} files under {summary.out_dir} "
        f"in {took:.1f} s; {summary.labelled_events:,} labelled malicious events from "
        f"{len(summary.attacks)} attacks in {summary.labels.name}; details in {summary.manifest.name}"
    )
