"""The phishing model as it scores: which kind to fit, thresholds, and verdicts with reasons.

Two kinds (``Spec.kind``). ``stack`` (shipped, ``stack.py``): a logistic regression over the
TF-IDF of the text's words or of their letter n-grams (``subword.py``) gives an out-of-fold
text score, and small monotonic gradient-boosted trees read it with the named features of
``features.py``; a sigmoid calibrates them. ``linear`` (``linear.py``): TF-IDF and the named
features in one class-balanced logistic regression, Platt-calibrated. Both split every score
exactly into per-feature contributions. The score is the calibrated probability of
phishing: higher = more likely phishing. The threshold that turns a score into a verdict
is chosen from out-of-fold training scores and stored beside the model, never inside it
(``modelfile.py`` writes and checks the file).

Class imbalance is handled deliberately: ``class_weight="balanced"`` weighs phishing and
not-phishing equally while fitting, and the threshold is tuned to a target false-positive
rate rather than left at 0.5. Spam is a negative class of the phishing score: it never counts
as a phishing catch. A second part of the same kinds, spam against legitimate mail with its
own threshold, decides the spam class for mail the phishing score did not flag (``decide``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bluebench.mail.features import FEATURE_INDEX, FEATURES, Extracted, extract
from bluebench.mail.linear import coefficients, fit_linear
from bluebench.mail.spec import Fitted, Spec, design
from bluebench.mail.stack import fit_stack, named_columns, tree_arrays, tree_contributions
from bluebench.mail.subword import Gathered, SubwordVectorizer
from bluebench.sources.mailparse import Mail

DEFAULT_TARGET_FPR = 0.001
# The three decisions: phishing goes to the analyst's queue, spam is marked as spam,
# legitimate mail is left alone. Phishing is decided first, so spam never hides a phish.
CLASSES: tuple[str, ...] = ("phishing", "spam", "legitimate")
# Labels as the classes name them: a labels CSV says ``ham`` for legitimate mail.
CLASS_OF_LABEL: dict[str, str] = {"phishing": "phishing", "spam": "spam", "ham": "legitimate"}


def decide(phish: np.ndarray, threshold: float, spam: np.ndarray | None, spam_threshold: float) -> np.ndarray:
    """Each message's class: phishing at or above its threshold, else spam at or above the spam part's."""
    out = np.full(len(phish), "legitimate", dtype=object)
    if spam is not None:
        out[spam >= spam_threshold] = "spam"
    out[phish >= threshold] = "phishing"
    return out


def fit(X: np.ndarray, y: np.ndarray, spec: Spec, folds: int = 5, seed: int = 0) -> Fitted:
    """Fit the kind the spec names, with out-of-fold training scores to set its threshold (``seed``: the folds' shuffle)."""
    if spec.kind == "stack":
        return fit_stack(X, y, spec, folds, seed)
    return fit_linear(X, y, spec, folds, seed)


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
    cls: str = ""  # phishing, spam or legitimate: the decision per class (CLASSES)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "index": self.index,
            "score": round(self.score, 6),
            "verdict": self.verdict,
            "class": self.cls or ("phishing" if self.verdict == "phishing" else "legitimate"),
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
            self._trees = tree_arrays(fitted["booster"])
            names = (["text_score"] if self._vec is not None else []) + list(spec.features)
        else:
            self._columns: ColumnTransformer = fitted.named_steps["features"]
            self._coef = coefficients(fitted)
            for name, trans, _cols in self._columns.transformers_:
                if name == "text":
                    names.extend(f"word:{w}" for w in trans.get_feature_names_out())
                elif name == "signals":
                    names.extend(self.spec.features)
        self.names = names
        # the spam part (``modelfile`` loads it when the file has one): a model of spam against
        # legitimate mail with its own threshold, read only for mail not flagged as phishing
        self.spam: MailModel | None = None

    @property
    def threshold(self) -> float:
        return float(self.meta["threshold"]["value"])

    @property
    def reads_era(self) -> bool:
        """True when the model reads an era-revealing feature (so extraction must compute them)."""
        parts = [self] if self.spam is None else [self, self.spam]
        return any(f in _ERA_FEATURES for m in parts for f in m.spec.features)

    def classes(self, extracted: Sequence[Extracted], phish: np.ndarray, threshold: float) -> np.ndarray:
        """The class of each message: the spam part is scored only where phishing was not flagged."""
        if self.spam is None:
            return decide(phish, threshold, None, 0.0)
        spam = np.zeros(len(phish))
        rest = np.flatnonzero(phish < threshold)
        if len(rest):
            spam[rest] = self.spam.scores(design([extracted[int(i)] for i in rest], None, self.spam.spec))
        return decide(phish, threshold, spam, self.spam.threshold)

    def _stack_inputs(
        self, X: np.ndarray, gathered: Gathered | None = None
    ) -> tuple[np.ndarray, sparse.csr_matrix | None]:
        """The trees' input [text score, named features] and the TF-IDF rows (stack only).

        ``gathered``: the texts already cut into words and n-grams (letter n-gram models),
        so that scoring and reasons do that once.
        """
        H = named_columns(X)
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

    def text_scores(self, X: np.ndarray) -> np.ndarray:
        """The stacked model's text score of each row: the text model's log-odds, before the trees."""
        return self._stack_inputs(X)[0][:, 0]

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
            cls = self.classes(extracted, p, t)
            for i, (file, index) in enumerate(refs):
                why = self.explain_stack(contrib[i], H[i], Zt, i, extracted[i], reasons, str(X[i, 0]), shares)
                verdict = "phishing" if p[i] >= t else "not phishing"
                out.append(Verdict(file, index, float(p[i]), verdict, t, why, str(cls[i])))
            return out
        # one transform serves both the score and the explanation
        Z = sparse.csr_matrix(self._columns.transform(X))
        p = np.asarray(self.model.named_steps["classifier"].predict_proba(Z)[:, 1], dtype=np.float64)
        cls = self.classes(extracted, p, t)
        for i, (file, index) in enumerate(refs):
            why = self.explain_row(Z, i, extracted[i], reasons, str(X[i, 0]))
            verdict = "phishing" if p[i] >= t else "not phishing"
            out.append(Verdict(file, index, float(p[i]), verdict, t, why, str(cls[i])))
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
