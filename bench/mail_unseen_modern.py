"""Modern legitimate mail never seen in training, with and without the per-language balance.

Reads ``../shared/data/email`` (see that folder's README). Trains the shipped spec's phishing
part on every message but the modern legitimate mail (``modern:*`` sources), its threshold at
the shipped out-of-fold ham FPR, and counts the modern legitimate messages it flags, by source:
mail of kinds the model has never met, the harshest test of the shift. It does this with the
text score's classes balanced over the whole set and within each language (``Spec.balance``),
on the sources' labels and after the reviewed relabelling, so the balance is judged where
the shifted validation of ``mail classes`` cannot reach (all modern legitimate streams out
at once, and the time split's test months in training).

    .venv/bin/python bench/mail_unseen_modern.py [--out bench/results/mail-unseen-modern.json]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from bluebench.mail.evaluation.runs import fit_spec
from bluebench.mail.features import Extracted, extract
from bluebench.mail.labels import load_labels
from bluebench.mail.relabel import apply_relabels, load_relabels
from bluebench.mail.spec import design
from bluebench.mail.train import SHIPPED, Labelled, attach_labels
from bluebench.sources.mailparse import read_mail

ROOT = Path(__file__).resolve().parent.parent
EMAIL = ROOT.parent / "shared" / "data" / "email"
RELABEL = ROOT / "data" / "mail" / "relabel.csv"


def flagged_by_source(
    data: Labelled, ex: list[Extracted], balance: str
) -> tuple[dict[str, list[int]], float, dict[str, float]]:
    """Fit without modern legitimate mail: per modern source [flagged, messages], the threshold, median text score."""
    sources = np.asarray(data.sources).astype(str)
    modern = np.char.startswith(sources, "modern") & (np.asarray(data.labels) == "ham")
    spec = replace(SHIPPED.spec, balance=balance)
    run = fit_spec("unseen", "", spec, ex, data, ~modern, modern, SHIPPED.target_fpr)
    assert run.model is not None
    text_score = run.model.text_scores(design([ex[i] for i in np.flatnonzero(modern)], None, spec))
    medians = {
        s: float(np.median(text_score[sources[modern] == s])) for s in sorted(set(sources[modern].tolist()))
    }
    out: dict[str, list[int]] = {}
    for source, hit in zip(sources[modern].tolist(), (run.scores >= run.threshold).tolist(), strict=True):
        row = out.setdefault(source, [0, 0])
        row[0] += int(hit)
        row[1] += 1
    return dict(sorted(out.items())), run.threshold, medians


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(EMAIL))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "mail-unseen-modern.json"))
    args = ap.parse_args()
    ms = read_mail([args.data])
    source_labels = attach_labels(ms, load_labels(Path(args.data) / "labels.csv"))
    relabelled, _report = apply_relabels(source_labels, load_relabels(RELABEL))
    ex = [extract(m) for m in source_labels.mails]
    rows = []
    for labels, data in (
        ("the sources' labels", source_labels),
        ("after the reviewed relabelling", relabelled),
    ):
        for balance in ("class", "language"):
            by, threshold, medians = flagged_by_source(data, ex, balance)
            rows.append(
                {
                    "labels": labels,
                    "balance": balance,
                    "threshold": threshold,
                    "by_source": by,
                    "text_score_median": medians,
                }
            )
            total = [sum(v[0] for v in by.values()), sum(v[1] for v in by.values())]
            print(
                f"{labels}, balance {balance}: {total[0]}/{total[1]} flagged", {k: v for k, v in by.items()}
            )
    result = {
        "spec": SHIPPED.spec.to_json(),
        "target_fpr": SHIPPED.target_fpr,
        "command": "python bench/mail_unseen_modern.py",
        "rows": rows,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
