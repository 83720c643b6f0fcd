"""Which subject each number of an answer is about: named in its sentence, else in the one before.

The words come from :class:`bluebench.reports.binding.Aliases` (built from the registries and
the run's own comparison rows). A sentence that names no subject takes the one subject of the
sentence before it ("Brute force came out well. Recall was 92%."), and so on while sentences
name none, as "it" would refer back; a sentence naming several hands none on, since which one
is meant is not said. With no subject
at all a claim is about the run as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from bluebench.reports.binding import REVIEW, Aliases, Mention, Subject, nearest

__all__ = ["Binder", "Bound"]


@dataclass(frozen=True)
class Bound:
    """The subjects a position is about (preferred first), the words that named them, and how."""

    subjects: tuple[Subject, ...]
    quote: str = ""
    how: str = "none"  # named | sentence before | none

    @property
    def named(self) -> bool:
        return bool(self.subjects)


_NONE = Bound(())


class Binder:
    """The subject mentions of one answer, and the subject each sentence hands to the next."""

    def __init__(
        self,
        text: str,
        spans: list[tuple[int, int]],
        aliases: Aliases,
        masked: list[tuple[int, int]] | None = None,
    ) -> None:
        self.text = text
        self.spans = spans
        # Masked spans are units, not subjects: "per thousand connections" names no long_connection.
        self.mentions = aliases.mentions(text, masked or [])
        self._carried = self._carry()

    def _own(self, span: tuple[int, int]) -> list[Mention]:
        return [m for m in self.mentions if span[0] <= m.start < span[1]]

    def _carry(self) -> list[Bound]:
        """What each sentence inherits: the single subject of the sentence before (or what it inherited)."""
        out: list[Bound] = []
        before = _NONE
        for span in self.spans:
            out.append(before)
            own = [m for m in self._own(span) if REVIEW not in m.subjects]
            firsts = {m.subjects[0] for m in own}
            if len(firsts) == 1:
                m = own[-1]
                before = Bound(m.subjects, self.text[m.start : m.end], "sentence before")
            elif own:
                before = _NONE
        return out

    def at(self, start: int, end: int) -> Bound:
        """The subject of the figure at ``start..end``: named nearest in its sentence, else inherited."""
        for i, (a, b) in enumerate(self.spans):
            if a <= start < b:
                m = nearest(self.mentions, start, end, a, b)
                if m is not None:
                    return Bound(m.subjects, self.text[m.start : m.end], "named")
                return self._carried[i]
        return _NONE
