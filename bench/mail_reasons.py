"""Checks that every verdict's reasons name real features of its message, over a whole corpus.

Reads ``../shared/data/email`` (see that folder's README). Trains the shipped model on it
(or loads ``--model``), scores every message as ``bluebench mail score --json`` does, and
checks each reason: a ``word:`` reason must be a word of the text the model read, ``text_score``
needs a text with words, any other reason a named feature whose value in that message is not 0. Prints the counts.

    .venv/bin/python bench/mail_reasons.py [--model MODEL] [--out bench/out/mail_reasons.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from pathlib import Path

from bluebench.mail.features import FEATURE_INDEX, extract
from bluebench.mail.labels import load_labels
from bluebench.mail.modelfile import load_model, save_model
from bluebench.mail.spec import TOKEN_PATTERN, model_text
from bluebench.mail.subword import words as subword_words
from bluebench.mail.train import attach_labels, train_model
from bluebench.sources.mailparse import read_mail

EMAIL = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "email"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(EMAIL))
    ap.add_argument("--model")
    ap.add_argument("--out")
    args = ap.parse_args()
    ms = read_mail([args.data])
    path = args.model
    if path is None:
        fitted, meta = train_model(attach_labels(ms, load_labels(Path(args.data) / "labels.csv")))
        path = os.path.join(tempfile.mkdtemp(), "mail.model")
        save_model(path, fitted.model, fitted.spec, meta)
    model = load_model(path)
    verdicts = model.score_mails(ms.mails)
    no_reasons = 0
    reasons = 0
    wrong: list[str] = []
    for v, mail in zip(verdicts, ms.mails, strict=True):
        if not v.reasons:
            no_reasons += 1
        e = extract(mail)
        text = model_text(e.text, model.spec)
        # a word as the word model cuts it, or a maximal run of letters as the letter n-gram
        # model (subword.words) does: both are words written in the message
        words = {w.lower() for w in re.findall(TOKEN_PATTERN, text)} | set(subword_words(text))
        for r in v.reasons:
            reasons += 1
            if r.feature.startswith("word:"):
                real = r.feature[5:] in words
            elif r.feature == "text_score":  # the stacked model's text score: every text has one
                real = bool(words) and r.value != 0
            else:
                real = e.values[FEATURE_INDEX[r.feature]] != 0
            if not real or r.weight == 0:
                wrong.append(f"{v.file}#{v.index}: {r.feature}")
    result = {
        "messages": len(verdicts),
        "verdicts_without_reasons": no_reasons,
        "reasons": reasons,
        "reasons_not_in_message": len(wrong),
        "examples": wrong[:20],
    }
    print(
        f"{len(verdicts)} verdicts, {reasons} reasons; verdicts without reasons: {no_reasons}; "
        f"reasons naming something the message does not have: {len(wrong)}"
    )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
