"""Features an analyst would recognise, each with a readable name, a group and its evidence.

Every feature is 0 when the message does not show it, so a linear model's contribution
``weight * value`` is exactly 0 for absent features: the reasons given for a verdict can
only name features the message really has. Each feature also says whether it reveals the
*era* of a message (its mail software, its headers' vintage) rather than its intent; the
evaluation removes those to show the model does not win by dates (see ``evaluation/ablation.py``).

This module is the catalogue (names, groups, risk indicators) and ``extract``; each group's
rules live in their own module (``headers``, ``links``, ``content``, ``attachments``), which
yield what they find and never touch the feature vector themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from bluebench.mail.attachments import attachment_hits
from bluebench.mail.content import content_hits
from bluebench.mail.domains import address_domain, split_address
from bluebench.mail.headers import auth_hits, received_hits, sender_hits
from bluebench.mail.links import link_hits
from bluebench.sources.mailparse import Mail


@dataclass(frozen=True)
class Feature:
    """One named feature: its group (headers, links, content, attachments) and era flag."""

    name: str
    group: str
    era: bool
    description: str


FEATURES: tuple[Feature, ...] = (
    # headers: sender identity
    Feature("from_replyto_mismatch", "headers", False, "Reply-To domain differs from the From domain"),
    Feature("from_returnpath_mismatch", "headers", False, "Return-Path domain differs from the From domain"),
    Feature("from_messageid_mismatch", "headers", False, "Message-ID domain differs from the From domain"),
    Feature(
        "display_name_other_address", "headers", False, "the display name holds an address of another domain"
    ),
    Feature(
        "display_name_brand_spoof", "headers", False, "the display name names a brand the From domain is not"
    ),
    Feature("from_freemail", "headers", False, "From is a free-mail address"),
    Feature("from_missing", "headers", False, "no readable From address"),
    Feature("to_missing", "headers", False, "no To header, or undisclosed recipients"),
    Feature("from_equals_to", "headers", False, "sent to the sender's own address"),
    Feature("subject_encoded", "headers", True, "the Subject uses RFC 2047 encoded words"),
    Feature("in_thread", "headers", False, "In-Reply-To or References: a reply within a conversation"),
    # headers: authentication results (present only in mail received after ~2010: era)
    Feature("auth_spf_fail", "headers", True, "SPF fail or softfail in Authentication-Results/Received-SPF"),
    Feature("auth_dkim_fail", "headers", True, "DKIM fail in Authentication-Results"),
    Feature("auth_dmarc_fail", "headers", True, "DMARC fail in Authentication-Results"),
    Feature("auth_spf_pass", "headers", True, "SPF pass"),
    Feature("auth_dkim_pass", "headers", True, "DKIM pass"),
    Feature("auth_dmarc_pass", "headers", True, "DMARC pass"),
    Feature("auth_none", "headers", True, "no authentication results at all"),
    # headers: Received chain
    Feature("received_hops", "headers", True, "number of Received headers (log)"),
    Feature("received_none", "headers", True, "no Received header"),
    Feature("received_time_backwards", "headers", True, "a later hop is stamped before an earlier one"),
    Feature("received_helo_ip_literal", "headers", True, "a relay greeted with a bare IP address"),
    # links
    Feature("link_count", "links", False, "number of links (log)"),
    Feature("link_domains", "links", False, "number of distinct registered domains linked (log)"),
    Feature("link_ip_host", "links", False, "a link to an IP address instead of a name"),
    Feature("link_punycode", "links", False, "a link host in punycode (xn--)"),
    Feature("link_lookalike", "links", False, "a link domain that imitates a brand"),
    Feature("link_anchor_mismatch", "links", False, "anchor text names a domain the link does not go to"),
    Feature("link_shortener", "links", False, "a link through a URL shortener"),
    Feature("link_userinfo", "links", False, "a link with user@ before the host"),
    Feature("link_port", "links", False, "a link to a non-standard port"),
    Feature("link_script_url", "links", False, "a javascript: or data: link"),
    Feature("link_free_hosting", "links", False, "a link to free web or form hosting"),
    Feature("link_offsite", "links", False, "share of links to domains other than the sender's"),
    Feature("link_risky_tld", "links", True, "a link in a TLD favoured by abuse (new gTLDs)"),
    # content
    Feature("urgency_terms", "content", False, "urgency or threat language (log count)"),
    Feature("credential_terms", "content", False, "credential or account language (log count)"),
    Feature("html_form", "content", False, "an HTML form in the body"),
    Feature("password_field", "content", False, "a password input in the body"),
    Feature("hidden_text", "content", False, "text hidden by style (display:none, font-size:0, ...)"),
    Feature("html_script", "content", False, "a script element in the body"),
    Feature("image_heavy", "content", False, "images with almost no text"),
    Feature("html_only", "content", True, "HTML body without a plain-text part"),
    Feature("short_body", "content", False, "fewer than 300 characters of text"),
    Feature("quoted_reply", "content", False, "quotes an earlier message ('> ' lines or 'wrote:')"),
    # attachments
    Feature("attach_html", "attachments", False, "an HTML or SVG attachment"),
    Feature(
        "attach_archive", "attachments", False, "an archive attachment (zip, rar, 7z, ...), not report data"
    ),
    Feature(
        "attach_report_data",
        "attachments",
        False,
        "an archive of machine-made report data (DMARC aggregate or TLS-RPT report)",
    ),
    Feature("attach_disk_image", "attachments", False, "a disk image attachment (iso, img, vhd)"),
    Feature("attach_office_macro", "attachments", False, "a macro-capable office attachment"),
    Feature("attach_executable", "attachments", False, "an executable or script attachment"),
    Feature("attach_pdf", "attachments", False, "a PDF attachment"),
    Feature("attach_disguised", "attachments", False, "an attachment name that disguises its type"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
ERA_FREE_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if not f.era)
# Risk indicators: an analyst reads each as a reason for suspicion, never as a sign of
# innocence. If training gives one a negative weight (zip attachments look benign when the
# only zips in training are DMARC reports), the model drops it instead (see model.fit).
RISK_FEATURES: frozenset[str] = frozenset(
    [
        "from_replyto_mismatch",
        "display_name_other_address",
        "display_name_brand_spoof",
        "from_missing",
        "auth_spf_fail",
        "auth_dkim_fail",
        "auth_dmarc_fail",
        "received_time_backwards",
        "received_helo_ip_literal",
        "link_ip_host",
        "link_punycode",
        "link_lookalike",
        "link_anchor_mismatch",
        "link_shortener",
        "link_userinfo",
        "link_port",
        "link_script_url",
        "link_free_hosting",
        "link_risky_tld",
        "urgency_terms",
        "credential_terms",
        "html_form",
        "password_field",
        "hidden_text",
        "html_script",
        "image_heavy",
        "attach_html",
        "attach_archive",
        "attach_disk_image",
        "attach_office_macro",
        "attach_executable",
        "attach_disguised",
    ]
)
FEATURE_INDEX: dict[str, int] = {n: i for i, n in enumerate(FEATURE_NAMES)}
GROUPS: tuple[str, ...] = ("headers", "links", "content", "attachments")


@dataclass
class Extracted:
    """What a message gives the model: named feature values with evidence, and its text."""

    values: np.ndarray
    evidence: dict[str, str] = field(default_factory=dict)
    text: str = ""


class _Rec:
    """Collects feature values and the first evidence for each."""

    def __init__(self) -> None:
        self.values = np.zeros(len(FEATURES), dtype=np.float64)
        self.evidence: dict[str, str] = {}

    def add(self, hits: Iterable[tuple[str, float, str]]) -> None:
        """Record a group's hits in order: the last value of a feature stands, its first evidence."""
        for name, value, evidence in hits:
            if value:
                self.values[FEATURE_INDEX[name]] = value
                if evidence and name not in self.evidence:
                    self.evidence[name] = evidence[:160]


def extract(mail: Mail, era: bool = True) -> Extracted:
    """All features of one message; cheap enough for hundreds of messages a second.

    ``era=False`` skips the authentication and Received features (all era-revealing,
    left at 0): a model that does not read them is scored faster, with the same result.
    """
    r = _Rec()
    from_name, from_addr = split_address(mail.header("From"))
    from_dom = address_domain(from_addr)
    r.add(sender_hits(mail, from_name, from_addr, from_dom))
    if era:
        r.add(auth_hits(mail))
        r.add(received_hits(mail))
    r.add(link_hits(mail, from_dom))
    r.add(content_hits(mail))
    r.add(attachment_hits(mail))
    body = mail.body
    text = (mail.subject + "\n" + body[:20000]).strip()
    return Extracted(r.values, r.evidence, text)
