"""bluebench network: train and measure the DNS name model; measure detectors on labelled captures.

Exit codes follow the rest of the CLI: 0 done, 2 usage, data or model error.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from bluebench.cli.app import JsonOpt, WorkspaceOpt, app, err, json_line, out, show
from bluebench.cli.render import rate_cell, table

network_app = typer.Typer(
    name="network",
    help="Network traffic: the DNS name model (train, evaluate) and detectors measured on captures.",
    no_args_is_help=True,
)
app.add_typer(network_app, name="network")

FolderArg = Annotated[
    str,
    typer.Argument(help="A netrack/learn-style folder: dns/{plain,dns2tcp,dnscapy}/names.csv, dns/*.csv."),
]


@network_app.command("dns-train")
def dns_train_cmd(
    folder: FolderArg,
    out_path: Annotated[str, typer.Option("--out", help="Model file (JSON) to write.")],
) -> None:
    """Train the DNS name model on every tool's and every plain name of FOLDER."""
    from bluebench.network.evaluate import train_default

    model = train_default(folder)
    model.save(out_path)
    trained = model.meta_.get("trained_names", {})
    err.print(f"wrote {show(out_path)}: {show(trained)} distinct names")


@network_app.command("dns-eval")
def dns_eval_cmd(
    folder: FolderArg,
    as_json: JsonOpt = False,
    store: Annotated[
        bool,
        typer.Option("--store", help="Keep the result in the workspace (report, verify and drill facts)."),
    ] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Cross-tool (train on one tunnel tool, test on the other and unseen plain domains) and the author's split."""
    from bluebench.network.evaluate import evaluate

    result = evaluate(folder)
    if store:
        from bluebench.events.workspace import workspace_from_env
        from bluebench.network.store import store_dns_evaluation

        with workspace_from_env(workspace, command="network dns-eval") as ws:
            eid = store_dns_evaluation(ws.con, result.to_json())
        err.print(
            f"[dim]stored as DNS evaluation {eid} in the workspace (report facts network/dns/...)[/dim]"
        )
    if as_json:
        sys.stdout.write(json_line(result.to_json()))
        return
    t = table("DNS name model (95% Wilson intervals)", "test", "recall", "FPR", "precision", left=("test",))
    for name, c in result.tests.items():
        t.add_row(show(name), rate_cell(c.recall), rate_cell(c.fpr), rate_cell(c.precision))
    out.print(t)
    for name, c in result.tests.items():
        out.print(f"[dim]{show(name)}: tp {c.tp} fn {c.fn} fp {c.fp} tn {c.tn}[/dim]")
    if result.author_metrics:
        text = ", ".join(f"{k} {v:.3f}" for k, v in result.author_metrics.items())
        out.print(f"the author's metrics.txt: {show(text)}")
        ours = result.tests["author"]
        out.print(
            f"bluebench on the same split: accuracy {ours.accuracy.text()}, recall {ours.recall.text()}, "
            f"precision {ours.precision.text()}"
        )
    for note in result.notes:
        out.print(f"[dim]{show(note)}[/dim]")
