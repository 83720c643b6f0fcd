"""The model the mail tests share: trained once on the shipped sample, written as a model file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluebench.mail.labels import load_labels
from bluebench.mail.modelfile import SpamPart, save_model
from bluebench.mail.train import attach_labels, train_model, train_spam
from bluebench.sources.mailparse import read_mail

DATA = Path(__file__).resolve().parents[1] / "data" / "mail"


@pytest.fixture(scope="session")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = attach_labels(read_mail([str(DATA)]), load_labels(DATA / "labels.csv"))
    fitted, meta = train_model(data, folds=3)
    path = tmp_path_factory.mktemp("model") / "mail.model"
    spam = train_spam(data, fitted.spec, folds=3)
    assert spam is not None
    save_model(path, fitted.model, fitted.spec, meta, SpamPart(spam[0].model, spam[0].spec, spam[1]))
    return path
