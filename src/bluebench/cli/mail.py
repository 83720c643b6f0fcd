"""bluebench mail: train, score and evaluate the phishing classifier.

Exit codes follow the rest of the CLI: 0 done, 1 done but some messages could not be read
(each is listed on stderr with file and message number), 2 usage or model error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from bluebench.cli.app import JsonOpt, WorkspaceOpt, app, err, json_line, out, show
from bluebench.errors import ConfigError
from bluebench.mail.tables import table

if TYPE_CHECKING:
    from bluebench.mail.evaluation.results import MailEvaluation
    from bluebench.mail.model import Verdict
    from bluebench.mail.train import Labelled
    from bluebench.sources.mailparse import MailSet

mail_app = typer.Typer(
    name="mail",
    help="Phishing mail: train a model, score messages with reasons, evaluate honestly.",
    no_args_is_help=True,
)
app.add_typer(mail_app, name="mail")

PathsArg = Annotated[list[str], typer.Argument(help=".eml files, mbox files or folders of either.")]
LabelsOpt = Annotated[
    str, typer.Option("--labels", help="CSV with path,label[,source]; paths relative to the CSV.")
]
TargetFprOpt = Annotated[
    float, typer.Option("--target-fpr", help="Largest ham false-positive rate the threshold may allow.")
]
RelabelOpt = Annotated[
    str | None,
    typer.Option(
        "--relabel",
        help="Reviewed relabelling list (file,index,message_id,sha1,old_label,new_label,reason), "
        "applied on top of the labels and reported; data/mail/relabel.csv is the corpus's.",
    ),
]


def _relabel(data: Labelled, relabel: str | None) -> Labelled:
    """The labels with the reviewed list applied, and a line saying what it changed."""
    if relabel is None:
        return data
    from bluebench.mail.relabel import apply_relabels, load_relabels

    data, report = apply_relabels(data, load_relabels(relabel))
    changes = ", ".join(f"{c} {o} -> {n}" for o, n, c in report.changes) or "nothing"
    err.print(
        f"relabelled {report.applied} of {report.rows} listed messages ({changes}); "
        f"{len(report.missing)} listed messages were not among those read"
    )
    a = report.second_review
    if a is not None:
        kappa = "undefined" if a.kappa is None else f"{a.kappa:.2f}"
        err.print(
            f"second review agrees on {a.agreed} of {a.reviewed} listed messages (Cohen's kappa {kappa})"
        )
    return data


def _read(paths: list[str], quiet: bool = False) -> MailSet:
    """Read mail and list on stderr what could not be read or was repaired (escaped: mail is data)."""
    from bluebench.sources.mailparse import read_mail

    ms = read_mail(paths)
    return _report(ms, len(ms.mails), paths, quiet)


def _report(ms: MailSet, messages: int, paths: list[str], quiet: bool = False) -> MailSet:
    if ms.files == 0:
        raise ConfigError(f"no files found under {', '.join(paths)}")
    for s in ms.unreadable[:20]:
        err.print(f"[yellow]skipped[/yellow] {show(str(s))}")
    if len(ms.unreadable) > 20:
        err.print(f"[yellow]... and {len(ms.unreadable) - 20} more unreadable[/yellow]")
    if not quiet:
        for s in ms.repaired[:10]:
            err.print(f"[dim]repaired {show(str(s))}[/dim]")
        if len(ms.repaired) > 10:
            err.print(f"[dim]... and {len(ms.repaired) - 10} more repairs[/dim]")
    err.print(
        f"read {messages:,} messages from {ms.files:,} files; {len(ms.unreadable)} unreadable, "
        f"{len(ms.repaired)} repairs, {len(ms.ignored_files)} non-mail files passed over"
    )
    return ms


@mail_app.command("train")
def train_cmd(
    paths: PathsArg,
    labels: Annotated[
        list[str],
        typer.Option(
            "--labels",
            help="CSV with path,label[,source] (paths relative to the CSV) or sha1,label rows such as "
            "`mail verdict-labels` writes; repeat to add files: where two label the same path or "
            "message the later wins, and a sha1 row wins over its message's file and folders.",
        ),
    ],
    out_path: Annotated[str, typer.Option("--out", help="Model file to write.")],
    target_fpr: Annotated[
        float | None,
        typer.Option(
            "--target-fpr",
            help="Largest out-of-fold ham false-positive rate the phishing threshold may allow "
            "(default: the three-class evaluation's choice).",
        ),
    ] = None,
    spam_target_fpr: Annotated[
        float | None,
        typer.Option(
            "--spam-target-fpr",
            help="Largest out-of-fold ham rate the spam threshold may junk (default: the evaluation's choice).",
        ),
    ] = None,
    relabel: RelabelOpt = None,
) -> None:
    """Train on labelled mail and write the model (phishing, and spam when there is spam) with its thresholds."""
    from dataclasses import replace

    from bluebench.mail.labels import load_label_files
    from bluebench.mail.modelfile import SpamPart, save_model
    from bluebench.mail.train import SHIPPED, attach_labels, train_shipped

    lab = load_label_files(labels)
    ms = _read(paths)
    data = _relabel(attach_labels(ms, lab), relabel)
    if lab.by_digest:
        by_digest = [m for m in data.mails if m.digest in lab.by_digest]
        changed = 0
        for m in by_digest:
            own, other = lab.by_digest[m.digest], lab.lookup_path(m)
            changed += other is not None and other.label != own.label
        err.print(
            f"{len(by_digest)} of {len(lab.by_digest)} messages labelled by sha1 were found; "
            f"{changed} of them changed the label their file or folder gave"
        )
    if data.unlabelled:
        err.print(f"[yellow]{len(data.unlabelled)} messages have no label and were not used[/yellow]")
    shipped = replace(
        SHIPPED,
        target_fpr=SHIPPED.target_fpr if target_fpr is None else target_fpr,
        spam_target_fpr=SHIPPED.spam_target_fpr if spam_target_fpr is None else spam_target_fpr,
    )
    (fitted, meta), spam = train_shipped(data, shipped)
    save_model(
        out_path,
        fitted.model,
        fitted.spec,
        meta,
        None if spam is None else SpamPart(spam[0].model, spam[0].spec, spam[1]),
    )
    m = meta["metrics"]["at_threshold"]
    t = meta["training"]
    err.print(
        f"model written to {show(out_path)}: {t['messages']} messages {t['class_counts']}, "
        f"{t['first_date'] or '?'} to {t['last_date'] or '?'}; threshold {meta['threshold']['value']:.4f}; "
        f"out-of-fold recall {m['recall']['k']}/{m['recall']['n']}, ham FPR {m['fpr_ham']['k']}/{m['fpr_ham']['n']}"
    )
    if spam is None:
        err.print("[yellow]fewer than 2 spam or 2 ham: no spam part, mail is phishing or legitimate[/yellow]")
    else:
        sm = spam[1]["metrics"]
        err.print(
            f"spam part: threshold {spam[1]['threshold']['value']:.4f}; out-of-fold spam caught "
            f"{sm['spam_caught']['k']}/{sm['spam_caught']['n']}, ham FPR {sm['fpr_ham']['k']}/{sm['fpr_ham']['n']}"
        )
    raise typer.Exit(1 if ms.unreadable else 0)


@mail_app.command("verdict-labels")
def verdict_labels_cmd(
    out_path: Annotated[str, typer.Option("--out", help="Labels CSV to write (sha1,label,...).")],
    workspace: WorkspaceOpt = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", envvar="BLUEBENCH_DB", help="Review database URL (default: review.db in the workspace)."
        ),
    ] = None,
    dismissed_as: Annotated[
        str, typer.Option("--dismissed-as", help="Label of a dismissed phishing alert: ham or spam.")
    ] = "ham",
) -> None:
    """Reviewers' verdicts on phishing_mail alerts as labels for `mail train --labels`.

    Each reviewed alert's message is named by its SHA-1, so the label finds it wherever the
    file is when training reads it; unreviewed alerts and "needs more information" label nothing.
    """
    from bluebench.alerts.store import load_alerts
    from bluebench.cli.triage import open_store
    from bluebench.detectors.mail import PhishingMail, stored_messages
    from bluebench.events.workspace import workspace_from_env
    from bluebench.mail.labels import verdict_rows, write_labels

    with open_store(workspace, db) as store:
        decided = store.alert_labels()
    with workspace_from_env(workspace, command="mail verdict-labels", read_only=True) as ws:
        alerts = load_alerts(ws.con, PhishingMail.id)
        messages = stored_messages(ws.con, (e for a in alerts if a.id in decided for e in a.event_ids))
    unreviewed = sum(a.id not in decided for a in alerts)
    reviewed = [
        (a.id, messages[e].digest, messages[e].file, messages[e].index, decided[a.id])
        for a in alerts
        if a.id in decided
        for e in a.event_ids
        if e in messages
    ]
    lost = sum(e not in messages for a in alerts if a.id in decided for e in a.event_ids)
    if lost:
        err.print(
            f"[yellow]{lost} reviewed alerts' messages are no longer stored: no label for them[/yellow]"
        )
    rows, undecided = verdict_rows(reviewed, dismissed_as)
    write_labels(out_path, rows)
    phish = sum(r["label"] == "phishing" for r in rows)
    err.print(
        f"{len(rows)} labels written to {show(out_path)}: {phish} confirmed phishing, "
        f"{len(rows) - phish} dismissed as {dismissed_as}; {undecided} alerts need more information "
        f"and {unreviewed} are not reviewed (no label for either)"
    )


@mail_app.command("score")
def score_cmd(
    paths: PathsArg,
    model: Annotated[str, typer.Option("--model", help="Model file written by `mail train`.")],
    as_json: JsonOpt = False,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Override the model's stored threshold.")
    ] = None,
    reasons: Annotated[int, typer.Option("--reasons", help="Reasons per message.")] = 6,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Processes reading and extracting mail (0 = one per CPU).")
    ] = 0,
) -> None:
    """Score messages: higher = more likely phishing; each verdict with the features behind it."""
    from bluebench.heap import frozen
    from bluebench.mail.batch import Batch, iter_batches
    from bluebench.mail.modelfile import load_model

    mm = load_model(model)
    # batch after batch: --json writes each verdict as soon as its batch is scored, and only
    # verdicts are kept (for the table), never the messages' texts and features; the loaded
    # model is frozen out of the garbage collector's passes (a twentieth of the time here)
    read = Batch()
    verdicts: list[Verdict] = []
    messages = 0
    with frozen():
        for batch in iter_batches(paths, jobs, era=mm.reads_era):
            scored = mm.score_extracted(batch.refs, batch.extracted, threshold, reasons)
            messages += len(batch.refs)
            read.add(batch, messages=False)
            if as_json:
                sys.stdout.write("".join(json_line(v.to_json()) for v in scored))
                sys.stdout.flush()
            else:
                verdicts.extend(scored)
    ms = _report(read.as_mailset(), messages, paths, quiet=as_json)
    if not as_json:
        out.print(verdicts_table(verdicts, mm.threshold if threshold is None else threshold))
    raise typer.Exit(1 if ms.unreadable else 0)


@mail_app.command("evaluate")
def evaluate_cmd(
    paths: PathsArg,
    labels: LabelsOpt,
    out_path: Annotated[
        str, typer.Option("--out", help="Where to store the evaluation JSON for reports.")
    ] = "out/mail-evaluation.json",
    target_fpr: TargetFprOpt = 0.001,
    budget: Annotated[
        float,
        typer.Option(
            "--review-budget",
            help="Messages a reviewer can look at per 1,000; the test part is about one third phishing, so a small budget shows little.",
        ),
    ] = 400.0,
    share: Annotated[
        float, typer.Option("--train-share", help="Oldest share of each source to train on.")
    ] = 0.7,
    folds: Annotated[int, typer.Option("--folds", help="k for the stratified k-fold comparison.")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """Time split, k-fold, ablations, baselines, era checks, thresholds and drift, with 95% intervals."""
    from bluebench.mail.evaluation.run import evaluate
    from bluebench.mail.labels import load_labels
    from bluebench.mail.train import attach_labels

    lab = load_labels(labels)
    ms = _read(paths)
    data = attach_labels(ms, lab)
    result = evaluate(
        data,
        target_fpr=target_fpr,
        review_budget=budget,
        share=share,
        folds=folds,
        progress=lambda m: err.print(f"[dim]{show(m)}[/dim]"),
    ).with_inputs(paths, labels, [str(s) for s in ms.unreadable])
    stored = result.to_json()
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(json.dumps(stored, indent=2, default=str))
    if as_json:
        sys.stdout.write(json.dumps(stored, default=str) + "\n")
    else:
        print_evaluation(result)
        err.print(f"stored in {show(out_path)}")
    raise typer.Exit(1 if ms.unreadable else 0)


@mail_app.command("classes")
def classes_cmd(
    paths: PathsArg,
    labels: LabelsOpt,
    relabel: Annotated[
        str,
        typer.Option("--relabel", help="Reviewed relabelling list (data/mail/relabel.csv for the corpus)."),
    ],
    out_path: Annotated[
        str, typer.Option("--out", help="Where to store the three-class evaluation JSON for reports.")
    ] = "out/mail-classes.json",
    share: Annotated[
        float, typer.Option("--train-share", help="Oldest share of each source to train on.")
    ] = 0.7,
) -> None:
    """Phishing, spam and legitimate on the time split, before and after relabelling, by source and language."""
    from bluebench.mail.evaluation.classes import three_classes
    from bluebench.mail.features import extract
    from bluebench.mail.labels import load_labels
    from bluebench.mail.relabel import load_relabels
    from bluebench.mail.train import attach_labels

    relabels = load_relabels(relabel)
    ms = _read(paths)
    data = attach_labels(ms, load_labels(labels))
    err.print(f"[dim]extracting features of {len(data.mails)} messages; choosing on validation folds[/dim]")
    result = three_classes([extract(m) for m in data.mails], data, relabels, share)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(json.dumps(result.to_json(), indent=2))
    for part in result.render():
        out.print(part)
    err.print(f"stored in {show(out_path)}")
    raise typer.Exit(1 if ms.unreadable else 0)


def verdicts_table(verdicts: list[Verdict], threshold: float) -> Table:
    """Verdicts, most suspicious first; a file name too long for the terminal folds, never cut."""
    t = table(
        f"{len(verdicts)} messages, threshold {threshold:.4f}",
        "file",
        "#",
        "score",
        "class",
        "reasons",
        wrap=(0, 4),
        right=("#", "score"),
    )
    for v in sorted(verdicts, key=lambda v: -v.score):
        why = "\n".join(show(f"{r.feature} {r.weight:+.2f}") for r in v.reasons[:4])
        cls = str(v.to_json()["class"])
        style = {"phishing": "red", "spam": "yellow"}.get(cls)
        t.add_row(show(v.file), str(v.index), f"{v.score:.3f}", cls, why, style=style)
    return t


def print_evaluation(res: MailEvaluation) -> None:
    """The evaluation as its parts draw themselves: tables that fit an 80-column terminal."""
    for part in res.render():
        out.print(part)
