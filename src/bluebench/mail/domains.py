"""Domains and addresses as a reader sees them: registered domains, From-like headers, brands.

Registered domains come from ``tldextract`` with the public-suffix snapshot bundled in its
pinned release and no list URLs, so no network call is ever made.
"""

from __future__ import annotations

import re
from functools import lru_cache

import tldextract

BRANDS: dict[str, tuple[str, ...]] = {
    "paypal": ("paypal.com",),
    "apple": ("apple.com", "icloud.com"),
    "icloud": ("icloud.com", "apple.com"),
    "microsoft": ("microsoft.com", "office.com", "outlook.com", "live.com", "office365.com"),
    "office365": ("office365.com", "microsoft.com", "office.com"),
    "outlook": ("outlook.com", "microsoft.com", "live.com"),
    "onedrive": ("microsoft.com", "live.com"),
    "sharepoint": ("sharepoint.com", "microsoft.com"),
    "amazon": ("amazon.com", "amazon.co.uk", "amazon.de", "amazon.com.br", "amazonses.com"),
    "netflix": ("netflix.com",),
    "google": ("google.com", "gmail.com", "youtube.com"),
    "facebook": ("facebook.com", "facebookmail.com", "meta.com"),
    "instagram": ("instagram.com",),
    "linkedin": ("linkedin.com",),
    "whatsapp": ("whatsapp.com",),
    "dhl": ("dhl.com", "dhl.de"),
    "fedex": ("fedex.com",),
    "usps": ("usps.com",),
    "ebay": ("ebay.com",),
    "chase": ("chase.com",),
    "wellsfargo": ("wellsfargo.com",),
    "citibank": ("citibank.com", "citi.com"),
    "barclays": ("barclays.co.uk", "barclays.com"),
    "hsbc": ("hsbc.com", "hsbc.co.uk"),
    "santander": ("santander.com", "santander.co.uk", "santander.com.br"),
    "docusign": ("docusign.com", "docusign.net"),
    "dropbox": ("dropbox.com",),
    "adobe": ("adobe.com",),
    "wetransfer": ("wetransfer.com",),
    "coinbase": ("coinbase.com",),
    "binance": ("binance.com",),
    "metamask": ("metamask.io",),
    "spotify": ("spotify.com",),
    "bradesco": ("bradesco.com.br",),
    "itau": ("itau.com.br",),
    "nubank": ("nubank.com.br",),
    "correios": ("correios.com.br",),
    "mercadolivre": ("mercadolivre.com.br",),
    "caixa": ("caixa.gov.br",),
    "visa": ("visa.com",),
    "mastercard": ("mastercard.com",),
    "americanexpress": ("americanexpress.com",),
    "bankofamerica": ("bankofamerica.com",),
    "irs": ("irs.gov",),
}

_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")

_EXTRACT = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)


@lru_cache(maxsize=65536)
def registered_domain(host: str) -> str:
    """The registrable domain of ``host`` (``login.paypal.co.uk`` -> ``paypal.co.uk``); IPs as is."""
    host = host.strip().strip(".").lower()
    if not host:
        return ""
    if _IPV4.match(host) or host.startswith("["):
        return host
    r = _EXTRACT(host)
    if r.domain and r.suffix:
        return f"{r.domain}.{r.suffix}"
    return host


@lru_cache(maxsize=65536)
def public_suffix(host: str) -> str:
    """The public suffix of ``host`` (``co.uk`` of ``login.paypal.co.uk``), lower-cased."""
    return _EXTRACT(host).suffix.lower()


_ANGLE_ADDR = re.compile(r"<\s*([^<>\s]*@[^<>\s]*)\s*>")
_BARE_ADDR = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")


def split_address(value: str) -> tuple[str, str]:
    """(display name, address) of a From-like header; tolerant of the broken forms phish use.

    ``email.utils.parseaddr`` gives up on ``Name ,_<a@b.c>`` and similar; the last
    ``<...>`` address, else the first bare address, is what a mail client would show.
    """
    found = list(_ANGLE_ADDR.finditer(value))
    if found:
        m = found[-1]
        name = value[: m.start()].strip().strip('"').strip()
        return name, m.group(1)
    b = _BARE_ADDR.search(value)
    if b:
        rest = (value[: b.start()] + value[b.end() :]).strip().strip("()").strip().strip('"')
        return rest, b.group(0)
    return value.strip().strip('"'), ""


def address_domain(addr: str) -> str:
    """Registered domain of an e-mail address, '' when it has none."""
    if "@" not in addr:
        return ""
    return registered_domain(addr.rsplit("@", 1)[1].strip(">").strip())
