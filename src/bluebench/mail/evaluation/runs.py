"""One evaluated model: fitted on some rows, its threshold from their out-of-fold ham, scores elsewhere.

Every part of the evaluation (model rows, k-fold, unseen sources, retraining) fits a spec
the same way, so a figure never differs because two parts fitted differently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bluebench.mail.features import Extracted
from bluebench.mail.model import MailModel, fit, threshold_for_fpr
from bluebench.mail.spec import Spec, design
from bluebench.mail.train import Labelled


@dataclass
class Run:
    """One model row: test scores, the threshold chosen on training, and the fitted model."""

    key: str
    description: str
    scores: np.ndarray
    threshold: float
    model: MailModel | None = None
    oof: np.ndarray | None = None  # out-of-fold training scores, in training order


def fit_spec(
    key: str,
    desc: str,
    spec: Spec,
    ex: Sequence[Extracted],
    data: Labelled,
    train: np.ndarray,
    test: np.ndarray,
    target_fpr: float,
) -> Run:
    """Fit ``spec`` on the ``train`` rows and score the ``test`` rows."""
    model, X, oof = fit_model(design(ex, data.mails, spec), ex, data, train, spec, target_fpr)
    return Run(key, desc, model.scores(X[test]), model.threshold, model, oof)


def fit_model(
    X: np.ndarray,
    ex: Sequence[Extracted],
    data: Labelled,
    rows: np.ndarray,
    spec: Spec,
    target_fpr: float,
    seed: int = 0,
) -> tuple[MailModel, np.ndarray, np.ndarray]:
    """Fit on ``rows`` of ``X``, the threshold from out-of-fold ham scores (``seed``: the folds' shuffle).

    Returns the model, the design matrix it reads (another when training dropped a feature)
    and the out-of-fold training scores.
    """
    fitted = fit(X[rows], data.y[rows], spec, seed=seed)
    t = threshold_for_fpr(fitted.oof, np.asarray(data.labels)[rows] == "ham", target_fpr)
    model = MailModel(fitted.model, fitted.spec, {"threshold": {"value": t}, "dropped": fitted.dropped})
    reads = X if fitted.spec == spec else design(ex, data.mails, fitted.spec)
    return model, reads, fitted.oof
