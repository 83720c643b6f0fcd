"""Link features: hosts, look-alike and free-hosting domains, shorteners, misleading anchors.

``link_hits`` yields ``(feature, value, evidence)`` for what the message's links show;
``features.extract`` records them.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterator
from functools import lru_cache
from urllib.parse import urlsplit

from bluebench.mail.domains import BRANDS, public_suffix, registered_domain
from bluebench.sources.mailparse import Link, Mail

Hits = Iterator[tuple[str, float, str]]

SHORTENERS = frozenset(
    [
        "bit.ly",
        "tinyurl.com",
        "goo.gl",
        "t.co",
        "ow.ly",
        "is.gd",
        "buff.ly",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "rb.gy",
        "t.ly",
        "tiny.cc",
        "bit.do",
        "lnkd.in",
        "s.id",
        "qrco.de",
        "v.gd",
        "x.co",
        "shorte.st",
        "adf.ly",
        "bl.ink",
        "short.io",
        "tiny.one",
        "urlz.fr",
        "l.ead.me",
        "lnk.to",
        "surl.li",
        "u.to",
        "clck.ru",
    ]
)
FREE_HOSTING = frozenset(
    [
        "firebaseapp.com",
        "web.app",
        "weebly.com",
        "wixsite.com",
        "000webhostapp.com",
        "blogspot.com",
        "github.io",
        "glitch.me",
        "netlify.app",
        "r2.dev",
        "workers.dev",
        "pages.dev",
        "azurewebsites.net",
        "windows.net",
        "ngrok.io",
        "ngrok-free.app",
        "herokuapp.com",
        "vercel.app",
        "repl.co",
        "surge.sh",
        "webflow.io",
        "square.site",
        "godaddysites.com",
        "jimdosite.com",
        "ipfs.io",
        "dweb.link",
        "typeform.com",
        "formstack.com",
        "jotform.com",
        "forms.gle",
        "sites.google.com",
        "storage.googleapis.com",
        "amazonaws.com",
        "myshopify.com",
        "weeblysite.com",
        "mailchimpsites.com",
    ]
)
RISKY_TLDS = frozenset(
    [
        "xyz",
        "top",
        "click",
        "link",
        "online",
        "site",
        "store",
        "shop",
        "live",
        "buzz",
        "icu",
        "cyou",
        "rest",
        "monster",
        "sbs",
        "cfd",
        "bar",
        "quest",
        "fun",
        "work",
        "support",
        "help",
        "tk",
        "ml",
        "ga",
        "cf",
        "gq",
        "pw",
        "cc",
        "su",
        "ru",
        "cn",
        "info",
        "biz",
        "ws",
        "vip",
        "win",
        "bid",
        "loan",
    ]
)
_DOMAIN_IN_TEXT = re.compile(r"\b((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})\b", re.IGNORECASE)
_LOOKALIKE_MAP = str.maketrans(
    {"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "@": "a"}
)


def _host(href: str) -> tuple[str, str, bool, int | None]:
    """(scheme, host, has userinfo, port) of a link; host '' when there is none."""
    h = href.strip()
    if h.lower().startswith("www."):
        h = "http://" + h
    try:
        parts = urlsplit(h)
        port = parts.port
    except ValueError:
        return "", "", False, None
    host = (parts.hostname or "").lower()
    return parts.scheme.lower(), host, "@" in parts.netloc, port


def _is_ip(host: str) -> bool:
    """True for an IP address, or a bare or hex number a browser would read as one."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return bool(re.fullmatch(r"\d+", host)) or host.startswith("0x")


@lru_cache(maxsize=65536)
def _lookalike(dom: str) -> str | None:
    """The brand a registered domain imitates, or None."""
    label = dom.split(".", 1)[0]
    norm = label.translate(_LOOKALIKE_MAP).replace("rn", "m").replace("vv", "w")
    joined = norm.replace("-", "")
    for brand, legit in BRANDS.items():
        if dom in legit or len(brand) < 4:
            continue
        if brand in joined and label != brand:
            return brand
        if norm != label and norm == brand:
            return brand
        if len(brand) >= 6 and abs(len(label) - len(brand)) <= 1 and _edit1(label, brand):
            return brand
    return None


def _edit1(a: str, b: str) -> bool:
    """True when a and b differ by exactly one edit."""
    if a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    if len(a) > len(b):
        a, b = b, a
    return any(b[:i] + b[i + 1 :] == a for i in range(len(b)))


def link_hits(mail: Mail, from_dom: str) -> Hits:
    """Where the links go: IP hosts, look-alikes, shorteners, anchors that name another domain."""
    links: list[tuple[Link, str, str]] = []
    for link in mail.links[:500]:
        scheme, host, userinfo, port = _host(link.href)
        if scheme in ("javascript", "data", "vbscript"):
            yield ("link_script_url", 1, link.href[:80])
            continue
        if not host or scheme not in ("http", "https", "ftp", ""):
            continue
        dom = registered_domain(host)
        links.append((link, host, dom))
        if _is_ip(host):
            yield ("link_ip_host", 1, link.href[:120])
        if "xn--" in host:
            yield ("link_punycode", 1, host)
        if userinfo:
            yield ("link_userinfo", 1, link.href[:120])
        if port not in (None, 80, 443):
            yield ("link_port", 1, link.href[:120])
        if dom in SHORTENERS:
            yield ("link_shortener", 1, link.href[:120])
        if dom in FREE_HOSTING or host in FREE_HOSTING:
            yield ("link_free_hosting", 1, host)
        brand = _lookalike(dom)
        if brand:
            yield ("link_lookalike", 1, f"{host} imitates {brand}")
        if public_suffix(host).split(".")[-1] in RISKY_TLDS:
            yield ("link_risky_tld", 1, host)
        if link.html and link.text:
            for shown in _DOMAIN_IN_TEXT.findall(link.text)[:3]:
                shown_dom = registered_domain(shown)
                if (
                    "." in shown_dom
                    and shown_dom != dom
                    and public_suffix(shown)
                    and not shown_dom.endswith((".png", ".jpg", ".gif"))
                ):
                    yield ("link_anchor_mismatch", 1, f"text shows {shown_dom}, link goes to {dom}")
                    break
    if not links:
        return
    doms = {d for _, _, d in links}
    yield ("link_count", math.log1p(len(links)), f"{len(links)} links")
    yield ("link_domains", math.log1p(len(doms)), ", ".join(sorted(doms)[:5]))
    if from_dom:
        off = [d for _, _, d in links if d != from_dom]
        if off:
            yield (
                "link_offsite",
                len(off) / len(links),
                f"{len(off)} of {len(links)} links leave {from_dom}",
            )
