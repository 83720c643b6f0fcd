"""The phishing model: a scikit-learn pipeline, its safe file format, and scores with reasons.

Two kinds (``Spec.kind``). ``stack`` (shipped): a logistic regression over the TF-IDF of the
text's words or of their letter n-grams (``subword.py``) gives an out-of-fold text score,
and small monotonic gradient-boosted trees read it with the named features of
``features.py``; a sigmoid calibrates them. ``linear``: a ColumnTransformer joins TF-IDF over
subject and body with the named features (max-abs scaled, so an absent feature stays
exactly 0), then a class-balanced logistic regression calibrated with Platt scaling on
out-of-fold scores (``CalibratedClassifierCV(ensemble=False)``). Both split every score
exactly into per-feature contributions. The score is the calibrated probability of
phishing: higher = more likely phishing. The threshold that turns a score into a verdict
is chosen from out-of-fold training scores and stored beside the model, never inside it.

Class imbalance is handled deliberately: ``class_weight="balanced"`` weighs phishing and
not-phishing equally while fitting, and the threshold is tuned to a target false-positive
rate rather than left at 0.5. Spam is a negative class: it never counts as a phishing catch.

The model file is a zip of ``meta.json`` (metadata and the SHA-256 of the other parts),
``model.skops`` and ``vocabulary.json`` (the TF-IDF words or n-grams, as a list). Loading
checks the checksums, then asks skops which types the file would build and refuses any
outside a fixed allow-list, so a tampered file cannot run code.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler

from bluebench.errors import BluebenchError
from bluebench.mail.features import (
    ERA_FREE_FEATURES,
    FEATURE_INDEX,
    FEATURES,
    RISK_FEATURES,
    Extracted,
    extract,
)
from bluebench.mail.subword import Gathered, SubwordVectorizer
from bluebench.mail.text import STOPWORDS, era_tokens, strip_corpus_artefacts, strip_era_text
from bluebench.sources.mailparse import Mail

FORMAT = "bluebench-mail-model"
FORMAT_VERSION = 4
# Versions this bluebench reads: 2 held the linear model only (its spec has no ``kind``);
# 3 added the stack; 4 the stack over letter n-grams (``text_units="subwords"``).
READABLE_VERSIONS: frozenset[int] = frozenset({2, 3, 4})
TEXT_UNITS: tuple[str, ...] = ("words", "subwords")
TOKEN_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"  # letters only: no years, versions or ids as words
DEFAULT_TARGET_FPR = 0.001

# Types a bluebench mail model may contain beyond those skops trusts by default (plain
# scikit-learn classes without code hooks: a tree predictor is arrays of nodes). Any other type a file asks for (a
# function, an unknown class, builtins such as eval) makes loading fail.
ALLOWED_TYPES: frozenset[str] = frozenset(
    {
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.model_selection._split.StratifiedKFold",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "bluebench.mail.subword.SubwordVectorizer",
    }
)


class ModelError(BluebenchError):
    """A model file is missing, damaged, tampered with or of another kind; the message says which."""


@dataclass(frozen=True)
class Spec:
    """What a model reads and how it combines it.

    ``text_source`` is ``body`` (subject and body), ``era`` (header names, mail software,
    Received formats and year: the era probe of the evaluation) or ``none``. ``clean``
    takes out what the corpora put in the text (forwarded header blocks, the honeypot's
    substituted address: ``text.strip_corpus_artefacts``); ``stopwords`` drops
    function words of seven languages so that a language alone is no signal.

    ``kind`` is ``stack`` (shipped) or ``linear``. ``linear``: one class-balanced logistic
    regression over TF-IDF words and the named features. ``stack``: the same TF-IDF words
    make a text score (a logistic regression, its out-of-fold value in training), and a
    small gradient-boosted model (``leaves`` leaves, ``rounds`` rounds at ``rate``) reads
    that score with the named features; it may only rise with the text score and with
    each risk indicator (monotonic constraints), and it learns that weak signals together
    (an off-site link, a short body, a foreign Message-ID) differ from each alone.

    ``text_units`` is what the text score reads: ``words`` (TF-IDF over words) or
    ``subwords`` (TF-IDF over the letter n-grams of the same words, ``subword.py``: robust to
    misspelt, look-alike and inflected words; stack only, and each n-gram's push is credited
    to the words of the message that hold it, so reasons still name words). The
    defaults are what the evaluation's forward-chaining validation folds (carved by time
    from the training part, never the test part) chose among the candidates listed in
    ``evaluate.py``.
    """

    features: tuple[str, ...] = ERA_FREE_FEATURES
    text_source: str = "body"
    strip_era: bool = True
    C: float = 4.0
    kind: str = "stack"
    clean: bool = True
    stopwords: bool = False
    leaves: int = 8
    rounds: int = 100
    rate: float = 0.05
    text_units: str = "subwords"

    def __post_init__(self) -> None:
        if self.text_units not in TEXT_UNITS:
            raise ModelError(f"text units {self.text_units!r} are not one of {', '.join(TEXT_UNITS)}")
        if self.text_units == "subwords" and self.kind != "stack" and self.text_source == "body":
            raise ModelError(
                "letter n-grams (subwords) are read by the stacked model only: use text_units='words'"
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "text_source": self.text_source,
            "strip_era": self.strip_era,
            "C": self.C,
            "kind": self.kind,
            "clean": self.clean,
            "stopwords": self.stopwords,
            "leaves": self.leaves,
            "rounds": self.rounds,
            "rate": self.rate,
            "text_units": self.text_units,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Spec:
        unknown = [f for f in d["features"] if f not in FEATURE_INDEX]
        if unknown:
            raise ModelError(f"model uses features this bluebench does not know: {', '.join(unknown)}")
        kind = str(d.get("kind", "linear"))
        if kind not in ("linear", "stack"):
            raise ModelError(f"model kind {kind!r} is not linear or stack")
        return cls(
            tuple(d["features"]),
            str(d["text_source"]),
            bool(d["strip_era"]),
            float(d["C"]),
            kind,
            bool(d.get("clean", False)),
            bool(d.get("stopwords", False)),
            int(d.get("leaves", 8)),
            int(d.get("rounds", 100)),
            float(d.get("rate", 0.05)),
            str(d.get("text_units", "words")),
        )

    def with_features(self, features: Iterable[str]) -> Spec:
        """The same spec reading other named features."""
        return replace(self, features=tuple(features))


def model_text(text: str, spec: Spec) -> str:
    """The text a model with this spec reads (column 0 of :func:`design`)."""
    if spec.clean:
        text = strip_corpus_artefacts(text)
    return strip_era_text(text) if spec.strip_era else text


def design(extracted: Sequence[Extracted], mails: Sequence[Mail] | None, spec: Spec) -> np.ndarray:
    """The object matrix the pipeline reads: column 0 the text, then the named features.

    ``mails`` is needed only for the era probe of the evaluation (``text_source="era"``).
    """
    n = len(extracted)
    X = np.empty((n, 1 + len(spec.features)), dtype=object)
    cols = [FEATURE_INDEX[f] for f in spec.features]
    for i, e in enumerate(extracted):
        if spec.text_source == "era":
            if mails is None:
                raise ModelError("this model reads header names (an evaluation probe), not message text")
            X[i, 0] = era_tokens(mails[i])
        elif spec.text_source == "body":
            X[i, 0] = model_text(e.text, spec)
        else:
            X[i, 0] = ""
        if cols:
            X[i, 1:] = e.values[cols]
    return X


def make_vectorizer(spec: Spec) -> TfidfVectorizer | SubwordVectorizer:
    """TF-IDF over words (letters only) or their letter n-grams, or over era tokens for the era probe."""
    if spec.text_units == "subwords" and spec.text_source == "body":
        return SubwordVectorizer(stop_words=sorted(STOPWORDS) if spec.stopwords else None)
    return TfidfVectorizer(
        token_pattern=TOKEN_PATTERN if spec.text_source == "body" else r"\S+",
        sublinear_tf=True,
        min_df=2,
        max_df=0.95,
        max_features=50000,
        stop_words=sorted(STOPWORDS) if spec.stopwords else None,
        dtype=np.float64,
    )


def make_features(spec: Spec) -> ColumnTransformer:
    """TF-IDF over column 0 (unless the spec has no text) and max-abs scaled named features."""
    transformers: list[tuple[str, Any, Any]] = []
    if spec.text_source != "none":
        transformers.append(("text", make_vectorizer(spec), 0))
    if spec.features:
        transformers.append(("signals", MaxAbsScaler(), list(range(1, 1 + len(spec.features)))))
    return ColumnTransformer(transformers, sparse_threshold=1.0)


def make_classifier(spec: Spec) -> LogisticRegression:
    """Class-balanced logistic regression: phishing and not-phishing weigh the same in the fit."""
    return LogisticRegression(C=spec.C, class_weight="balanced", solver="liblinear", max_iter=2000)


def _folds(k: int) -> StratifiedKFold:
    """Shuffled, seeded folds: input order is by source, and unshuffled folds would hold out sources."""
    return StratifiedKFold(k, shuffle=True, random_state=0)


@dataclass
class Fitted:
    """A fitted pipeline with out-of-fold training scores (to choose a threshold) and its spec.

    ``dropped`` names risk indicators left out because training gave them a benign weight.
    """

    model: Any  # a Pipeline (linear) or a dict of fitted parts (stack, see fit_stack)
    spec: Spec
    oof: np.ndarray
    dropped: list[str] = field(default_factory=list)


def fit(X: np.ndarray, y: np.ndarray, spec: Spec, folds: int = 5) -> Fitted:
    """Fit (see :func:`fit_once`); risk indicators that learn a negative weight are dropped.

    A risk indicator (``features.RISK_FEATURES``) may only raise a score: when the training
    data is too thin to show that (three zipped DMARC reports and no zipped phish), the
    feature is removed and the model refitted, and the metadata says so.
    """
    if spec.kind == "stack":
        return fit_stack(X, y, spec, folds)
    dropped: list[str] = []
    for _ in range(3):
        fitted = fit_once(X, y, spec, folds)
        coef = _coefficients(fitted.model)
        offset = len(coef) - len(spec.features)
        bad = [f for i, f in enumerate(spec.features) if f in RISK_FEATURES and coef[offset + i] < 0]
        if not bad:
            break
        dropped.extend(bad)
        keep = [i for i, f in enumerate(spec.features) if f not in bad]
        X = np.concatenate([X[:, :1], X[:, [1 + i for i in keep]]], axis=1)
        spec = spec.with_features(spec.features[i] for i in keep)
    fitted.dropped = dropped
    return fitted


def _coefficients(model: Pipeline) -> np.ndarray:
    calibrated: CalibratedClassifierCV = model.named_steps["classifier"]
    return np.asarray(calibrated.calibrated_classifiers_[0].estimator.coef_).ravel()


def fit_once(X: np.ndarray, y: np.ndarray, spec: Spec, folds: int = 5) -> Fitted:
    """Fit ``features -> calibrated classifier`` and return out-of-fold calibrated scores too.

    The features (TF-IDF vocabulary and IDF, scaling) are fitted once on the training data:
    they never see labels. Calibration refits the classifier on k folds and fits a sigmoid
    on the out-of-fold decision values; the same folds give the out-of-fold scores returned
    here, passed through that sigmoid: honest training scores for choosing a threshold.
    """
    k = max(2, min(folds, int(np.bincount(y, minlength=2).min())))
    features = make_features(spec)
    Z = sparse.csr_matrix(features.fit_transform(X))
    calibrated = CalibratedClassifierCV(make_classifier(spec), method="sigmoid", cv=_folds(k), ensemble=False)
    calibrated.fit(Z, y)
    decision = cross_val_predict(make_classifier(spec), Z, y, cv=_folds(k), method="decision_function")
    oof = calibrated.calibrated_classifiers_[0].calibrators[0].predict(decision)
    model = Pipeline([("features", features), ("classifier", calibrated)])
    return Fitted(model, spec, np.asarray(oof, dtype=np.float64))


# ---------------------------------------------------------------------------------------------
# The stacked model: a text score, then a small monotonic gradient-boosted model


def make_booster(spec: Spec, n_samples: int = 10_000) -> HistGradientBoostingClassifier:
    """Gradient-boosted trees over [text score, named features]; risk indicators may only raise it.

    A leaf holds at least 20 messages (scikit-learn's default) once there are 400 or more;
    a tiny training set (the shipped sample) gets smaller leaves so that the trees can split.
    """
    mono = [1] if spec.text_source != "none" else []
    mono += [1 if f in RISK_FEATURES else 0 for f in spec.features]
    return HistGradientBoostingClassifier(
        learning_rate=spec.rate,
        max_iter=spec.rounds,
        max_leaf_nodes=spec.leaves,
        min_samples_leaf=min(20, max(2, n_samples // 20)),
        monotonic_cst=mono,
        class_weight="balanced",
        early_stopping=False,
        random_state=0,
    )


def _named(X: np.ndarray) -> np.ndarray:
    return np.asarray(X[:, 1:], dtype=np.float64).reshape(len(X), -1)


def fit_stack(X: np.ndarray, y: np.ndarray, spec: Spec, folds: int = 5) -> Fitted:
    """Fit ``text -> text score``, then ``[text score, features] -> boosted trees -> sigmoid``.

    The trees learn from the *out-of-fold* text score of each training message, as they
    will see it on new mail; the sigmoid (Platt) is fitted on out-of-fold tree scores, and
    those calibrated out-of-fold scores are returned to choose the threshold.
    """
    k = max(2, min(folds, int(np.bincount(y, minlength=2).min())))
    parts: dict[str, Any] = {"kind": "stack", "text": None, "text_model": None}
    H = _named(X)
    if spec.text_source != "none":
        vec = make_vectorizer(spec)
        Zt = sparse.csr_matrix(vec.fit_transform(X[:, 0]))
        text_oof = cross_val_predict(make_classifier(spec), Zt, y, cv=_folds(k), method="decision_function")
        parts["text"] = vec
        parts["text_model"] = make_classifier(spec).fit(Zt, y)
        H = np.column_stack([text_oof, H])
    raw_oof = cross_val_predict(make_booster(spec, len(y)), H, y, cv=_folds(k), method="decision_function")
    calibrator = _SigmoidCalibration().fit(raw_oof, y)
    booster = make_booster(spec, len(y)).fit(H, y)
    parts["booster"] = booster
    parts["calibrator"] = calibrator
    names = (["text_score"] if spec.text_source != "none" else []) + list(spec.features)
    contrib, _bias = tree_contributions(booster, H)
    importance: list[list[Any]] = []
    for j, name in enumerate(names):
        present = H[:, j] != 0
        if name == "text_score":  # every message has one: its mean push either way
            importance.append([name, float(np.abs(contrib[:, j]).mean())])
        elif present.any():
            importance.append([name, float(contrib[present, j].mean())])
    parts["importance"] = importance
    oof = calibrator.predict(raw_oof)
    return Fitted(parts, spec, np.asarray(oof, dtype=np.float64))


def tree_contributions(
    booster: HistGradientBoostingClassifier, H: np.ndarray, trees: list[Any] | None = None
) -> tuple[np.ndarray, float]:
    """Per-row, per-column contributions to the trees' log-odds, and the common bias.

    Each tree is walked from its root; when a split on column j moves a message to a child,
    the change in node value is that column's contribution (Saabas' decomposition). The
    changes telescope, so bias + the row's contributions equal its raw score exactly, and
    a column that no split on the message's path used contributes exactly 0.
    """
    n, m = H.shape
    contrib = np.zeros((n, m), dtype=np.float64)
    bias = float(np.ravel(booster._baseline_prediction)[0])
    rows = np.arange(n)
    for feat, thr, left, right, leaf, value in trees if trees is not None else _tree_arrays(booster):
        bias += float(value[0])
        node = np.zeros(n, dtype=np.int64)
        idx = rows
        while len(idx):
            nd = node[idx]
            inner = ~leaf[nd]
            idx, nd = idx[inner], nd[inner]
            if not len(idx):
                break
            f = feat[nd]
            child = np.where(H[idx, f] <= thr[nd], left[nd], right[nd])
            contrib[idx, f] += value[child] - value[nd]  # each row once per step: no add.at needed
            node[idx] = child
    return contrib, bias


def _tree_arrays(
    booster: HistGradientBoostingClassifier,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(feature, threshold, left, right, is leaf, value) of each tree; inner values shrunk like leaves."""
    out = []
    for per_class in booster._predictors:
        nodes = per_class[0].nodes
        leaf = nodes["is_leaf"].astype(bool)
        value = nodes["value"].astype(np.float64).copy()
        value[~leaf] *= booster.learning_rate  # the grower shrinks leaves only
        out.append(
            (
                nodes["feature_idx"].astype(np.int64),
                nodes["num_threshold"].astype(np.float64),
                nodes["left"].astype(np.int64),
                nodes["right"].astype(np.int64),
                leaf,
                value,
            )
        )
    return out


def threshold_for_fpr(scores: np.ndarray, negative: np.ndarray, target_fpr: float) -> float:
    """The lowest threshold whose false-positive rate on ``negative`` scores is <= target."""
    neg = np.sort(scores[negative])[::-1]
    if len(neg) == 0:
        return 0.5
    allowed = int(np.floor(target_fpr * len(neg)))
    # flag score >= t; allowing `allowed` negatives above t: t just above the next one
    if allowed >= len(neg):
        return float(neg[-1])
    return float(np.nextafter(neg[allowed], np.inf))


def threshold_for_budget(scores: np.ndarray, per_thousand: float) -> float:
    """The threshold that flags about ``per_thousand`` messages in every 1,000 scored."""
    s = np.sort(scores)[::-1]
    k = int(np.floor(per_thousand / 1000 * len(s)))
    if k <= 0:
        return float(np.nextafter(s[0], np.inf)) if len(s) else 0.5
    return float(s[min(k, len(s)) - 1])


# ---------------------------------------------------------------------------------------------
# Scores and reasons


@dataclass
class Reason:
    """One feature or word of this message and how far it moved the score (log-odds)."""

    feature: str
    group: str
    weight: float
    value: float
    evidence: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "group": self.group,
            "weight": round(self.weight, 4),
            "value": round(self.value, 4),
            "evidence": self.evidence,
        }


@dataclass
class Verdict:
    """A scored message: higher score = more likely phishing; the threshold decides."""

    file: str
    index: int
    score: float
    verdict: str
    threshold: float
    reasons: list[Reason] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "index": self.index,
            "score": round(self.score, 6),
            "verdict": self.verdict,
            "threshold": self.threshold,
            "reasons": [r.to_json() for r in self.reasons],
        }


_GROUP_OF = {f.name: f.group for f in FEATURES}
_ERA_FEATURES = frozenset(f.name for f in FEATURES if f.era)


@dataclass
class TextShares:
    """Each word's share of its text's push, for a batch (``SubwordVectorizer.batch_word_shares``)."""

    g: Gathered
    per_word: np.ndarray
    held: np.ndarray
    total: np.ndarray


def top_by_size(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` values largest in size, largest first, ties in position order.

    The same as ``np.argsort(-np.abs(values), kind="stable")[:k]``, without sorting them all:
    a message has hundreds of words and a reason names a few.
    """
    key = -np.abs(values)
    if len(key) > k > 0:
        kth = np.partition(key, k - 1)[k - 1]
        near = np.flatnonzero(key <= kth)  # the k largest and any tied with the k-th
        return near[np.argsort(key[near], kind="stable")][:k]
    return np.argsort(key, kind="stable")[: max(k, 0)]


def _subword_reasons(
    words: list[str], parts: np.ndarray, counts: np.ndarray, total: float, c: float, score: float
) -> list[tuple[float, Reason]]:
    """The text score's push ``c`` shared among the words whose letter n-grams made it.

    Each n-gram's weight x TF-IDF is split among the words of the message that hold it, so a
    reason names a word of this message and its weight is its part of ``c``; the words come
    largest share first.
    """
    out: list[tuple[float, Reason]] = []
    for k in range(len(words)):
        w, part, n = words[k], float(parts[k]), int(counts[k])
        share = c * part / total
        evidence = (
            f"{w!r} appears {n} time{'s' if n != 1 else ''}; its letter n-grams' share of "
            f"the text score's push ({score:+.2f} before the trees)"
        )
        out.append((abs(share), Reason(f"word:{w}", "text", share, part, evidence)))
    return out


class MailModel:
    """A loaded model: the fitted parts, its spec, threshold and metadata.

    ``model`` is a Pipeline for ``kind="linear"`` and a dict of parts for ``kind="stack"``
    (``text``: the TF-IDF vectorizer, ``text_model``: the text score's logistic regression,
    ``booster``, ``calibrator``, ``importance``); scores and reasons follow the kind.
    """

    def __init__(self, fitted: Any, spec: Spec, meta: dict[str, Any]) -> None:
        self.model = fitted
        self.spec = spec
        self.meta = meta
        names: list[str] = []
        if spec.kind == "stack":
            self._vec: TfidfVectorizer | SubwordVectorizer | None = fitted["text"]
            tm: LogisticRegression | None = fitted["text_model"]
            self._text_coef = np.asarray(tm.coef_).ravel() if tm is not None else np.zeros(0)
            self._text_bias = float(np.ravel(tm.intercept_)[0]) if tm is not None else 0.0
            self._words = [str(w) for w in self._vec.get_feature_names_out()] if self._vec is not None else []
            self._trees = _tree_arrays(fitted["booster"])
            names = (["text_score"] if self._vec is not None else []) + list(spec.features)
        else:
            self._columns: ColumnTransformer = fitted.named_steps["features"]
            self._coef = _coefficients(fitted)
            for name, trans, _cols in self._columns.transformers_:
                if name == "text":
                    names.extend(f"word:{w}" for w in trans.get_feature_names_out())
                elif name == "signals":
                    names.extend(self.spec.features)
        self.names = names

    @property
    def threshold(self) -> float:
        return float(self.meta["threshold"]["value"])

    @property
    def reads_era(self) -> bool:
        """True when the model reads an era-revealing feature (so extraction must compute them)."""
        return any(f in _ERA_FEATURES for f in self.spec.features)

    def _stack_inputs(
        self, X: np.ndarray, gathered: Gathered | None = None
    ) -> tuple[np.ndarray, sparse.csr_matrix | None]:
        """The trees' input [text score, named features] and the TF-IDF rows (stack only).

        ``gathered``: the texts already cut into words and n-grams (letter n-gram models),
        so that scoring and reasons do that once.
        """
        H = _named(X)
        if self._vec is None:
            return H, None
        if gathered is not None and isinstance(self._vec, SubwordVectorizer):
            Zt = self._vec.transform_gathered(gathered)
        else:
            Zt = sparse.csr_matrix(self._vec.transform(X[:, 0]))
        text_score = np.asarray(Zt @ self._text_coef).ravel() + self._text_bias
        return np.column_stack([text_score, H]), Zt

    def _stack_proba(self, H: np.ndarray) -> np.ndarray:
        raw = self.model["booster"].decision_function(H)
        return np.asarray(self.model["calibrator"].predict(raw), dtype=np.float64)

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probability of phishing for each row of a design matrix."""
        if self.spec.kind == "stack":
            return self._stack_proba(self._stack_inputs(X)[0])
        return np.asarray(self.model.predict_proba(X)[:, 1], dtype=np.float64)

    def score_mails(
        self, mails: Sequence[Mail], threshold: float | None = None, reasons: int = 6
    ) -> list[Verdict]:
        """Score messages and explain each verdict with the features that moved it most."""
        extracted = [extract(m, self.reads_era) for m in mails]
        return self.score_extracted([(m.file, m.index) for m in mails], extracted, threshold, reasons)

    def score_extracted(
        self,
        refs: Sequence[tuple[str, int]],
        extracted: Sequence[Extracted],
        threshold: float | None = None,
        reasons: int = 6,
    ) -> list[Verdict]:
        """Score already extracted messages; ``refs`` are their (file, index)."""
        t = self.threshold if threshold is None else threshold
        X = design(extracted, None, self.spec)
        if not len(X):
            return []
        out: list[Verdict] = []
        if self.spec.kind == "stack":
            g = None
            if isinstance(self._vec, SubwordVectorizer):
                g = self._vec.gather([self._vec.analyze(str(x)) for x in X[:, 0]])
            H, Zt = self._stack_inputs(X, g)
            p = self._stack_proba(H)
            contrib, _bias = tree_contributions(self.model["booster"], H, self._trees)
            shares = None
            if g is not None and Zt is not None and isinstance(self._vec, SubwordVectorizer):
                shares = TextShares(g, *self._vec.batch_word_shares(g, Zt, self._text_coef, contrib[:, 0]))
            for i, (file, index) in enumerate(refs):
                why = self.explain_stack(contrib[i], H[i], Zt, i, extracted[i], reasons, str(X[i, 0]), shares)
                verdict = "phishing" if p[i] >= t else "not phishing"
                out.append(Verdict(file, index, float(p[i]), verdict, t, why))
            return out
        # one transform serves both the score and the explanation
        Z = sparse.csr_matrix(self._columns.transform(X))
        p = np.asarray(self.model.named_steps["classifier"].predict_proba(Z)[:, 1], dtype=np.float64)
        for i, (file, index) in enumerate(refs):
            why = self.explain_row(Z, i, extracted[i], reasons, str(X[i, 0]))
            verdict = "phishing" if p[i] >= t else "not phishing"
            out.append(Verdict(file, index, float(p[i]), verdict, t, why))
        return out

    def explain_stack(
        self,
        contrib: np.ndarray,
        h: np.ndarray,
        Zt: sparse.csr_matrix | None,
        i: int,
        ex: Extracted,
        top: int,
        text: str = "",
        shares: TextShares | None = None,
    ) -> list[Reason]:
        """The largest contributions of this message to the trees' log-odds.

        A named feature's contribution is what the splits on it along the message's paths
        added (0 when the message lacks the feature or no split used it). The text score's
        contribution is shared among the words of this message that pushed the text score
        the same way, in proportion to their weight x TF-IDF in the text model; when no
        word did (the push came from the score's level alone), it is one ``text_score`` reason;
        a text without any word of the vocabulary gives none.
        """
        items: list[tuple[float, Reason]] = []
        words: Counter[str] | None = None
        for j in np.flatnonzero(contrib):
            name, c = self.names[j], float(contrib[j])
            if name == "text_score" and Zt is not None:
                start, end = Zt.indptr[i], Zt.indptr[i + 1]
                if start == end:
                    # no word of the vocabulary: the push comes from an empty text, which is
                    # no feature of the message (as for a feature it lacks), so it is not named
                    continue
                idx, vals = Zt.indices[start:end], Zt.data[start:end]
                wc = vals * self._text_coef[idx]
                same = wc * c > 0
                if same.any() and isinstance(self._vec, SubwordVectorizer):
                    # the batch's shares (score_extracted computes them for every message)
                    assert shares is not None, "letter n-gram reasons need the batch's TextShares"
                    w0, w1 = int(shares.g.word_bounds[i]), int(shares.g.word_bounds[i + 1])
                    held = w0 + np.flatnonzero(shares.held[w0:w1])
                    held = held[top_by_size(shares.per_word[held], top)]
                    items.extend(
                        _subword_reasons(
                            [shares.g.words[k] for k in held],
                            shares.per_word[held],
                            shares.g.counts[held],
                            float(shares.total[i]),
                            c,
                            float(h[0]),
                        )
                    )
                elif same.any():
                    idx, vals, wc = idx[same], vals[same], wc[same]
                    total = float(wc.sum())
                    for o in np.argsort(-np.abs(wc))[:top]:
                        w = self._words[idx[o]]
                        if words is None:
                            words = word_counts(text)
                        n = words[w]
                        evidence = (
                            f"{w!r} appears {n} time{'s' if n != 1 else ''}; "
                            f"its share of the text score's push ({float(h[0]):+.2f} before the trees)"
                        )
                        share = c * float(wc[o]) / total
                        items.append(
                            (abs(share), Reason(f"word:{w}", "text", share, float(vals[o]), evidence))
                        )
                else:
                    items.append(
                        (
                            abs(c),
                            Reason("text_score", "text", c, float(h[0]), f"text score {float(h[0]):+.2f}"),
                        )
                    )
                continue
            raw = float(ex.values[FEATURE_INDEX[name]])
            if raw == 0:
                # a split on a feature the message lacks moved it (the tree's "absent" branch):
                # that push belongs to no feature of this message, so it is not a reason
                continue
            items.append((abs(c), Reason(name, _GROUP_OF[name], c, raw, ex.evidence.get(name, ""))))
        if not items and Zt is not None:
            # nothing the message has moved the score (no word of the vocabulary, no feature the
            # trees split on): say so through the one thing every text has, its text score,
            # rather than return a verdict without a reason
            c = float(contrib[0])
            evidence = (
                f"text score {float(h[0]):+.2f} with no word of the model's vocabulary; no feature of "
                "this message moved the score, which rests on what the message lacks"
            )
            items.append((abs(c), Reason("text_score", "text", c, float(h[0]), evidence)))
        items.sort(key=lambda t: -t[0])
        return [r for _, r in items[:top]]

    def explain_row(
        self, Z: sparse.csr_matrix, i: int, ex: Extracted, top: int, text: str = ""
    ) -> list[Reason]:
        """Largest contributions (weight x value) of this row; absent features contribute 0.

        ``text`` is the text the model read for this row, to count the words it names.
        """
        start, end = Z.indptr[i], Z.indptr[i + 1]
        idx = Z.indices[start:end]
        vals = Z.data[start:end]
        contrib = vals * self._coef[idx]
        keep = contrib != 0
        idx, vals, contrib = idx[keep], vals[keep], contrib[keep]
        order = np.argsort(-np.abs(contrib))[:top]
        reasons: list[Reason] = []
        words: Counter[str] | None = None
        for o in order:
            name = self.names[idx[o]]
            if name.startswith("word:"):
                w = name[5:]
                if words is None:  # one pass over the text, only for rows that name a word
                    words = word_counts(text)
                n = words[w]
                evidence = f"{w!r} appears {n} time{'s' if n != 1 else ''}" if n else f"{w!r} in the text"
                reasons.append(Reason(name, "text", float(contrib[o]), float(vals[o]), evidence))
            else:
                raw = float(ex.values[FEATURE_INDEX[name]])
                reasons.append(
                    Reason(name, _GROUP_OF[name], float(contrib[o]), raw, ex.evidence.get(name, ""))
                )
        return reasons

    def heaviest(self, n: int = 20) -> list[tuple[str, float]]:
        """The n features (and, for a linear model, words) that weigh most.

        Linear: the weight in log-odds per unit. Stack: the mean contribution to the trees'
        log-odds over the training messages that have the feature (the text score: the mean
        absolute contribution); the words are in :meth:`heaviest_words`.
        """
        if self.spec.kind == "stack":
            imp = [(str(k), float(v)) for k, v in self.model["importance"]]
            return sorted(imp, key=lambda kv: -abs(kv[1]))[:n]
        order = np.argsort(-np.abs(self._coef))[:n]
        return [(self.names[j], float(self._coef[j])) for j in order]

    def heaviest_words(self, n: int = 20) -> list[tuple[str, float]]:
        """The n words of the text score with the largest weight (log-odds of the text model)."""
        if self.spec.kind != "stack":
            return [(k, w) for k, w in self.heaviest(10 * n) if k.startswith("word:")][:n]
        order = np.argsort(-np.abs(self._text_coef))[:n]
        if self.spec.text_units == "subwords":  # "_" marks the edge of a word
            return [(f"ngram:{self._words[j].replace(' ', '_')}", float(self._text_coef[j])) for j in order]
        return [(f"word:{self._words[j]}", float(self._text_coef[j])) for j in order]


_LETTER_RUN = re.compile(r"[^\W\d_]+")


def word_counts(text: str) -> Counter[str]:
    """How often each word occurs as a whole token (letters only, as TOKEN_PATTERN cuts them).

    A word occurs where a maximal run of letters equals it, so one pass counts them all.
    """
    return Counter(_LETTER_RUN.findall(text.lower()))


# ---------------------------------------------------------------------------------------------
# Training data fingerprint and the model file


def fingerprint(mails: Sequence[Mail], labels: Sequence[str]) -> str:
    """SHA-256 over the sorted (message digest, label) pairs: same data, same fingerprint."""
    h = hashlib.sha256()
    for d, lab in sorted(zip((m.digest for m in mails), labels, strict=True)):
        h.update(f"{d}:{lab}\n".encode())
    return h.hexdigest()


def training_meta(mails: Sequence[Mail], labels: Sequence[str]) -> dict[str, Any]:
    """Fingerprint, dates covered and class counts of a training set."""
    dates = sorted(m.date for m in mails if m.date is not None)
    months = Counter(f"{d:%Y-%m}" for d in dates)
    return {
        "fingerprint": fingerprint(mails, labels),
        "messages": len(mails),
        "class_counts": dict(sorted(Counter(labels).items())),
        "first_date": dates[0].isoformat() if dates else None,
        "last_date": dates[-1].isoformat() if dates else None,
        "undated": len(mails) - len(dates),
        "months": dict(sorted(months.items())),
    }


def suffix_list_digest() -> str:
    """SHA-256 of the public-suffix snapshot bundled with tldextract (recorded in the model)."""
    import pkgutil

    data = pkgutil.get_data("tldextract", ".tld_set_snapshot") or b""
    return hashlib.sha256(data).hexdigest()


def save_model(path: str | Path, model: Any, spec: Spec, meta: dict[str, Any]) -> None:
    """Write the model and its metadata; the metadata carries the model part's SHA-256."""
    import skops.io as sio

    # The TF-IDF vocabulary travels as a plain JSON list: skops rebuilds a dict entry by
    # entry, which made loading take seconds; a list of strings loads in milliseconds.
    vec = _text_vectorizer(model)
    words: list[str] = []
    if vec is not None:
        vocab: dict[str, int] = vec.vocabulary_
        words = sorted(vocab, key=vocab.__getitem__)
        del vec.vocabulary_
    try:
        blob = sio.dumps(model)
    finally:
        if vec is not None:
            vec.vocabulary_ = vocab
    vocabulary = json.dumps(words, ensure_ascii=False).encode()
    full = dict(meta)
    full.update(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "spec": spec.to_json(),
            "model_sha256": hashlib.sha256(blob).hexdigest(),
            "vocabulary_sha256": hashlib.sha256(vocabulary).hexdigest(),
            "versions": {"scikit-learn": sklearn.__version__, "skops": _version("skops")},
        }
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("meta.json", json.dumps(full, indent=2, default=str))
        z.writestr("model.skops", blob)
        z.writestr("vocabulary.json", vocabulary)
    tmp = Path(str(path) + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)


def load_model(path: str | Path) -> MailModel:
    """Load a model file, refusing anything damaged, altered or able to build unknown types."""
    import skops.io as sio

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelError(f"{p}: cannot read model: {exc.strerror or exc}") from exc
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            meta = json.loads(z.read("meta.json"))
            blob = z.read("model.skops")
            vocabulary = z.read("vocabulary.json")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ModelError(f"{p}: not a bluebench mail model or damaged ({type(exc).__name__}: {exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{p}: not a bluebench mail model (format {meta.get('format')!r})")
    if meta.get("format_version") not in READABLE_VERSIONS:
        raise ModelError(
            f"{p}: model format version {meta.get('format_version')} is not one of "
            f"{', '.join(map(str, sorted(READABLE_VERSIONS)))}"
        )
    digest = hashlib.sha256(blob).hexdigest()
    if digest != meta.get("model_sha256"):
        raise ModelError(
            f"{p}: refused: the model part was changed after it was written (SHA-256 {digest[:12]}... "
            f"does not match the recorded {str(meta.get('model_sha256'))[:12]}...)"
        )
    if hashlib.sha256(vocabulary).hexdigest() != meta.get("vocabulary_sha256"):
        raise ModelError(f"{p}: refused: the vocabulary was changed after it was written (SHA-256 mismatch)")
    try:
        untrusted = sio.get_untrusted_types(data=blob)
    except Exception as exc:
        raise ModelError(
            f"{p}: refused: the model part cannot be inspected ({type(exc).__name__}: {exc})"
        ) from exc
    refused = sorted(set(untrusted) - ALLOWED_TYPES)
    if refused:
        raise ModelError(
            f"{p}: refused: the model would build types bluebench does not trust: {', '.join(refused)}"
        )
    try:
        model = sio.loads(blob, trusted=list(untrusted))
    except Exception as exc:
        raise ModelError(
            f"{p}: refused: the model part cannot be loaded ({type(exc).__name__}: {exc})"
        ) from exc
    if not (_is_linear(model) or _is_stack(model)):
        raise ModelError(f"{p}: refused: the model part is a {type(model).__name__}, not a fitted mail model")
    try:
        _restore_vocabulary(model, json.loads(vocabulary))
        spec = Spec.from_json(meta["spec"])
        if (spec.kind == "stack") != _is_stack(model):
            raise ModelError(f"the metadata says a {spec.kind} model, the model part is not one")
        float(meta["threshold"]["value"])
        return MailModel(model, spec, meta)
    except ModelError as exc:
        raise ModelError(f"{p}: refused: {exc}") from exc
    except Exception as exc:
        raise ModelError(
            f"{p}: refused: metadata does not fit the model ({type(exc).__name__}: {exc})"
        ) from exc


def _is_linear(model: object) -> bool:
    return (
        isinstance(model, Pipeline)
        and list(model.named_steps) == ["features", "classifier"]
        and isinstance(model.named_steps["classifier"], CalibratedClassifierCV)
        and hasattr(model.named_steps["classifier"], "calibrated_classifiers_")
    )


def _is_stack(model: object) -> bool:
    """A dict of exactly the stack's parts, each of its expected fitted type."""
    if not isinstance(model, dict) or set(model) != {
        "kind",
        "text",
        "text_model",
        "booster",
        "calibrator",
        "importance",
    }:
        return False
    text, text_model = model["text"], model["text_model"]
    return (
        model["kind"] == "stack"
        and (text is None) == (text_model is None)
        and (text is None or isinstance(text, TfidfVectorizer | SubwordVectorizer))
        and (text_model is None or isinstance(text_model, LogisticRegression))
        and isinstance(model["booster"], HistGradientBoostingClassifier)
        and hasattr(model["booster"], "_predictors")
        and isinstance(model["calibrator"], _SigmoidCalibration)
        and isinstance(model["importance"], list)
    )


def _text_vectorizer(model: Any) -> TfidfVectorizer | SubwordVectorizer | None:
    if isinstance(model, dict):
        text = model.get("text")
    else:
        text = model.named_steps["features"].named_transformers_.get("text")
    return text if isinstance(text, TfidfVectorizer | SubwordVectorizer) else None


def _restore_vocabulary(model: Any, words: object) -> None:
    """Put the stored vocabulary back; it must be unique strings, one per IDF weight."""
    vec = _text_vectorizer(model)
    if vec is None:
        return
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ModelError("the vocabulary is not a list of words")
    if len(set(words)) != len(words) or len(words) != len(vec.idf_):
        raise ModelError(f"the vocabulary has {len(words)} words for {len(vec.idf_)} weights")
    vec.vocabulary_ = {w: i for i, w in enumerate(words)}
    if isinstance(vec, SubwordVectorizer):
        vec.clear_cache()


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
