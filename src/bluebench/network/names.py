"""DNS query names as numbers a model and a person can both read.

A name is cut at its public suffix (``tldextract`` with the snapshot bundled in its pinned
release and no list URLs: never the network); what lies before the suffix is what a tunnel
encodes its data into and a generator invents, so every feature describes that part:

============== =========================================================================
feature        meaning
============== =========================================================================
entropy        Shannon entropy of the longest label before the suffix, bits per character
               (case folded)
upper          share of upper-case letters among letters (DNS is case-blind; base64 is not)
unusual        share of characters a host name may not hold (``+``, ``/``, ``=``, ...)
surprise       mean surprise of each letter after the one before it, in bits, under the letter
               pairs of ordinary names (:class:`Bigrams`): rare letter sequences score high
vowels         share of vowels among letters
============== =========================================================================

How many labels a name has, its length and its share of digits are left out on purpose: the
public plain names are registered domains (one short label each), so a model given those
learns "more than one label" or "a number" and flags every ``www.`` name and every reverse
lookup; what the characters *look like* carries over to real traffic. Entropy is read on the
longest label alone for the same reason: over a whole name it grows with the name's length,
and ``11.tlu.dl.delivery.mp.microsoft.com`` would look like data. Length is still read, by the
detector, per registered domain (``detectors/dns.py``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import tldextract

FEATURES: tuple[str, ...] = ("entropy", "upper", "unusual", "surprise", "vowels")
#: How a reason names each feature, with the unit its value is in.
FEATURE_WORDS: dict[str, tuple[str, str]] = {
    "entropy": ("entropy", " bits/character"),
    "upper": ("share of upper-case letters", ""),
    "unusual": ("share of characters a host name may not hold", ""),
    "surprise": ("rare letter sequences (mean surprise)", " bits"),
    "vowels": ("share of vowels", ""),
}

_EXTRACT = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)
_HOST_CHAR = re.compile(r"[a-z0-9\-_]")  # "_" starts SRV and DKIM labels
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_NOT_HOST = re.compile(r"[^A-Za-z0-9._\-]")
VOWELS = frozenset("aeiouy")
#: Letters of the pair model: those a host name holds, plus one symbol for any other.
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-"
OTHER = "?"
EDGE = "^"  # the start and end of a label


@dataclass(frozen=True)
class Split:
    """A query name cut at its public suffix: ``sub`` . ``domain`` . ``suffix``."""

    sub: str
    domain: str
    suffix: str

    @property
    def registered(self) -> str:
        """``domain.suffix`` (``example.co.uk``), or the last label when there is no known suffix."""
        if self.domain and self.suffix:
            return f"{self.domain}.{self.suffix}"
        return self.domain or self.suffix

    @property
    def body(self) -> str:
        """What lies before the suffix: ``sub.domain``."""
        return f"{self.sub}.{self.domain}" if self.sub else self.domain


def clean(name: str) -> str:
    """A query name without the root dot and surrounding space."""
    return name.strip().rstrip(".")


@lru_cache(maxsize=262144)
def split_name(name: str) -> Split:
    """Cut ``name`` at its public suffix (case kept: the ``upper`` feature reads it)."""
    text = clean(name)
    if not text or _IPV4.match(text):
        return Split("", text, "")
    # tldextract reads URLs: '/', '@', ':' or '?' in a label (base64 in a tunnel's names) would
    # end the host. Only the suffix is looked up, on a copy with such characters replaced; the
    # labels are then cut from the name as it was.
    parts = _EXTRACT(_NOT_HOST.sub("x", text))
    labels = text.split(".")
    n_suffix = len(parts.suffix.split(".")) if parts.suffix else 0
    if n_suffix >= len(labels):
        return Split("", "", text)
    cut = len(labels) - n_suffix
    return Split(".".join(labels[: cut - 1]), labels[cut - 1], ".".join(labels[cut:]))


def _letter(ch: str) -> str:
    return ch if ch in ALPHABET else OTHER


class Bigrams:
    """Letter-pair frequencies of ordinary names: how surprising each next letter is, in bits.

    ``fit`` learns from benign names; ``surprise`` is read-only. Add-one smoothing keeps an
    unseen pair rare rather than impossible.
    """

    def __init__(self, logp: dict[str, float] | None = None, unseen: float = 0.0) -> None:
        self.logp_: dict[str, float] = dict(logp or {})
        self.unseen_ = unseen

    def fit(self, names: Iterable[str]) -> Bigrams:
        """Count the pairs of every label (with its edges) of ``names``; returns self."""
        pairs: Counter[str] = Counter()
        for name in names:
            for label in split_name(name).body.lower().split("."):
                if label:
                    seq = EDGE + "".join(_letter(c) for c in label) + EDGE
                    pairs.update(seq[i : i + 2] for i in range(len(seq) - 1))
        symbols = EDGE + ALPHABET + OTHER
        firsts: Counter[str] = Counter()
        for pair, n in pairs.items():
            firsts[pair[0]] += n
        size = len(symbols)
        self.logp_ = {
            pair: -math.log2((n + 1) / (firsts[pair[0]] + size)) for pair, n in sorted(pairs.items())
        }
        total = max(firsts.values(), default=0)
        self.unseen_ = -math.log2(1 / (total + size)) if total else math.log2(size)
        return self

    def surprise(self, text: str) -> float:
        """Mean bits per letter pair of the labels of ``text`` (0 for an empty text)."""
        bits, n = 0.0, 0
        for label in text.lower().split("."):
            if not label:
                continue
            seq = EDGE + "".join(_letter(c) for c in label) + EDGE
            for i in range(len(seq) - 1):
                bits += self.logp_.get(seq[i : i + 2], self.unseen_)
                n += 1
        return bits / n if n else 0.0


def _entropy(text: str) -> float:
    if not text:
        return 0.0
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def name_features(name: str, bigrams: Bigrams) -> list[float]:
    """The :data:`FEATURES` of one query name, in order."""
    body = split_name(name).body
    labels = [x for x in body.split(".") if x]
    chars = "".join(labels)
    n = len(chars)
    letters = [c for c in chars if c.isalpha()]
    folded = chars.lower()
    longest = max(labels, key=len, default="")
    return [
        _entropy(longest.lower()),
        sum(c.isupper() for c in letters) / len(letters) if letters else 0.0,
        sum(not _HOST_CHAR.match(c) for c in folded) / n if n else 0.0,
        bigrams.surprise(body),
        sum(c.lower() in VOWELS for c in letters) / len(letters) if letters else 0.0,
    ]


def feature_matrix(names: Sequence[str], bigrams: Bigrams) -> np.ndarray:
    """Rows of :data:`FEATURES` for ``names`` (float64, one row per name)."""
    if not names:
        return np.zeros((0, len(FEATURES)))
    return np.asarray([name_features(n, bigrams) for n in names], dtype=np.float64)
