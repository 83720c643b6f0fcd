"""Retraining month by month learns a month only after scoring it, from the labels that come back."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from bluebench.mail.evaluation.retraining import Retraining, retraining
from bluebench.mail.evaluation.split import time_split
from bluebench.mail.features import Extracted
from bluebench.mail.spec import Spec
from bluebench.mail.train import Labelled


def test_retraining_learns_each_month_only_after_scoring_it(sample: tuple[Labelled, list[Extracted]]) -> None:
    data, ex = sample
    train, _ = time_split(data, 0.7)
    test_idx = np.flatnonzero(~train)
    # spread the test part over months, two messages a month, so that refits have room
    for k, i in enumerate(test_idx):
        data.mails[i].date = datetime(2030 + k // 24, 1 + (k // 2) % 12, 1)
    month_of = {int(i): data.mails[i].month for i in test_idx}
    runs = {
        fb: retraining(ex, data, train, Spec(), 0.001, fb, min_new=1) for fb in ("none", "reviewed", "all")
    }

    assert len(runs["none"].fits) == 1 and runs["none"].fits[0].messages == int(train.sum())
    every = runs["all"].fits
    # every label comes back: a refit before each month after the first, on exactly the
    # training part and the test months before it
    assert len(every) == len(set(month_of.values()))
    for f in every:
        assert f.before is not None
        assert f.messages == int(train.sum()) + sum(m < f.before for m in month_of.values() if m)
    # reviewed: only flagged messages come back, so never more than every message
    reviewed = runs["reviewed"].fits
    assert len(reviewed) > 1  # the sample model flags some test mail, so reviews come back
    assert all(f.new >= 1 for f in reviewed[1:])
    for f in reviewed:
        assert f.before is not None
        assert f.messages <= int(train.sum()) + sum(m < f.before for m in month_of.values() if m)
    r = runs["reviewed"]
    flagged_by_review = r.recall.k + r.fpr.k + r.spam_flagged.k
    assert reviewed[-1].messages <= int(train.sum()) + flagged_by_review
    for run in runs.values():
        assert run.recall.n == int((np.asarray(data.labels)[test_idx] == "phishing").sum())
        assert sum(s.recall.n for s in run.by_source) == run.recall.n
        stored = run.to_json()
        assert stored["key"] == stored["feedback"]  # report facts name the run by its key
        assert Retraining.from_json(stored) == run
    with pytest.raises(ValueError, match="feedback"):
        retraining(ex, data, train, Spec(), 0.001, "sometimes")
