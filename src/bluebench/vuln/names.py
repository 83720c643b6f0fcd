"""Vendor and product names reduced to keys that match across CVE records, CISA's KEV and scanners.

"Microsoft Corporation", "microsoft" and "Microsoft" are one vendor; "Progress Software
Corporation" is KEV's "Progress"; "Microsoft Exchange Server 2019 CU 13" is KEV's "Exchange
Server". The keys are deliberately coarse (a vendor's first distinctive word, a product's
first word after the vendor's): a KEV count is a prior about a vendor's software, not an
identification of one product line.
"""

from __future__ import annotations

import re
from functools import lru_cache

_NOT_WORD = re.compile(r"[^a-z0-9 ]+")
# Words that say what kind of organisation, not which one.
_FILLER = frozenset(
    {
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "ltd",
        "limited",
        "llc",
        "gmbh",
        "ag",
        "sa",
        "bv",
        "plc",
        "the",
        "software",
        "foundation",
        "project",
        "group",
        "holdings",
        "and",
    }
)


def words(name: str | None) -> list[str]:
    """Lower-case words of a name, punctuation and hyphens dropped ('D-Link' -> ['dlink'])."""
    if not name:
        return []
    s = name.lower().replace("&", " and ").replace("-", "").replace("_", " ")
    return [w for w in _NOT_WORD.sub(" ", s).split() if w]


# Names repeat across tens of thousands of records (one vendor, many CVEs): key each once.
@lru_cache(maxsize=1 << 16)
def vendor_key(name: str | None) -> str | None:
    """A vendor's key: its first word that is not organisation filler; None for no name."""
    for w in words(name):
        if w not in _FILLER:
            return w
    return None


@lru_cache(maxsize=1 << 16)
def product_key(vendor: str | None, product: str | None) -> str | None:
    """'vendor:product-word': the product's first word that is neither the vendor's nor a number."""
    v = vendor_key(vendor)
    if v is None:
        return None
    vendor_words = set(words(vendor)) | {v}
    for w in words(product):
        if w not in vendor_words and w not in _FILLER and not w[0].isdigit():
            return f"{v}:{w}"
    return None
