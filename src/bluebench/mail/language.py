"""The language a message is written in, detected from its own words, never from its source.

Each of the seven languages whose function words ``text.STOP_BY_LANGUAGE`` lists scores the
share of the message's words that are its function words; the best wins when it holds at
least ``MIN_HITS`` of them and clearly beats the second. Mail mostly in a script those lists
cannot read (Chinese, Japanese or Korean; Cyrillic) is named by its script. Anything else is
``und`` (undetermined, ISO 639-2): too short, mixed, or a language without a list.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from bluebench.mail.text import STOP_BY_LANGUAGE

UNDETERMINED = "und"
MIN_HITS = 5
MARGIN = 1.5  # the winner's function words over the runner-up's
MAX_CHARS = 20_000  # the opening of a long message says its language well enough
# How many times balancing per language (``Spec(balance="language")``) may raise or lower one
# message's weight before each class is scaled back; in a trial on validation 3 and 10 gave
# the same figures.
LANGUAGE_WEIGHT_CAP = 5.0

_WORDS = re.compile(r"[^\W\d_]+")
# Links, addresses and markup are not prose: "casida.com/de/" would count "com" and "de" as
# Portuguese function words and call a German newsletter Portuguese.
_NOT_PROSE = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.)\S+|\S+@\S+|<[^>]*>", re.IGNORECASE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LETTER = re.compile(r"[^\W\d_]")
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split()) for lang, words in STOP_BY_LANGUAGE.items()
}
SCRIPT_LANGUAGES: tuple[str, ...] = ("cjk", "cyrillic")
LANGUAGES: tuple[str, ...] = (*sorted(_FUNCTION_WORDS), *SCRIPT_LANGUAGES, UNDETERMINED)


def detect_language(text: str) -> str:
    """ISO 639-1 code of the message's language, a script name (``cjk``, ``cyrillic``) or ``und``."""
    text = _NOT_PROSE.sub(" ", text[:MAX_CHARS])
    letters = len(_LETTER.findall(text))
    if letters:
        for script, pattern in (("cjk", _CJK), ("cyrillic", _CYRILLIC)):
            if len(pattern.findall(text)) >= 0.3 * letters:
                return script
    words = Counter(w.lower() for w in _WORDS.findall(text))
    hits = sorted(
        ((sum(n for w, n in words.items() if w in fw), lang) for lang, fw in _FUNCTION_WORDS.items()),
        reverse=True,
    )
    (best, lang), (second, _) = hits[0], hits[1]
    if best >= MIN_HITS and best >= MARGIN * second:
        return lang
    return UNDETERMINED


def balance_by_language(
    languages: Sequence[str], y: np.ndarray, cap: float = LANGUAGE_WEIGHT_CAP
) -> np.ndarray:
    """Sample weights under which phishing and the rest weigh the same within each language.

    The corpora hold phishing mostly in some languages (a German and a Brazilian honeypot)
    and legitimate mail mostly in another (English lists), so a text model learns the
    language itself as evidence and flags German newsletters. Within each language that
    has both classes, each class gets half of that language's weight; a language with one
    class keeps weight 1 (nothing to balance it against). Every weight is kept within
    ``[1/cap, cap]`` so that two messages cannot outweigh a hundred, and each class is then
    scaled back to its own count, so that ``class_weight="balanced"`` still weighs the two
    classes equally over the whole training set.
    """
    langs = np.asarray(languages, dtype=object)
    y = np.asarray(y)
    w = np.ones(len(y), dtype=np.float64)
    for lang in set(langs.tolist()):
        mine = langs == lang
        counts = np.bincount(y[mine], minlength=2)
        if counts.min() == 0:
            continue
        for c in (0, 1):
            w[mine & (y == c)] = mine.sum() / (2 * counts[c])
    w = np.clip(w, 1 / cap, cap)
    for c in (0, 1):
        mine = y == c
        if mine.any():
            w[mine] *= mine.sum() / w[mine].sum()
    return w
