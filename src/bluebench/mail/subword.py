"""Letter n-grams of words, TF-IDF weighted: a text representation that survives misspelling.

Phishing text is written to dodge word lists: ``acc0unt``, ``lеԁgеr`` in look-alike
letters, ``verifcation``, words glued together, inflected forms in several languages.
A word model sees a new word each time; the letter n-grams inside the word (`` acc``,
``ccou``, ``unt ``) are mostly shared. This is scikit-learn's ``char_wb`` analyzer over the
word model's own words (letters only, lower case), padded with one space each side, so
every n-gram belongs to exactly one word of the message and a reason can name that word.

It is built for speed as well: a message is cut into words once (one regular expression),
and each distinct word is turned into its n-gram columns once per vectorizer and then
kept in one buffer (``gather``), so scoring costs a dictionary lookup per distinct word instead of
a Python loop per character. The weighting is scikit-learn's ``TfidfVectorizer`` with
``sublinear_tf=True``, ``smooth_idf=True`` and ``norm="l2"`` (tested against it).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, compress, repeat
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator

from bluebench.arrays import unique

_LETTER = r"[^\W\d_]"
# Longer runs of letters are no words (a base64 or hex run that survived cleaning) and would
# add hundreds of one-off n-grams to the vocabulary; they are left out, as one-letter runs are
# (the word model's ``TOKEN_PATTERN`` takes two letters or more).
MIN_WORD, MAX_WORD = 2, 40
# a maximal run of MIN_WORD to MAX_WORD letters (a longer run matches nowhere in it)
_WORD = re.compile(rf"(?<!{_LETTER}){_LETTER}{{{MIN_WORD},{MAX_WORD}}}(?!{_LETTER})")
# The per-word cache starts again when it would grow past this many words (bounded memory on
# a stream of mail with ever new tokens); it then holds the words of one batch.
CACHE_WORDS = 200_000


def words(text: str) -> Counter[str]:
    """Each word of the text (a maximal run of MIN_WORD to MAX_WORD letters, lower-cased) and its count."""
    return Counter(_WORD.findall(text.lower()))


def ngrams(word: str, low: int, high: int) -> list[str]:
    """The letter n-grams of `` word `` (padded with a space each side), low <= n <= high.

    A word shorter than ``low`` after padding gives its padded form alone, as ``char_wb`` does.
    """
    padded = f" {word} "
    if len(padded) < low:
        return [padded]
    return [padded[i : i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1)]


# Working state that a model file never keeps (rebuilt on first use).
_UNSTORED = frozenset({"_cache", "_starts", "_lens", "_buf", "_used", "_stop", "_table"})


@dataclass(frozen=True)
class _NgramTable:
    """The vocabulary as numbers, so new words' n-grams are looked up in numpy, not per n-gram.

    Each letter is its place in ``alphabet`` (the vocabulary's code points, sorted) plus one,
    and an n-gram is the number ``sum(place * base ** position)``: no place is 0, so n-grams
    of different lengths never share a number. ``codes`` holds the vocabulary's numbers,
    sorted, and ``columns`` their columns.
    """

    alphabet: np.ndarray
    base: int
    codes: np.ndarray
    columns: np.ndarray

    @staticmethod
    def build(vocabulary: dict[str, int], high: int) -> _NgramTable | None:
        """The table, or None when it is empty or an n-gram's number would not fit in 63 bits."""
        grams = list(vocabulary)
        if not grams:
            return None
        points = _code_points("".join(grams))
        alphabet = unique(points)
        base = len(alphabet) + 1
        if base**high >= 2**63:
            return None
        lens = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        places = np.searchsorted(alphabet, points).astype(np.int64) + 1
        codes = np.zeros(len(grams), dtype=np.int64)
        starts = np.cumsum(lens) - lens
        for k in range(int(lens.max(initial=0))):
            more = lens > k
            codes[more] = codes[more] * base + places[starts[more] + k]
        order = np.argsort(codes, kind="stable")
        columns = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(grams))
        return _NgramTable(alphabet, base, codes[order], columns[order])

    def lookup(self, words: list[str], low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
        """(word, column) of every n-gram of the padded words found in the vocabulary.

        Ordered as :func:`ngrams` lists them: word after word, shorter n-grams first, then
        left to right. Every padded word must be at least ``low`` letters long.
        """
        padded = np.fromiter(map(len, words), dtype=np.int64, count=len(words)) + 2
        points = _code_points("".join(f" {w} " for w in words))
        at = np.searchsorted(self.alphabet, points)
        known = self.alphabet[np.minimum(at, len(self.alphabet) - 1)] == points
        places = np.where(known, at + 1, 0).astype(np.int64)
        word_start = np.cumsum(padded) - padded
        found_word: list[np.ndarray] = []
        found_col: list[np.ndarray] = []
        for n in range(low, high + 1):
            per = np.maximum(padded - n + 1, 0)
            total = int(per.sum())
            word = np.repeat(np.arange(len(words)), per)
            start = np.repeat(word_start - (np.cumsum(per) - per), per) + np.arange(total)
            code = np.zeros(total, dtype=np.int64)
            unknown = np.zeros(total, dtype=bool)
            for k in range(n):
                place = places[start + k]
                code = code * self.base + place
                unknown |= place == 0
            at_code = np.minimum(np.searchsorted(self.codes, code), len(self.codes) - 1)
            hit = (self.codes[at_code] == code) & ~unknown
            found_word.append(word[hit])
            found_col.append(self.columns[at_code[hit]])
        word_of = np.concatenate(found_word)
        order = np.argsort(word_of, kind="stable")  # word after word; n, then place, kept
        return word_of[order], np.concatenate(found_col)[order]


def _code_points(text: str) -> np.ndarray:
    """One unsigned integer per character (a lone surrogate included)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


@dataclass
class Gathered:
    """A batch of texts as (word, n-gram column) pairs; each text's words and pairs are contiguous.

    ``words``/``counts``: every text's distinct words and their counts, text after text;
    ``columns``/``word_of``: one entry per n-gram of each word (its column, the word's index in
    ``words``); ``word_bounds``/``pair_bounds``: where each text starts in each.
    """

    words: list[str]
    columns: np.ndarray
    word_of: np.ndarray
    counts: np.ndarray
    word_bounds: np.ndarray
    pair_bounds: np.ndarray
    # set by ``transform_gathered``: each pair's entry in the matrix's data, and each entry's
    # term frequency (occurrences of that n-gram in that text)
    entry_of_pair: np.ndarray | None = None
    tf: np.ndarray | None = None

    @cached_property
    def doc_of_pair(self) -> np.ndarray:
        """The text each pair belongs to (the matrix row, and whose push its weight shares)."""
        n_docs = len(self.word_bounds) - 1
        return np.asarray(np.repeat(np.arange(n_docs), np.diff(self.word_bounds))[self.word_of])


class SubwordVectorizer(BaseEstimator):  # type: ignore[misc]  # scikit-learn ships no stubs
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
        # every n-gram of every word, numbered in order of first appearance; the batch is then
        # gathered against that full vocabulary, as transform gathers against the kept one
        all_grams = dict.fromkeys(
            chain.from_iterable(
                ngrams(w, self.low, self.high) for w in dict.fromkeys(chain.from_iterable(docs))
            )
        )
        self.vocabulary_ = {g: i for i, g in enumerate(all_grams)}
        self.clear_cache()
        g = self.gather(docs)
        n_docs, n_grams = len(docs), len(all_grams)
        tf = np.bincount(g.columns, weights=g.counts[g.word_of], minlength=n_grams)
        df = np.bincount(unique(g.doc_of_pair * n_grams + g.columns) % n_grams, minlength=n_grams)
        keep = (df >= self.min_df) & (df <= self.max_df * n_docs)
        kept = np.flatnonzero(keep)
        if self.max_features is not None and len(kept) > self.max_features:
            # the most frequent over the corpus, ties broken by column: deterministic
            order = np.lexsort((kept, -tf[kept]))[: self.max_features]
            kept = np.sort(kept[order])
        names = np.array(list(all_grams), dtype=object)[kept]
        order = np.argsort(names.astype(str), kind="stable")  # alphabetical columns, as scikit-learn
        self.vocabulary_ = {str(g): i for i, g in enumerate(names[order])}
        df_kept = df[kept][order]
        self.idf_ = np.log((1.0 + n_docs) / (1.0 + df_kept)) + 1.0
        self.clear_cache()
        return self

    def fit_transform(self, texts: Iterable[str], y: Any = None) -> sparse.csr_matrix:
        """Fit, then transform the same texts."""
        texts = list(texts)
        return self.fit(texts).transform(texts)

    # ------------------------------------------------------------------------------------
    # transforming: each distinct word's columns are looked up once and kept in one buffer
    # (``_buf[_starts[id] : _starts[id] + _lens[id]]`` for the word's id in ``_cache``), so
    # a batch of texts becomes its columns by one numpy gather.

    def _reset_cache(self) -> None:
        self._cache: dict[str, int] = {}
        self._starts = np.zeros(1024, dtype=np.int64)
        self._lens = np.zeros(1024, dtype=np.int64)
        self._buf = np.zeros(1 << 16, dtype=np.int64)
        self._used = 0

    def clear_cache(self) -> None:
        """Forget the per-word columns and the n-gram table (after the vocabulary is replaced)."""
        self._reset_cache()
        self.__dict__.pop("_table", None)

    def _found_ngrams(self, new: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(word, column) of each n-gram of the new words that the vocabulary holds, in order."""
        if "_table" not in self.__dict__:
            self._table = _NgramTable.build(self.vocabulary_, self.high)
        if self._table is not None and min(map(len, new), default=self.low) + 2 >= self.low:
            return self._table.lookup(new, self.low, self.high)
        # one n-gram at a time: a vocabulary too wide for the table, or words shorter than
        # the shortest n-gram (their padded form is their one n-gram)
        grams = [ngrams(w, self.low, self.high) for w in new]
        per = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        found = np.fromiter(
            map(self.vocabulary_.get, chain.from_iterable(grams), repeat(-1)),
            dtype=np.int64,
            count=int(per.sum()),
        )
        keep = found >= 0
        return np.repeat(np.arange(len(new)), per)[keep], found[keep]

    def _add_words(self, new: list[str]) -> None:
        """Look the n-grams of new words up in one pass and append their columns to the buffer."""
        word_of, kept = self._found_ngrams(new)
        lens = np.bincount(word_of, minlength=len(new))
        end = self._used + len(kept)
        if end > len(self._buf):
            self._buf = np.resize(self._buf, max(end, 2 * len(self._buf)))
        self._buf[self._used : end] = kept
        first = len(self._cache)
        if first + len(new) > len(self._starts):
            size = max(first + len(new), 2 * len(self._starts))
            self._starts = np.resize(self._starts, size)
            self._lens = np.resize(self._lens, size)
        self._starts[first : first + len(new)] = self._used + np.cumsum(lens) - lens
        self._lens[first : first + len(new)] = lens
        self._cache.update(zip(new, range(first, first + len(new)), strict=True))
        self._used = end

    def _word_ids(self, flat: list[str]) -> np.ndarray:
        """The cache id of each word (adding the words not seen yet)."""
        if "_cache" not in self.__dict__:
            self._reset_cache()
        ids = np.fromiter(map(self._cache.get, flat, repeat(-1)), dtype=np.int64, count=len(flat))
        missing = ids < 0
        if not missing.any():
            return ids
        if len(self._cache) + len(flat) > CACHE_WORDS:
            self._reset_cache()  # bounded memory: start again with this batch's words
            missing[:] = True
        unseen = list(compress(flat, missing.tolist()))
        self._add_words(list(dict.fromkeys(unseen)))
        ids[missing] = np.fromiter(map(self._cache.__getitem__, unseen), dtype=np.int64, count=len(unseen))
        return ids

    def gather(self, docs: Sequence[Counter[str]]) -> Gathered:
        """Every (word, n-gram column) pair of a batch of texts cut into words, in one gather."""
        flat: list[str] = []
        counts: list[int] = []
        words_per_doc = np.zeros(len(docs), dtype=np.int64)
        for n, doc in enumerate(docs):
            flat.extend(doc)
            counts.extend(doc.values())
            words_per_doc[n] = len(doc)
        ids = self._word_ids(flat)
        starts, lens = self._starts[ids], self._lens[ids]
        total = int(lens.sum())
        # position of each pair in the buffer: its word's start plus its place within the word
        offsets = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(total)
        word_bounds = np.concatenate(([0], np.cumsum(words_per_doc)))
        pairs_before = np.concatenate(([0], np.cumsum(lens)))
        return Gathered(
            words=flat,
            columns=self._buf[offsets],
            word_of=np.repeat(np.arange(len(flat)), lens),
            counts=np.asarray(counts, dtype=np.float64),
            word_bounds=word_bounds,
            pair_bounds=pairs_before[word_bounds],
        )

    def transform(self, texts: Iterable[str]) -> sparse.csr_matrix:
        """Sublinear TF x IDF rows, L2-normalised: one row per text."""
        return self.transform_gathered(self.gather([self.analyze(str(t)) for t in texts]))

    def transform_gathered(self, g: Gathered) -> sparse.csr_matrix:
        """:meth:`transform` of a batch already gathered (:meth:`gather`)."""
        n_docs = len(g.word_bounds) - 1
        shape = (n_docs, len(self.idf_))
        if not len(g.columns):
            # no n-gram of the vocabulary in the whole batch: all rows empty, nothing to share
            g.entry_of_pair, g.tf = np.zeros(0, dtype=np.int64), np.zeros(0)
            return sparse.csr_matrix(shape, dtype=np.float64)
        n_cols = len(self.idf_)
        # one entry per (text, column): the pairs' keys sorted give the rows in order
        keys = g.doc_of_pair * n_cols + g.columns
        if n_docs * n_cols < 2**31:
            keys = keys.astype(np.int32)  # half the bytes to sort: np.unique about twice as fast
        entries, g.entry_of_pair = np.unique(keys, return_inverse=True)
        g.tf = np.bincount(g.entry_of_pair, weights=g.counts[g.word_of], minlength=len(entries))
        rows, cols = entries // n_cols, entries % n_cols
        data = (np.log(g.tf) + 1.0) * self.idf_[cols]
        norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=n_docs))
        norms[norms == 0] = 1.0
        data /= norms[rows]
        indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=n_docs))))
        return sparse.csr_matrix((data, cols, indptr), shape=shape)

    def batch_word_shares(
        self, g: Gathered, m: sparse.csr_matrix, coef: np.ndarray, push: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each word's share of its text's n-gram weights, for every text of a batch at once.

        ``m`` is the batch's transform and ``coef`` the weight of each column. Only the
        columns whose weight x TF-IDF has the sign of the text's ``push`` count. A column
        that occurs in several words of a text is shared among them in proportion to its
        occurrences in each, so a text's word shares add up to its total. Returns, per word
        of ``g.words``, its share and whether it holds such a column, and per text the total.
        """
        assert g.entry_of_pair is not None and g.tf is not None, "transform_gathered(g) first"
        n_docs = len(g.word_bounds) - 1
        doc = g.doc_of_pair
        weight = m.data[g.entry_of_pair] * coef[g.columns]
        same = weight * push[doc] > 0
        share = (weight * g.counts[g.word_of] / g.tf[g.entry_of_pair])[same]
        word = g.word_of[same]
        per_word = np.bincount(word, weights=share, minlength=len(g.words))
        held = np.bincount(word, minlength=len(g.words)) > 0
        total = np.bincount(doc[same], weights=share, minlength=n_docs)
        return per_word, held, total

    def get_feature_names_out(self) -> np.ndarray:
        """The n-grams, in column order."""
        names = np.empty(len(self.vocabulary_), dtype=object)
        for g, i in self.vocabulary_.items():
            names[i] = g
        return names

    def __getstate__(self) -> dict[str, Any]:
        """What a model file keeps: the parameters and learned state, never the word cache."""
        return {k: v for k, v in self.__dict__.items() if k not in _UNSTORED}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.clear_cache()
