"""The model and threshold target are chosen on validation folds inside the training part only."""

from __future__ import annotations

import json

from bluebench.mail.evaluation.selection import (
    CANDIDATE_TARGET_FPR,
    CANDIDATES,
    SELECTION_MAX_FPR,
    VALIDATION_CUTS,
    Selection,
    select,
)
from bluebench.mail.evaluation.split import time_split
from bluebench.mail.features import Extracted
from bluebench.mail.train import Labelled


def test_choices_are_made_on_a_validation_split_inside_the_training_part(
    sample: tuple[Labelled, list[Extracted]],
) -> None:
    data, ex = sample
    train, _ = time_split(data, 0.7)
    sel = select(ex, data, train, 0)
    # every development and validation message is in the training part: the test part is
    # never read; the folds validate on disjoint, ever newer mail
    folds = sel.split.folds
    assert [f.cut for f in folds] == list(VALIDATION_CUTS)
    assert all(f.development + f.validation <= int(train.sum()) for f in folds)
    assert sum(f.validation for f in folds) == sel.split.validation
    assert folds[-1].development + folds[-1].validation == int(train.sum())
    assert [f.development for f in folds] == sorted(f.development for f in folds)
    assert len(sel.candidates) == len(CANDIDATES) * len(CANDIDATE_TARGET_FPR)
    assert all(len(c.threshold) == len(VALIDATION_CUTS) for c in sel.candidates)
    ok = [c for c in sel.candidates if (c.validation.fpr.value or 0.0) <= SELECTION_MAX_FPR]
    chosen = next(c for c in sel.candidates if sel.is_chosen(c))
    if ok:
        assert chosen.validation.recall.value == max(c.validation.recall.value or 0.0 for c in ok)
    else:
        assert chosen.validation.fpr.value == min(c.validation.fpr.value or 0.0 for c in sel.candidates)
    stored = json.loads(json.dumps(sel.to_json()))
    assert stored["chosen"]["name"] == chosen.name and "name" not in stored["shipped"]
    assert Selection.from_json(stored) == sel


def test_an_older_evaluation_with_one_threshold_per_candidate_still_reads(
    sample: tuple[Labelled, list[Extracted]],
) -> None:
    data, ex = sample
    train, _ = time_split(data, 0.7)
    stored = select(ex, data, train, 0).to_json()
    for c in stored["candidates"]:
        c["threshold"] = c["threshold"][0]  # as evaluations before the two folds stored it
    assert all(len(c.threshold) == 1 for c in Selection.from_json(stored).candidates)
