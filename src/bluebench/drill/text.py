"""An answer read as spoken text: comments blanked, sentence spans, words; offsets always into the answer.

Every finding quotes the answer's exact words (``answer[start:end] == quote``), so nothing here
changes the text's length: what is left out becomes spaces, and sentences are spans, not copies.
"""

from __future__ import annotations

import re

from bluebench.drill.lexicon import NEGATIONS

__all__ = ["WORD", "affirmed", "blank_comments", "denied", "sentence_of", "sentences", "spoken_words"]

WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)|\n(?=#)")


def blank_comments(text: str) -> str:
    """HTML comments (the test answers' headers) become spaces, so offsets stay the same."""
    return _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans: ends at . ! ? before space, at blank lines and at list items."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        seg = text[a:b]
        lead = len(seg) - len(seg.lstrip())
        seg = seg.strip()
        # Leading list markers and Markdown heading marks are not part of what is said.
        mark = re.match(r"(?:#+|[-*+]|\d+[.)])\s+", seg)
        if mark:
            lead += mark.end()
            seg = seg[mark.end() :]
        if WORD.search(seg):
            out.append((a + lead, a + lead + len(seg)))
    return out


def sentence_of(spans: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    """The sentence holding ``pos`` (the last one when none does)."""
    for a, b in spans:
        if a <= pos < b:
            return a, b
    return spans[-1] if spans else (0, 0)


def spoken_words(text: str) -> list[re.Match[str]]:
    """The words a person would say, for length and repetition."""
    return list(WORD.finditer(text))


def denied(text: str, at: int) -> bool:
    """Whether a negation earlier in the same clause turns around what is said at ``at``."""
    clause_start = max(text.rfind(c, 0, at) for c in ".,;:!?\n") + 1
    return bool(NEGATIONS.search(text[clause_start:at]))


def affirmed(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """Spans where ``pattern`` is said, not denied: "it never misses" counts, "it does not catch every
    attack" does not."""
    return [(m.start(), m.end()) for m in pattern.finditer(text) if not denied(text, m.start())]
