"""Header features: sender identity, authentication results and the Received chain.

Each function yields ``(feature, value, evidence)`` for what the message shows; ``features.extract``
records them. Authentication and Received features reveal a message's era (see ``features.FEATURES``).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator

from bluebench.mail.domains import BRANDS, address_domain, registered_domain, split_address
from bluebench.sources.mailparse import Mail, parse_date

Hits = Iterator[tuple[str, float, str]]

_BRAND_WORDS = re.compile(
    r"\b("
    + "|".join(sorted(BRANDS, key=len, reverse=True))
    + r"|bank of america|wells fargo|american express)\b",
    re.IGNORECASE,
)
FREEMAIL = frozenset(
    [
        "gmail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "aol.com",
        "msn.com",
        "icloud.com",
        "mail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "yandex.ru",
        "mail.ru",
        "protonmail.com",
        "proton.me",
        "zoho.com",
        "yahoo.co.uk",
        "yahoo.com.br",
        "bol.com.br",
        "uol.com.br",
        "terra.com.br",
        "hotmail.co.uk",
    ]
)
_AUTH = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)
_RECEIVED_FROM_IP = re.compile(r"^\s*from\s+\[?(\d{1,3}(?:\.\d{1,3}){3})\]?[\s(]", re.IGNORECASE)
_RECEIVED_DATE = re.compile(r";\s*([^;]+)$")


def sender_hits(mail: Mail, from_name: str, from_addr: str, from_dom: str) -> Hits:
    """Who the message claims to be from, against its other headers and its display name."""
    if not from_dom:
        yield ("from_missing", 1, f"From: {mail.header('From')[:80]!r}")
    for header, feature in (
        ("Reply-To", "from_replyto_mismatch"),
        ("Return-Path", "from_returnpath_mismatch"),
    ):
        value = mail.header(header)
        if value and from_dom:
            dom = address_domain(split_address(value)[1])
            if dom and dom != from_dom:
                yield (feature, 1, f"{header} {dom} vs From {from_dom}")
    mid = mail.header("Message-ID")
    if mid and from_dom and "@" in mid:
        dom = registered_domain(mid.rsplit("@", 1)[1].strip("<> "))
        if dom and dom != from_dom and "." in dom:
            yield ("from_messageid_mismatch", 1, f"Message-ID {dom} vs From {from_dom}")
    if from_name:
        m = re.search(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)", from_name)
        if m and registered_domain(m.group(1)) != from_dom:
            yield ("display_name_other_address", 1, f"display name {from_name[:60]!r} sent from {from_dom}")
        b = _BRAND_WORDS.search(from_name)
        if b:
            brand = b.group(1).lower().replace(" ", "")
            legit = BRANDS.get(brand, ())
            if from_dom and from_dom not in legit and from_dom.split(".", 1)[0] != brand:
                yield ("display_name_brand_spoof", 1, f"display name {from_name[:60]!r} sent from {from_dom}")
    if from_dom in FREEMAIL:
        yield ("from_freemail", 1, f"From {from_addr}")
    to = mail.header("To")
    if not to.strip() or "undisclosed" in to.lower():
        yield ("to_missing", 1, f"To: {to[:60]!r}")
    elif from_addr and split_address(to)[1].lower() == from_addr.lower():
        yield ("from_equals_to", 1, f"To and From are both {from_addr}")
    refs = mail.header("In-Reply-To") or mail.header("References")
    if refs:
        yield ("in_thread", 1, f"replies to {refs.split()[0][:60]}")
    if any(k.lower() == "subject" for k in mail.encoded_headers):
        yield ("subject_encoded", 1, "Subject in encoded words")


def auth_hits(mail: Mail) -> Hits:
    """SPF, DKIM and DMARC outcomes as the receiving servers recorded them (era signals)."""
    results: dict[str, str] = {}
    for value in (
        mail.header_all("Authentication-Results") + mail.header_all("ARC-Authentication-Results")[:1]
    ):
        for method, outcome in _AUTH.findall(value):
            results.setdefault(method.lower(), outcome.lower())
    spf = mail.header("Received-SPF").split(" ", 1)[0].lower()
    if spf and "spf" not in results:
        results["spf"] = spf
    if not results:
        yield ("auth_none", 1, "no Authentication-Results or Received-SPF header")
        return
    for method in ("spf", "dkim", "dmarc"):
        outcome = results.get(method, "")
        if outcome in ("fail", "softfail", "permerror", "hardfail"):
            yield (f"auth_{method}_fail", 1, f"{method}={outcome}")
        elif outcome == "pass":
            yield (f"auth_{method}_pass", 1, f"{method}=pass")


def received_hits(mail: Mail) -> Hits:
    """Oddities of the Received chain: no hops, bare-IP greetings, time running backwards."""
    received = mail.header_all("Received")
    if not received:
        yield ("received_none", 1, "no Received header")
        return
    yield ("received_hops", math.log1p(len(received)), f"{len(received)} Received headers")
    stamps = []
    for value in received[:20]:
        m = _RECEIVED_DATE.search(value)
        stamps.append(parse_date(m.group(1)) if m else None)
        ip = _RECEIVED_FROM_IP.match(value)
        if ip:
            yield ("received_helo_ip_literal", 1, f"relay greeted as {ip.group(1)}")
    # headers are newest first: each stamp should not be earlier than the one below it
    for newer, older in itertools.pairwise(stamps):
        if newer and older and (older - newer).total_seconds() > 600:
            yield ("received_time_backwards", 1, f"hop stamped {newer} after a hop stamped {older}")
            break
