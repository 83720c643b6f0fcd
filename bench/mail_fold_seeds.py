"""How much the shuffle of the out-of-fold split alone moves the mail figures the choice is made by.

Reads ``../shared/data/email`` (see that folder's README). For the shipped spec's phishing part,
on the relabelled training part of the time split (never its test part), and for each seed of
``spec.cv_folds`` (the shuffle that decides which messages score which out of fold), with the
text score balanced per language (shipped) and overall: the
threshold at the shipped out-of-fold ham FPR when trained on the whole training part, and the
figures ``mail classes`` chooses by, phishing caught and legitimate mail flagged on the
forward-chaining folds and on the legitimate streams left out of development. Everything else
is the same from seed to seed, so the spread is noise that a choice between candidates differing
by a message or two cannot see through.

    .venv/bin/python bench/mail_fold_seeds.py [--seeds 5] [--out bench/results/mail-fold-seeds.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bluebench.mail.evaluation.runs import fit_model
from bluebench.mail.evaluation.selection import validation_folds
from bluebench.mail.evaluation.split import time_split
from bluebench.mail.evaluation.streams import held_out_streams
from bluebench.mail.features import extract
from bluebench.mail.labels import load_labels
from bluebench.mail.relabel import apply_relabels, load_relabels
from bluebench.mail.spec import Spec, design
from bluebench.mail.train import SHIPPED, attach_labels
from bluebench.sources.mailparse import read_mail

ROOT = Path(__file__).resolve().parent.parent
EMAIL = ROOT.parent / "shared" / "data" / "email"
RELABEL = ROOT / "data" / "mail" / "relabel.csv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(EMAIL))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "mail-fold-seeds.json"))
    args = ap.parse_args()
    ms = read_mail([args.data])
    data, _report = apply_relabels(
        attach_labels(ms, load_labels(Path(args.data) / "labels.csv")), load_relabels(RELABEL)
    )
    train, _info = time_split(data, 0.7)
    folds, streams_out = validation_folds(data, train), held_out_streams(data, train)
    target = SHIPPED.target_fpr
    ex = [extract(m) for m in data.mails]
    X = design(ex, data.mails, SHIPPED.spec)
    labels = np.asarray(data.labels)

    def decide(dev: np.ndarray, val: np.ndarray, seed: int, spec: Spec) -> tuple[np.ndarray, float]:
        """Fit on ``dev`` with this shuffle; flags on ``val`` at the threshold from ``dev``'s out-of-fold ham."""
        model, reads, _oof = fit_model(X, ex, data, dev, spec, target, seed)
        return model.scores(reads[val]) >= model.threshold, model.threshold

    rows: list[dict[str, Any]] = []
    for balance, seed in itertools.product(("language", "class"), range(args.seeds)):
        spec = replace(SHIPPED.spec, balance=balance)
        _flags, threshold = decide(train, train, seed, spec)
        caught = legit = 0
        for dev, val in folds:
            flags, _t = decide(dev, val, seed, spec)
            caught += int((flags & (labels[val] == "phishing")).sum())
            legit += int((flags & (labels[val] == "ham")).sum())
        streams = {}
        for s in streams_out:
            flags, _t = decide(s.development, s.held, seed, spec)
            streams[s.source] = int(flags.sum())
        row = {
            "balance": balance,
            "seed": seed,
            "threshold": threshold,
            "folds_phishing_caught": caught,
            "folds_legitimate_flagged": legit,
            "streams_legitimate_flagged": streams,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    val_all = np.zeros(len(labels), dtype=bool)
    for _dev, val in folds:
        val_all |= val
    result = {
        "spec": SHIPPED.spec.to_json(),
        "target_fpr": target,
        "command": f"python bench/mail_fold_seeds.py --seeds {args.seeds}",
        "folds_phishing": int((val_all & (labels == "phishing")).sum()),
        "folds_legitimate": int((val_all & (labels == "ham")).sum()),
        "streams_legitimate": {s.source: int(s.held.sum()) for s in streams_out},
        "rows": rows,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
