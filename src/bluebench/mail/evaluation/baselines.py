"""The baselines every model row is measured against: keyword rules, and TF-IDF with logistic regression.

A learnt model earns its place only by beating what a rule list or the plainest text
classifier already catches on the same test part.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bluebench.mail.evaluation.runs import Run
from bluebench.mail.features import FEATURE_INDEX, Extracted
from bluebench.mail.model import threshold_for_fpr
from bluebench.mail.spec import TOKEN_PATTERN
from bluebench.mail.train import Labelled

KEYWORD_RULES: tuple[str, ...] = (
    "credential_terms",
    "urgency_terms",
    "link_ip_host",
    "link_anchor_mismatch",
    "link_lookalike",
    "display_name_brand_spoof",
    "html_form",
    "attach_executable",
    "attach_disguised",
    "link_shortener",
)


def keyword_run(
    ex: Sequence[Extracted], data: Labelled, train: np.ndarray, test: np.ndarray, target_fpr: float
) -> Run:
    """Baseline: count of rule hits (credential/urgency words, IP links, spoofed names, ...)."""
    cols = [FEATURE_INDEX[n] for n in KEYWORD_RULES]
    hits = np.array([(e.values[cols] > 0).sum() for e in ex], dtype=np.float64) / len(cols)
    labels = np.asarray(data.labels)
    t = threshold_for_fpr(hits[train], labels[train] == "ham", target_fpr)
    return Run("keyword_rules", f"keyword rules: share of {len(cols)} rules hit (baseline)", hits[test], t)


def tfidf_lr_run(ex: Sequence[Extracted], data: Labelled, train: np.ndarray, test: np.ndarray) -> Run:
    """Baseline: plain TF-IDF + logistic regression, default weights, threshold 0.5."""
    vec = TfidfVectorizer(token_pattern=TOKEN_PATTERN, sublinear_tf=True, min_df=2)
    texts = np.array([e.text for e in ex], dtype=object)
    Z = vec.fit_transform(texts[train])
    lr = LogisticRegression(max_iter=2000, solver="liblinear").fit(Z, data.y[train])
    s = lr.predict_proba(vec.transform(texts[test]))[:, 1]
    return Run("tfidf_lr", "TF-IDF + logistic regression alone, threshold 0.5 (baseline)", s, 0.5)
