"""bluebench vuln: read scanner reports, rank CVEs and findings by the chance of exploitation, judge forward.

Thin: parse, call one function of ``bluebench.vuln``, render. Every command takes ``--at``
and uses nothing dated after it (what it left out is listed on stderr). Exit codes: 0 done,
1 done but some report was refused or some record skipped, 2 usage or data error.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from bluebench.cli.app import JsonOpt, WorkspaceOpt, app, err, json_line, out, show
from bluebench.cli.render import rate_cell, table, wide
from bluebench.stats import Rate

if TYPE_CHECKING:
    from bluebench.sources.scanners import Report
    from bluebench.vuln.evaluate import Evaluation
    from bluebench.vuln.knowledge import Knowledge, KnowledgeBase

vuln_app = typer.Typer(
    name="vuln",
    help="Vulnerabilities: read scanner reports, rank by the chance of exploitation and the asset, judge forward.",
    no_args_is_help=True,
)
app.add_typer(vuln_app, name="vuln")

AtOpt = Annotated[
    str, typer.Option("--at", help="The ranking day (YYYY-MM-DD): nothing dated later is used.")
]
EpssOpt = Annotated[
    str | None, typer.Option("--epss", help="EPSS of the day: a CSV (.gz) or a folder of per-year CSVs.")
]
HistoryOpt = Annotated[
    str | None, typer.Option("--epss-history", help="A folder of EPSS snapshots named by day (YYYY-MM-DD).")
]
KevOpt = Annotated[str, typer.Option("--kev", help="CISA KEV catalog (JSON or CSV, .gz allowed).")]
CvesOpt = Annotated[
    str | None,
    typer.Option("--cves", help="CVE JSON 5 records: a folder, .tar.gz or .zip (CVE List, Vulnrichment)."),
]
ExploitsOpt = Annotated[
    str | None,
    typer.Option("--exploits", help="CVE-to-ExploitDB maps: one named by day, or a folder of them."),
]
ModelOpt = Annotated[
    str | None, typer.Option("--model", help="A KEV model file (default: the one that ships).")
]
HorizonOpt = Annotated[
    int, typer.Option("--horizon-days", help="Chance of a KEV addition within this many days.")
]
MappingOpt = Annotated[
    str | None, typer.Option("--mapping", help="TOML mapping for another tool's CSV (see docs/vuln.md).")
]


def _day(text: str) -> date:
    from bluebench.sources.feeds import parse_day

    return parse_day(text, "--at")


def _base(
    kev: str, epss: str | None, history: str | None, cves: str | None, exploits: str | None
) -> KnowledgeBase:
    from bluebench.vuln.knowledge import KnowledgeBase

    return KnowledgeBase(
        kev=Path(kev),
        epss=_path(epss),
        epss_history=_path(history),
        cves=_path(cves),
        exploits=_path(exploits),
    )


def _path(text: str | None) -> Path | None:
    return Path(text) if text else None


def _say_knowledge(k: Knowledge, notes: list[str]) -> None:
    before = f", change against {k.epss_before.day}" if k.epss_before else ", no earlier snapshot to compare"
    err.print(
        f"[dim]ranking as of {k.at}: EPSS of {k.epss.day}{before}; {k.kev.num_rows:,} KEV entries; "
        f"{k.records.num_rows:,} CVE records usable (years {', '.join(k.covered_years) or 'none'})"
        + (f"; ExploitDB map of {k.exploits.day}" if k.exploits else "")
        + "[/dim]"
    )
    for i in k.ignored:
        err.print(f"[dim]left out: {show(i.text())}[/dim]")
    for s in k.skipped[:10]:
        err.print(f"[yellow]skipped[/yellow] {show(str(s))}")
    for n in notes:
        err.print(f"[yellow]note:[/yellow] {show(n)}")


def _reports_table(reports: list[Report]) -> Table:
    t = table("Scanner reports", "file", "read as", "findings", "CVEs", "skipped", left=("file", "read as"))
    for r in reports:
        t.add_row(
            show(r.file),
            show(r.scanner or "-") if not r.refused else f"[red]refused[/red]: {show(r.refused)}",
            f"{r.findings.num_rows:,}",
            f"{r.cves:,}",
            str(len(r.skipped)),
        )
    return t


def _read(paths: list[str], mapping: str | None) -> list[Report]:
    from bluebench.errors import ConfigError
    from bluebench.sources.scanners import load_finding_mapping, read_reports

    reports = read_reports(paths, mapping=load_finding_mapping(Path(mapping)) if mapping else None)
    if not reports:
        raise ConfigError(f"no files found under {', '.join(paths)}")
    for r in reports:
        if r.refused:
            err.print(f"[yellow]refused[/yellow] {show(r.file)}: {show(r.refused)}")
        for s in r.skipped[:5]:
            err.print(f"[yellow]skipped[/yellow] {show(str(s))}")
    return reports


def _problems(reports: list[Report]) -> bool:
    return any(r.refused or any(not s.kept for s in r.skipped) for r in reports)


@vuln_app.command("reports")
def reports_cmd(
    paths: Annotated[list[str], typer.Argument(help="Scanner reports or folders of them.")],
    mapping: MappingOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Read scanner reports (recognised by content) and say what each held or why it was refused."""
    reports = _read(paths, mapping)
    if as_json:
        for r in reports:
            sys.stdout.write(
                json_line(
                    {
                        "file": r.file,
                        "scanner": r.scanner,
                        "findings": r.findings.num_rows,
                        "cves": r.cves,
                        "skipped": len(r.skipped),
                        "refused": r.refused,
                    }
                )
            )
    else:
        out.print(_reports_table(reports))
    raise typer.Exit(1 if _problems(reports) else 0)


def _cve_table(rows: list[dict[str, Any]]) -> Table:
    cols = ["#", "CVE", "chance", "EPSS", "KEV", "why"]
    t = table("CVEs by the chance CISA adds them to KEV within the horizon", *cols, left=("CVE", "why"))
    for r in rows:
        why = r["reasons"] if wide() else r["reasons"][:3]
        t.add_row(
            str(r["rank"]),
            show(r["cve"]),
            f"{r['score']:.3g}",
            "-" if r["epss"] is None else f"{r['epss']:.3g}",
            "yes" if r["in_kev"] else "",
            show("; ".join(why)),
        )
    return t


def _finding_table(rows: list[dict[str, Any]]) -> Table:
    t = table(
        "Findings by priority (chance x asset weight)",
        "#",
        "decision",
        "priority",
        "asset",
        "what",
        "chance",
        left=("decision", "asset", "what"),
    )
    for r in rows:
        what = " ".join(x for x in (r["package"], r["version"]) if x) or (r["title"] or "")
        ident = r["cve"] or r["vuln_id"] or ""
        t.add_row(
            str(r["rank"]),
            r["decision"],
            f"{r['priority']:.3g}",
            show(r["asset"] or "-"),
            show(f"{ident} {what}".strip()),
            f"{r['score']:.3g}",
        )
        if wide():
            t.add_row("", "", "", "", show("; ".join(r["reasons"][2:])), "")
    return t


@vuln_app.command("rank")
def rank_cmd(
    reports: Annotated[
        list[str] | None,
        typer.Argument(help="Scanner reports; without them every EPSS-scored CVE is ranked."),
    ] = None,
    at: AtOpt = "",
    epss: EpssOpt = None,
    epss_history: HistoryOpt = None,
    kev: KevOpt = "",
    cves: CvesOpt = None,
    exploits: ExploitsOpt = None,
    assets: Annotated[
        str | None, typer.Option("--assets", help="CSV: asset, criticality, internet_facing, owner.")
    ] = None,
    model: ModelOpt = None,
    mapping: MappingOpt = None,
    horizon_days: HorizonOpt = 365,
    limit: Annotated[int, typer.Option("--limit", help="Rows to show (JSON shows all).")] = 20,
    store: Annotated[
        bool, typer.Option("--store", help="Keep the ranked findings in the workspace (review UI, report).")
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rank CVEs (or the findings of scanner reports) by the chance of exploitation, with reasons."""
    from bluebench.errors import ConfigError
    from bluebench.vuln.assets import load_assets
    from bluebench.vuln.findings import rank_findings
    from bluebench.vuln.modelfile import load_model
    from bluebench.vuln.rank import rank_cves

    if not at or not kev:
        raise ConfigError("--at and --kev are required")
    day = _day(at)
    loaded = load_model(model)
    k = _base(kev, epss, epss_history, cves, exploits).at(day)
    if not reports:
        ranking = rank_cves(k, loaded, horizon_days=horizon_days)
        _say_knowledge(k, ranking.notes)
        rows = ranking.table if as_json else ranking.table.slice(0, limit)
        if as_json:
            for batch in rows.to_batches(65536):
                sys.stdout.write("".join(json_line(r) for r in batch.to_pylist()))
        else:
            out.print(_cve_table(rows.to_pylist()))
        raise typer.Exit(1 if any(not s.kept for s in k.skipped) else 0)
    read = _read(reports, mapping)
    ranked = rank_findings(read, k, loaded, load_assets(Path(assets)) if assets else None, horizon_days)
    _say_knowledge(k, ranked.notes)
    err.print(
        f"[dim]read {sum(r.findings.num_rows for r in read):,} findings from {len(read)} files; "
        f"Track* from a chance of {ranked.top_threshold:.3g} (the day's top 1%)[/dim]"
    )
    if store:
        _store(workspace, ranked, read, k, loaded.path, horizon_days)
    if as_json:
        sys.stdout.write("".join(json_line(r) for r in ranked.table.to_pylist()))
    else:
        out.print(_finding_table(ranked.table.slice(0, limit).to_pylist()))
    raise typer.Exit(1 if _problems(read) else 0)


def _store(
    workspace: str | None, ranked: Any, read: list[Report], k: Knowledge, model: str, horizon: int
) -> None:
    from bluebench.events.workspace import workspace_from_env
    from bluebench.vuln.store import store_run

    meta = {
        "ignored": [i.text() for i in k.ignored],
        "top_threshold": ranked.top_threshold,
        "band_medians": ranked.band_medians,
    }
    with workspace_from_env(workspace, command="vuln rank") as ws:
        run = store_run(ws.con, ranked, read, k.at, k.epss.day, horizon, model, meta)
    err.print(f"[dim]stored as run {run} in the workspace (bluebench serve shows it under /vulns)[/dim]")


def _ap(e: dict[str, Any]) -> str:
    v, ci = e["value"], e["ci95"]
    if v is None:
        return "n/a"
    return f"{v:.3g}" + (f"\n[dim]{ci[0]:.2g}-{ci[1]:.2g}[/dim]" if ci else "")


def _rate(d: dict[str, Any]) -> Rate:
    return Rate(int(d["k"]), int(d["n"]))


def print_evaluation(ev: Evaluation) -> None:
    """The rankers side by side, the policies beside the model at equal effort, calibration, what was left out."""
    res = ev.to_json()
    t = table(
        f"Ranked on {ev.at}, judged on KEV additions up to {ev.judged_until}: {ev.positives} of {ev.candidates:,} CVEs",
        "ranker",
        "AP",
        "ROC-AUC",
        "cover 1%",
        "cover 5%",
        "cover 10%",
        left=("ranker",),
    )
    for r in res["rankers"]:
        t.add_row(
            r["name"],
            _ap(r["ap"]),
            _ap(r["roc_auc"]),
            *(rate_cell(_rate(e["coverage"])) for e in r["efforts"]),
        )
    out.print(t)
    ratio = res["ap_ratio"]
    out.print(
        f"model AP / EPSS AP: {ratio['value']:.2f}"
        + (f" [{ratio['ci95'][0]:.2f}-{ratio['ci95'][1]:.2f}]" if ratio["ci95"] else "")
    )
    p = table(
        "Policies, and the model choosing as many CVEs",
        "policy",
        "CVEs",
        "cover",
        "efficiency",
        "model cover",
        "model eff.",
        left=("policy",),
    )
    for pol in res["policies"]:
        p.add_row(
            pol["name"],
            f"{pol['chosen']:,}",
            rate_cell(_rate(pol["coverage"])),
            rate_cell(_rate(pol["efficiency"])),
            rate_cell(_rate(pol["model_coverage"])),
            rate_cell(_rate(pol["model_efficiency"])),
        )
    out.print(p)
    e = table(
        "Efficiency (share of chosen CVEs added) at each effort",
        "ranker",
        "1%",
        "5%",
        "10%",
        left=("ranker",),
    )
    for r in res["rankers"]:
        e.add_row(r["name"], *(rate_cell(_rate(x["efficiency"])) for x in r["efforts"]))
    out.print(e)
    out.print(
        f"calibration: the model expected {ev.expected:.1f} additions, {ev.positives} happened; "
        f"CVSS known for {ev.cvss_known:,} of {ev.candidates:,} candidates"
    )
    model = res["model"]
    if "method" in model:
        days = ", ".join(f"{d['day']} ({d['positives']} of {d['candidates']:,})" for d in model["days"])
        out.print(
            f"model trained on earlier days only: {days}; penalty {model['l2']:g} chosen by {model['method']} validation"
        )
    for i in res["ignored"]:
        err.print(f"[dim]left out: {show(i)}[/dim]")
    for n in res["notes"]:
        err.print(f"[yellow]note:[/yellow] {show(n)}")


@vuln_app.command("evaluate")
def evaluate_cmd(
    at: AtOpt,
    truth: Annotated[
        str, typer.Option("--truth", help="A later KEV catalog: its additions after --at are the outcome.")
    ],
    horizon_days: HorizonOpt = 365,
    kev: Annotated[
        str | None, typer.Option("--kev", help="KEV known on --at (default: --truth, cut at --at).")
    ] = None,
    epss: EpssOpt = None,
    epss_history: HistoryOpt = None,
    cves: CvesOpt = None,
    exploits: ExploitsOpt = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Judge this model (trained no later than --at); default: train one on earlier days.",
        ),
    ] = None,
    out_path: Annotated[str | None, typer.Option("--out", help="Also write the result as JSON here.")] = None,
    store: Annotated[
        bool, typer.Option("--store", help="Keep the result in the workspace (report facts).")
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rank on --at with a model fitted only on earlier days; judge on KEV additions within the horizon."""
    from bluebench.sources.feeds import read_kev
    from bluebench.vuln.evaluate import evaluate
    from bluebench.vuln.modelfile import load_model

    day = _day(at)
    kb = _base(kev or truth, epss, epss_history, cves, exploits)
    loaded = load_model(model) if model else None
    result = evaluate(
        kb,
        day,
        read_kev(Path(truth)),
        horizon_days,
        loaded,
        progress=lambda m: err.print(f"[dim]{show(m)}[/dim]"),
    )
    data = result.to_json()
    if out_path:
        Path(out_path).write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    if store:
        from bluebench.events.workspace import workspace_from_env
        from bluebench.vuln.store import store_evaluation

        with workspace_from_env(workspace, command="vuln evaluate") as ws:
            eid = store_evaluation(ws.con, data)
        err.print(f"[dim]stored as evaluation {eid}[/dim]")
    if as_json:
        sys.stdout.write(json_line(data))
    else:
        print_evaluation(result)


@vuln_app.command("train")
def train_cmd(
    at: Annotated[
        str, typer.Option("--at", help="Last day whose outcomes (KEV additions) training may see.")
    ],
    out_path: Annotated[str, typer.Option("--out", help="Model file to write.")],
    epss_history: Annotated[
        str, typer.Option("--epss-history", help="A folder of EPSS snapshots named by day.")
    ],
    kev: KevOpt,
    cves: CvesOpt = None,
    exploits: ExploitsOpt = None,
    horizon_days: HorizonOpt = 365,
) -> None:
    """Fit the KEV model on the EPSS days before --at (penalty chosen on earlier days) and write it."""
    from bluebench.vuln.modelfile import save_model
    from bluebench.vuln.train import train

    day = _day(at)
    kb = _base(kev, None, epss_history, cves, exploits)
    tr = train(kb, day, horizon_days, progress=lambda m: err.print(f"[dim]{show(m)}[/dim]"))
    meta = {
        "training": {
            "at": day.isoformat(),
            "horizon_days": horizon_days,
            "days": tr.days,
            "method": tr.method,
            "l2": tr.model.l2,
            "selection": tr.selection,
            "inputs": {"epss_history": epss_history, "kev": kev, "cves": cves, "exploits": exploits},
            "command": "bluebench vuln train " + " ".join(sys.argv[3:]) if len(sys.argv) > 3 else "",
        }
    }
    save_model(out_path, tr.model, meta)
    days = ", ".join(f"{d['day']} ({d['positives']} added)" for d in tr.days)
    err.print(
        f"model written to {show(out_path)}: trained on {days}; outcomes up to {day}; penalty {tr.model.l2:g} ({tr.method})"
    )
