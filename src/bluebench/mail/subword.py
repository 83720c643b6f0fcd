"""Letter n-grams of words, TF-IDF weighted: a text representation that survives misspelling.

Phishing text is written to dodge word lists: ``acc0unt``, ``lеԁgеr`` in look-alike
letters, ``verifcation``, words glued together, inflected forms in several languages.
A word model sees a new word each time; the letter n-grams inside the word (`` acc``,
``ccou``, ``unt ``) are mostly shared. This is scikit-learn's ``char_wb`` analyzer over the
word model's own words (letters only, lower case), padded with one space each side, so
every n-gram belongs to exactly one word of the message and a reason can name that word.

It is built for speed as well: a message is cut into words once (one regular expression),
and each distinct word is turned into its n-gram columns once per vectorizer and then
looked up (``_columns``), so scoring costs a dictionary lookup per distinct word instead of
a Python loop per character. The weighting is scikit-learn's ``TfidfVectorizer`` with
``sublinear_tf=True``, ``smooth_idf=True`` and ``norm="l2"`` (tested against it).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator

_LETTERS = re.compile(r"[^\W\d_]+")
# Longer runs of letters are no words (a base64 or hex run that survived cleaning) and would
# add hundreds of one-off n-grams to the vocabulary; they are left out, as one-letter runs are
# (the word model's ``TOKEN_PATTERN`` takes two letters or more).
MIN_WORD, MAX_WORD = 2, 40
# The per-word cache is emptied when it grows past this many words (bounded memory on a
# stream of mail with ever new tokens).
CACHE_WORDS = 200_000


def words(text: str) -> Counter[str]:
    """Each word of the text (a maximal run of MIN_WORD to MAX_WORD letters, lower-cased) and its count."""
    return Counter(w for w in _LETTERS.findall(text.lower()) if MIN_WORD <= len(w) <= MAX_WORD)


def ngrams(word: str, low: int, high: int) -> list[str]:
    """The letter n-grams of `` word `` (padded with a space each side), low <= n <= high.

    A word shorter than ``low`` after padding gives its padded form alone, as ``char_wb`` does.
    """
    padded = f" {word} "
    if len(padded) < low:
        return [padded]
    return [padded[i : i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1)]


class SubwordVectorizer(BaseEstimator):
    """TF-IDF over the letter n-grams of words; the parameters are scikit-learn's.

    ``vocabulary_`` (n-gram -> column) and ``idf_`` are learned in :meth:`fit`.
    """

    def __init__(
        self,
        low: int = 3,
        high: int = 5,
        min_df: int = 2,
        max_df: float = 0.95,
        max_features: int | None = 100_000,
        stop_words: list[str] | None = None,
    ) -> None:
        self.low = low
        self.high = high
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.stop_words = stop_words

    # ------------------------------------------------------------------------------------
    # fitting

    def analyze(self, text: str) -> Counter[str]:
        """The words of a text this vectorizer reads (stop words out), with their counts."""
        doc = words(text)
        if self.stop_words:
            stop = self.__dict__.get("_stop")
            if stop is None:
                stop = self._stop = frozenset(self.stop_words)
            for w in [w for w in doc if w in stop]:
                del doc[w]
        return doc

    def fit(self, texts: Iterable[str], y: Any = None) -> SubwordVectorizer:
        """Learn the n-gram vocabulary (document frequency bounds, most frequent first) and IDF."""
        docs = [self.analyze(str(t)) for t in texts]
        ids: dict[str, int] = {}
        word_ids: dict[str, np.ndarray] = {}
        for doc in docs:
            for w in doc:
                if w not in word_ids:
                    grams = ngrams(w, self.low, self.high)
                    word_ids[w] = np.fromiter(
                        (ids.setdefault(g, len(ids)) for g in grams), dtype=np.int64, count=len(grams)
                    )
        n_docs, n_grams = len(docs), len(ids)
        df = np.zeros(n_grams, dtype=np.int64)
        tf = np.zeros(n_grams, dtype=np.int64)
        for doc in docs:
            if not doc:
                continue
            cols = np.concatenate([word_ids[w] for w in doc])
            counts = np.repeat(np.fromiter(doc.values(), dtype=np.int64, count=len(doc)),
                               [len(word_ids[w]) for w in doc])
            np.add.at(tf, cols, counts)
            df[np.unique(cols)] += 1
        keep = (df >= self.min_df) & (df <= self.max_df * n_docs)
        kept = np.flatnonzero(keep)
        if self.max_features is not None and len(kept) > self.max_features:
            # the most frequent over the corpus, ties broken by column: deterministic
            order = np.lexsort((kept, -tf[kept]))[: self.max_features]
            kept = np.sort(kept[order])
        names = np.array(list(ids), dtype=object)[kept]
        order = np.argsort(names.astype(str), kind="stable")  # alphabetical columns, as scikit-learn
        self.vocabulary_ = {str(g): i for i, g in enumerate(names[order])}
        df_kept = df[kept][order]
        self.idf_ = np.log((1.0 + n_docs) / (1.0 + df_kept)) + 1.0
        self._reset_cache()
        return self

    def fit_transform(self, texts: Sequence[str], y: Any = None) -> sparse.csr_matrix:
        """Fit, then transform the same texts."""
        texts = list(texts)
        return self.fit(texts).transform(texts)

    # ------------------------------------------------------------------------------------
    # transforming

    def _reset_cache(self) -> None:
        self._cache: dict[str, np.ndarray] = {}

    def clear_cache(self) -> None:
        """Forget the per-word columns (after the vocabulary is replaced)."""
        self._reset_cache()

    def _columns(self, word: str) -> np.ndarray:
        """The vocabulary columns of a word's n-grams (repeats kept), computed once per word."""
        cache = self.__dict__.get("_cache")
        if cache is None:
            self._reset_cache()
            cache = self._cache
        cols = cache.get(word)
        if cols is None:
            vocab = self.vocabulary_
            cols = np.array(
                [c for g in ngrams(word, self.low, self.high) if (c := vocab.get(g)) is not None], dtype=np.int64
            )
            if len(cache) >= CACHE_WORDS:
                cache.clear()
            cache[word] = cols
        return cols

    def transform(self, texts: Iterable[str]) -> sparse.csr_matrix:
        """Sublinear TF x IDF rows, L2-normalised: one row per text."""
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        n = 0
        for n, text in enumerate(texts, start=1):  # noqa: B007 (n counts the rows after the loop)
            doc = self.analyze(str(text))
            if not doc:
                continue
            per_word = [self._columns(w) for w in doc]
            c = np.concatenate(per_word)
            if not len(c):
                continue
            lens = [len(p) for p in per_word]
            cols.append(c)
            vals.append(np.repeat(np.fromiter(doc.values(), dtype=np.float64, count=len(doc)), lens))
            rows.append(np.full(len(c), n - 1, dtype=np.int64))
        shape = (n, len(self.idf_))
        if not cols:
            return sparse.csr_matrix(shape, dtype=np.float64)
        m = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape, dtype=np.float64
        )
        m.sum_duplicates()
        m.data = (np.log(m.data) + 1.0) * self.idf_[m.indices]
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        m.data /= np.repeat(norms, np.diff(m.indptr))
        return m

    def get_feature_names_out(self) -> np.ndarray:
        """The n-grams, in column order."""
        names = np.empty(len(self.vocabulary_), dtype=object)
        for g, i in self.vocabulary_.items():
            names[i] = g
        return names

    def word_shares(self, text: str, columns: np.ndarray, weights: np.ndarray) -> dict[str, float]:
        """Each word's share of the given columns' weights in this text.

        A column (n-gram) that occurs in several words of the text is shared among them in
        proportion to its occurrences in each; the shares add up to ``weights.sum()``.
        """
        wanted = {int(c): float(w) for c, w in zip(columns, weights, strict=True)}
        doc = self.analyze(text)
        occ: dict[int, float] = Counter()
        per_word: list[tuple[str, int, np.ndarray]] = []
        for w, k in doc.items():
            cols = self._columns(w)
            mine = cols[np.isin(cols, columns)]
            if len(mine):
                per_word.append((w, k, mine))
                for c in mine.tolist():
                    occ[c] += k
        shares: dict[str, float] = {}
        for w, k, mine in per_word:
            shares[w] = sum(wanted[c] * k / occ[c] for c in mine.tolist())
        return shares

    def __getstate__(self) -> dict[str, Any]:
        """What a model file keeps: the parameters and learned state, never the word cache."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_cache", "_stop")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset_cache()
