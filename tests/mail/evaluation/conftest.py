"""The shipped sample as labelled mail with its features, and its whole evaluation, for the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluebench.mail.evaluation.results import MailEvaluation
from bluebench.mail.evaluation.run import evaluate
from bluebench.mail.features import Extracted, extract
from bluebench.mail.labels import load_labels
from bluebench.mail.train import Labelled, attach_labels
from bluebench.sources.mailparse import read_mail

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "mail"


@pytest.fixture
def sample() -> tuple[Labelled, list[Extracted]]:
    """A fresh copy each time: some tests move the messages' dates."""
    data = attach_labels(read_mail([str(SAMPLE)]), load_labels(SAMPLE / "labels.csv"))
    return data, [extract(m) for m in data.mails]


@pytest.fixture(scope="session")
def evaluation() -> MailEvaluation:
    """The whole evaluation of the shipped sample, once (small folds and bootstrap: it is slow)."""
    data = attach_labels(read_mail([str(SAMPLE)]), load_labels(SAMPLE / "labels.csv"))
    return evaluate(data, folds=3, bootstrap=20)
