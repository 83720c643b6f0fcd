"""Content features: urgency and credential language, forms, hidden text, images, quoting.

``content_hits`` yields ``(feature, value, evidence)``; ``features.extract`` records them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from bluebench.sources.mailparse import Mail

Hits = Iterator[tuple[str, float, str]]

# Each pattern starts with a lookahead on the first letters of its words: a position that
# cannot start one fails at once instead of trying every alternative (same matches, ~2x faster).
_URGENCY = re.compile(
    r"\b(?=[uiaw24esldrtf])(?:urgent(?:ly)?|immediate(?:ly)?|as soon as possible|within (?:\d+|twenty[- ]four|forty[- ]eight) "
    r"(?:hours?|days?)|24 hours|48 hours|expir(?:e|es|ed|ing|ation)|suspen(?:d|ded|sion)|"
    r"locked|restricted|deactivat\w*|terminat\w*|final (?:notice|warning|reminder)|action required|"
    r"last (?:chance|warning)|unusual (?:activity|sign[- ]?in)|security alert|avoid (?:losing|"
    r"suspension|interruption)|will be (?:closed|deleted|disabled))\b",
)  # matched against lower-cased text: three times faster than re.IGNORECASE
_CREDENTIAL = re.compile(
    r"\b(?=[vculspramq])(?:verify|verification|confirm (?:your )?(?:account|identity|details|information|email)|"
    r"update (?:your )?(?:account|billing|payment|information|details)|log[- ]?in|sign[- ]?in|"
    r"password|passcode|credentials?|username|account (?:number|details|information)|"
    r"social security|ssn|credit card|card number|cvv|unlock|validate|re-?activate|"
    r"click (?:here|below|the (?:link|button))|mailbox|storage (?:is )?full|quota)\b",
)
_QUOTED = re.compile(r"^(?:>[ >]*\S.*|.{0,120}\bwrote:\s*)$", re.MULTILINE)


def content_hits(mail: Mail) -> Hits:
    """What the text asks and how the HTML hides it: urgency, credentials, forms, hidden text."""
    text = (mail.subject + "\n" + mail.body[:20000]).lower()
    urg = _URGENCY.findall(text)
    if urg:
        yield ("urgency_terms", math.log1p(len(urg)), ", ".join(sorted({u.lower() for u in urg})[:5]))
    cred = _CREDENTIAL.findall(text)
    if cred:
        yield ("credential_terms", math.log1p(len(cred)), ", ".join(sorted({c.lower() for c in cred})[:5]))
    if mail.forms:
        yield ("html_form", 1, f"{mail.forms} form(s)")
    if mail.password_inputs:
        yield ("password_field", 1, "password input in the body")
    # One hidden block at the top is a newsletter's preview line ("preheader"); hidden text
    # further down, or several blocks, is filler meant for filters, not for the reader.
    late = [t for t, at in zip(mail.hidden_text, mail.hidden_at, strict=True) if at > 0.2]
    if len(mail.hidden_text) >= 2 or late:
        shown = (late or mail.hidden_text)[0]
        yield ("hidden_text", 1, f"{len(mail.hidden_text)} hidden block(s), e.g. {shown!r}")
    if mail.scripts:
        yield ("html_script", 1, f"{mail.scripts} script element(s)")
    visible = len(mail.body.strip())
    if mail.images and visible < 200:
        yield ("image_heavy", 1, f"{mail.images} images, {visible} characters of text")
    if mail.has_html_part and not mail.has_text_part:
        yield ("html_only", 1, "HTML body, no plain-text part")
    if visible < 300:
        yield ("short_body", 1, f"{visible} characters of text")
    q = _QUOTED.search(mail.text[:50000])
    if q:
        yield ("quoted_reply", 1, f"quotes: {q.group(0).strip()[:60]!r}")
