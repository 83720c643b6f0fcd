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

from bluebench.mail.text import STOP_BY_LANGUAGE

UNDETERMINED = "und"
MIN_HITS = 5
MARGIN = 1.5  # the winner's function words over the runner-up's
MAX_CHARS = 20_000  # the opening of a long message says its language well enough

_WORDS = re.compile(r"[^\W\d_]+")
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
    text = text[:MAX_CHARS]
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
