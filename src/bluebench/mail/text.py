"""The text a model reads: era signals, list furniture and corpus artefacts taken out.

The shipped model reads subject and body cleaned of what dates a message (list footers,
URLs, dates, numbers) and of what the corpora, not the senders, put there; only the era
probe of the evaluation reads ``era_tokens``, what gives a message's era away.
"""

from __future__ import annotations

import re

from bluebench.sources.mailparse import Mail

# Function words (articles, pronouns, prepositions, auxiliaries) of the languages in the
# corpus; ``Spec(stopwords=True)`` drops them so that a language is no phishing signal.
STOP_BY_LANGUAGE: dict[str, str] = {
    "de": (
        "der die das den dem des ein eine einen einem einer eines und oder aber ist sind war waren "
        "wird werden wurde sein bin bist hat haben hatte ich du er sie es wir ihr ihre ihren ihrem "
        "ihrer ihres sie ihnen mich mir dich dir uns euch sich mein meine dein deine sein seine "
        "unser unsere euer eure zu zum zur im in an am auf aus bei mit nach von vom vor für fur "
        "über uber unter durch gegen ohne um bis als wie wenn dass daß ob weil nicht kein keine "
        "auch noch nur schon so sehr hier dort da dann mehr alle allen jetzt doch mal man wo was "
        "wer wie dies diese dieser dieses diesen jede jeder jedes"
    ),
    "pt": (
        "o a os as um uma uns umas de do da dos das no na nos nas ao aos à às em por para pelo pela "
        "pelos pelas com sem sob sobre e ou mas que se não nao é são sao foi ser está esta estão "
        "estao tem têm ter seu sua seus suas meu minha nosso nossa você voce vocês voces ele ela "
        "eles elas eu nós nos lhe isso este esta esse essa aqui muito mais como quando já ja"
    ),
    "es": (
        "el la los las un una unos unas de del al en por para con sin sobre y o pero que se no es "
        "son fue ser está esta están tiene tienen su sus mi mis tu tus nuestro nuestra usted "
        "ustedes él ella ellos ellas yo nosotros le les lo este esta estos estas ese esa aquí muy "
        "más como cuando ya"
    ),
    "fr": (
        "le la les un une des du de au aux en par pour avec sans sur sous et ou mais que qui se ne "
        "pas est sont été être a ont avoir son sa ses mon ma mes ton ta tes notre nos votre vos "
        "vous il elle ils elles je nous lui leur ce cette ces ici très plus comme quand déjà"
    ),
    "it": (
        "il lo la i gli le un uno una di del della dei delle al alla in per con senza su e o ma che "
        "si non è sono era essere ha hanno suo sua suoi sue mio mia tuo tua nostro vostro lei lui "
        "loro io noi questo questa qui molto più come quando già"
    ),
    "nl": (
        "de het een en of maar is zijn was waren wordt worden ik jij je hij zij wij jullie u uw "
        "mijn ons onze van voor met op in aan bij naar door over uit om te dat die dit niet geen "
        "ook nog al wel er"
    ),
    "en": (
        "the a an and or but of to in on at by for with from as is are was were be been being am "
        "has have had do does did i you he she it we they me him her us them my your his its our "
        "their this that these those there here not no so if then than too very can will would "
        "should could may might must shall what which who whom whose when where why how all any "
        "both each few more most other some such own same just also"
    ),
}
STOPWORDS: frozenset[str] = frozenset(w for ws in STOP_BY_LANGUAGE.values() for w in ws.split())


def era_tokens(mail: Mail) -> str:
    """Header names, mail software, Received formats and year: what gives away a message's era."""
    toks = {"h_" + re.sub(r"\W", "_", k.lower()) for k, _ in mail.headers}
    for h in ("X-Mailer", "User-Agent"):
        v = mail.header(h)
        if v:
            toks.add("mailer_" + re.sub(r"\W", "_", v.split("/")[0].split(" ")[0].lower())[:30])
    for value in mail.header_all("Received")[:3]:
        m = re.search(r"\bwith\s+([\w-]+)", value, re.IGNORECASE)
        if m:
            toks.add("with_" + m.group(1).lower())
    if mail.date is not None:
        toks.add(f"year_{mail.date.year}")
    return " ".join(sorted(toks))


# A line holding one of these is list or newsletter furniture: each hit is found with one
# unanchored pass (an anchored ``^[^\n]*(?:...)`` retried the alternation at every
# character, the slowest step of scoring), then the lines holding hits are dropped.
_LIST_WORDS = re.compile(
    r"mailing list|unsubscribe|listinfo|list-id|mailman|yahoo! ?groups|sourceforge|"
    r"lists?\.\w+\.\w+|googlegroups|you received this message because|to post to this group|"
    r"spamassassin|sponsored by|powered by|this (?:e-?mail|message) was sent to|"
    r"update your preferences|view (?:this|it) in your browser|manage (?:your )?subscription"
)
_RULE_LINE = re.compile(r"^[ \t]*[_=~*-]{8,}[ \t]*$", re.MULTILINE)
_SUBJECT_TAG = re.compile(r"^\s*(?:(?:re|fwd?|aw|wg)\s*:\s*)*\[[^\]\n]{1,40}\]\s*")
_URL_TEXT = re.compile(r"(?:https?://|www\.)\S+")
# Month and day names, then numbers: one pass (a name is matched first, as two passes did).
_DATES_AND_DIGITS = re.compile(
    r"\d+|\b(?=[adfjmnostw])(?:jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)\b"
)  # the lookahead lets most positions fail at once


def _drop_list_lines(t: str) -> str:
    """``t`` without the lines that hold list furniture or are a rule of dashes; newlines kept."""
    spans: list[tuple[int, int]] = []
    for m in _LIST_WORDS.finditer(t):
        start = t.rfind("\n", 0, m.start()) + 1
        end = t.find("\n", m.end())
        spans.append((start, len(t) if end < 0 else end))
    spans.extend(m.span() for m in _RULE_LINE.finditer(t))
    if not spans:
        return t
    spans.sort()
    out: list[str] = []
    pos = 0
    for start, end in spans:
        if end <= pos:
            continue
        out.append(t[pos : max(pos, start)])
        pos = end
    out.append(t[pos:])
    return "".join(out)


# Corpus artefacts (see ``strip_corpus_artefacts``): forwarded-message header lines in
# several languages, e-mail addresses, and reply/forward prefixes of the subject. Each
# pattern starts with a literal ("\n", "@") so the engine jumps between candidates instead of
# trying every character, and runs on lower-cased text (no IGNORECASE): scoring stays fast.
_FORWARD_HEADER = re.compile(
    r"\n[ \t>*]*(?:from|de|von|van|da|sent|enviado|enviada|gesendet|verzonden|envoy\u00e9|inviato|to|para|"
    r"an|aan|\u00e0|subject|assunto|betreff|asunto|onderwerp|objet|oggetto|date|data|datum|fecha|cc|"
    r"reply-to)[ \t]*:[^\n]*"
)
_ADDRESS_DOMAIN = re.compile(r"@[\w-]+(?:\.[\w-]+)*")
_LOCAL_PART_END = re.compile(r"[\w.+-]+$")
_SUBJECT_PREFIX = re.compile(r"\s*(?:(?:re|fwd?|aw|wg|tr|enc|rv|sv|vs|antw|res)\s*:\s*)+")


def _drop_addresses(t: str) -> str:
    """``t`` with every ``local@domain`` replaced by a space (found from its ``@``)."""
    if "@" not in t:
        return t
    out: list[str] = []
    pos = 0
    for m in _ADDRESS_DOMAIN.finditer(t):
        if m.start() < pos:
            continue
        local = _LOCAL_PART_END.search(t, max(pos, m.start() - 64), m.start())
        if local is None:  # "@name" with no local part is no address
            continue
        start = local.start()
        out.append(t[pos:start])
        out.append(" ")
        pos = m.end()
    out.append(t[pos:])
    return "".join(out)


def strip_corpus_artefacts(text: str) -> str:
    """Lower-cased text without what the corpora, not the senders, put there.

    The phishing-pot donors forwarded their mail (``Fw:`` subjects, Portuguese
    ``De: / Enviado: / Para: / Assunto:`` header blocks) and the honeypot's address was
    replaced by ``phishing@pot`` everywhere: left in, ``pot``, ``phishing``, ``de`` and
    ``para`` become phishing words. Forwarded or quoted header lines, addresses and
    reply/forward prefixes go in every class alike (a reply in ham loses them too).
    """
    t = text.lower()
    m = _SUBJECT_PREFIX.match(t)
    if m:
        t = t[m.end() :]
    t = _FORWARD_HEADER.sub("\n", "\n" + t)[1:]
    return _drop_addresses(t)


def strip_era_text(text: str) -> str:
    """Lower-cased text with list headers/footers, subject tags, URLs, dates and numbers removed.

    URLs go because ``http`` against ``https`` and old link hosts date a message (the link
    features judge links); month and day names and numbers go because they are dates.
    Lower-casing first (TF-IDF lower-cases anyway) lets every pattern run case-sensitively,
    several times faster.
    """
    t = _SUBJECT_TAG.sub("", text.lower(), count=1)
    t = _drop_list_lines(t)
    t = _URL_TEXT.sub(" ", t)
    return _DATES_AND_DIGITS.sub(" ", t)
