"""What a mail model reads and how its parts are built, shared by both kinds and the model file.

``Spec`` names the text and the named features a model reads and how it combines them;
``design`` turns extracted messages into the object matrix every pipeline reads (column 0
the text, then the named features). ``ModelError`` is the one error of a bad spec or model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from bluebench.errors import BluebenchError
from bluebench.mail.features import ERA_FREE_FEATURES, FEATURE_INDEX, Extracted
from bluebench.mail.subword import SubwordVectorizer
from bluebench.mail.text import STOPWORDS, era_tokens, strip_corpus_artefacts, strip_era_text
from bluebench.sources.mailparse import Mail

TEXT_UNITS: tuple[str, ...] = ("words", "subwords")
BALANCES: tuple[str, ...] = ("class", "language")
TOKEN_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"  # letters only: no years, versions or ids as words


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
    ``evaluation/selection.py`` for issue 3; ``mail train`` ships ``train.SHIPPED``, which the
    three-class evaluation (``evaluation/classes.py``) chose the same way.

    ``balance`` is how the text score weighs its training mail: ``class`` (phishing and the
    rest weigh the same over the whole set) or ``language`` (the same within each language
    detected in the message, ``language.balance_by_language``): where the corpora hold
    phishing mostly in German and Portuguese and legitimate mail mostly in English, the
    language alone is then no evidence (stack only).
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
    balance: str = "class"

    def __post_init__(self) -> None:
        if self.balance not in BALANCES:
            raise ModelError(f"balance {self.balance!r} is not one of {', '.join(BALANCES)}")
        if self.balance != "class" and self.kind != "stack":
            raise ModelError("balancing by language weighs the stacked model's text score: use kind='stack'")
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
            "balance": self.balance,
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
            str(d.get("balance", "class")),
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


def make_classifier(spec: Spec) -> LogisticRegression:
    """Class-balanced logistic regression: phishing and not-phishing weigh the same in the fit."""
    return LogisticRegression(C=spec.C, class_weight="balanced", solver="liblinear", max_iter=2000)


def cv_folds(k: int, seed: int = 0) -> StratifiedKFold:
    """Shuffled, seeded folds: input order is by source, and unshuffled folds would hold out sources.

    ``seed`` is 0 wherever a model is trained or evaluated; ``bench/mail_fold_seeds.py`` changes it
    to show how much the shuffle alone moves a threshold and the figures chosen by.
    """
    return StratifiedKFold(k, shuffle=True, random_state=seed)


@dataclass
class Fitted:
    """A fitted pipeline with out-of-fold training scores (to choose a threshold) and its spec.

    ``dropped`` names risk indicators left out because training gave them a benign weight.
    """

    model: Any  # a Pipeline (linear) or a dict of fitted parts (stack, see fit_stack)
    spec: Spec
    oof: np.ndarray
    dropped: list[str] = field(default_factory=list)
