"""Read .eml files, mbox files and folders of either into parsed messages with provenance.

Parsing uses the standard library's ``email`` package with the ``compat32`` policy: on the
project's corpus and on crafted broken messages it recovers as much as ``mail-parser``
(which is built on it) at about twice the speed (``bench/mail_parsers.py`` measures both).
Every message keeps its file and 1-based index within that file. What cannot be read is
reported as a :class:`~bluebench.sources.base.Skipped` entry naming file and message;
what was read with a repair (bad charset, broken base64, missing MIME boundary) is kept
and reported too, with ``kept=True``. Nothing stops the run.
"""

from __future__ import annotations

import binascii
import email
import email.header
import email.utils
import hashlib
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

from bluebench.sources.base import Skipped

MAX_MESSAGE_BYTES = 32 * 1024 * 1024  # a larger message is read up to here, and the cut reported
MAX_TEXT_CHARS = 200_000  # text kept per message for features; the rest is not needed to judge it
ATTACHMENT_HEAD_BYTES = 4096  # enough of an attachment to read its magic number

_FROM_LINE = re.compile(rb"^From [^\r\n]*\r?\n", re.MULTILINE)
_HEADER_LINE = re.compile(rb"^[!-9;-~]{1,76}:[ \t]?", re.MULTILINE)
_FOLDER_SKIP_SUFFIXES = {".md", ".csv", ".py", ".json", ".toml", ".yml", ".yaml", ".sh", ".gz", ".zip"}

# Links and markup are found with bounded regular expressions, not an HTML engine: mail
# HTML is attacker-written and often invalid, and this is ~10x faster than html.parser.
_A_TAG = re.compile(
    r"<a\b([^>]{0,2000})>(.{0,2000}?)</a\s*>",
    re.IGNORECASE | re.DOTALL,
)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,5000}>", re.DOTALL)
_SCRIPT_STYLE = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_URL = re.compile(r"""\b(?:https?://|www\.)[^\s<>"'`{}|\\^\[\]]{2,2000}""", re.IGNORECASE)
_HIDDEN = re.compile(
    r"""<(\w+)\b[^>]*style\s*=\s*["'][^"']*(?:display\s*:\s*none|visibility\s*:\s*hidden|"""
    r"""font-size\s*:\s*0(?:px|pt|em)?\s*[;"']|opacity\s*:\s*0(?:\.0+)?\s*[;"'])[^>]*>([^<]{3,})""",
    re.IGNORECASE,
)
_WORDISH = re.compile(r"\w")
_HIDING_WORDS = ("display", "visibility", "font-size", "opacity")
_HIDING = re.compile(  # on lower-cased HTML: one quick pass to skip _HIDDEN, which is slow
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0|opacity\s*:\s*0"
)
_FORM = re.compile(r"<form\b", re.IGNORECASE)
_PASSWORD_INPUT = re.compile(r"""<input\b[^>]*type\s*=\s*["']?password""", re.IGNORECASE)
_SCRIPT = re.compile(r"<script\b", re.IGNORECASE)
_IMG = re.compile(r"<img\b", re.IGNORECASE)
_BREAK = re.compile(r"<(?:br|/p|/div|/tr|/li|/h\d)\b[^>]*>", re.IGNORECASE)
_WS = re.compile(r"[\t\r\f\v][ \t\r\f\v]*| [ \t\r\f\v]+")  # a lone space is left as it is: far fewer matches
_BLANKS = re.compile(r"\n\s*\n+")


@dataclass(frozen=True)
class Link:
    """One link: its target and, for an HTML anchor, the text a reader sees."""

    href: str
    text: str = ""
    html: bool = False


@dataclass(frozen=True)
class Attachment:
    """A non-text part: declared name and type, approximate size and its first bytes."""

    name: str
    content_type: str
    size: int
    head: bytes = b""


@dataclass
class Mail:
    """One message as read: headers, decoded text, links, attachments, and its provenance."""

    file: str
    index: int
    headers: list[tuple[str, str]]
    path: str = ""  # resolved path on disk, to match labels
    digest: str = ""  # sha1 of the raw message bytes: training-data fingerprint, duplicates
    subject: str = ""
    text: str = ""
    html: str = ""
    html_text: str = ""
    links: list[Link] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    date: datetime | None = None
    size: int = 0
    forms: int = 0
    password_inputs: int = 0
    scripts: int = 0
    images: int = 0
    hidden_text: list[str] = field(default_factory=list)
    hidden_at: list[float] = field(default_factory=list)  # where each starts, as a share of the HTML
    has_text_part: bool = False
    has_html_part: bool = False
    encoded_headers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _by_name: dict[str, list[str]] | None = field(default=None, repr=False, compare=False)
    _indexed: int = field(default=0, repr=False, compare=False)

    def header(self, name: str) -> str:
        """The first header called ``name`` (case-insensitive), decoded; '' when absent."""
        values = self._index().get(name.lower())
        return values[0] if values else ""

    def header_all(self, name: str) -> list[str]:
        """Every header called ``name``, in order."""
        return list(self._index().get(name.lower(), ()))

    def _index(self) -> dict[str, list[str]]:
        """Lower-cased name -> values, built once: features ask for a dozen headers each."""
        if self._by_name is None or self._indexed != len(self.headers):
            index: dict[str, list[str]] = {}
            for k, v in self.headers:
                index.setdefault(k.lower(), []).append(v)
            self._by_name, self._indexed = index, len(self.headers)
        return self._by_name

    @property
    def body(self) -> str:
        """Plain text when the message has it, else the text of its HTML."""
        return self.text if self.text.strip() else self.html_text

    @property
    def month(self) -> str | None:
        return None if self.date is None else f"{self.date:%Y-%m}"


@dataclass
class MailSet:
    """Messages read from the user's paths, with everything skipped or repaired on the way."""

    mails: list[Mail] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    files: int = 0
    ignored_files: list[str] = field(default_factory=list)

    @property
    def unreadable(self) -> list[Skipped]:
        return [s for s in self.skipped if not s.kept]

    @property
    def repaired(self) -> list[Skipped]:
        return [s for s in self.skipped if s.kept]


# ---------------------------------------------------------------------------------------------
# Files and messages


def looks_like_mail(head: bytes) -> str | None:
    """'mbox', 'eml' or None, from the first bytes of a file."""
    stripped = head.lstrip(b"\r\n")
    if stripped.startswith(b"From ") and b"\n" in stripped[:4096]:
        return "mbox"
    if _HEADER_LINE.match(stripped):
        return "eml"
    return None


def discover_mail(paths: list[str], ignored: list[str] | None = None) -> Iterator[tuple[Path, str]]:
    """(path on disk, name shown) for every file named or found under a named folder.

    Under a folder, documentation and data files (README, LICENSE, *.csv, *.md, ...) are
    passed over and listed in ``ignored``; a file named by the user is always read.
    """
    for given in paths:
        p = Path(given)
        if p.is_dir():
            for f in sorted(p.rglob("*"), key=lambda f: f.parts):  # Path order, compared once
                if not f.is_file() or any(part.startswith(".") for part in f.relative_to(p).parts):
                    continue
                display = given.rstrip("/") + "/" + f.relative_to(p).as_posix()
                name = f.name.upper()
                if f.suffix.lower() in _FOLDER_SKIP_SUFFIXES or name.startswith(("README", "LICENSE")):
                    if ignored is not None:
                        ignored.append(display)
                    continue
                yield f, display
        else:
            yield p, given


def split_mbox(data: bytes) -> list[tuple[bytes, str]]:
    """Cut an mbox into (message bytes, From_ line); '>From ' quoting is undone."""
    starts = [m.start() for m in _FROM_LINE.finditer(data)]
    if not starts:
        return [(data, "")]
    out: list[tuple[bytes, str]] = []
    for i, s in enumerate(starts):
        e = starts[i + 1] if i + 1 < len(starts) else len(data)
        chunk = data[s:e]
        nl = chunk.find(b"\n")
        from_line = chunk[:nl].decode("latin-1", "replace").strip()
        body = chunk[nl + 1 :]
        if b"\n>From " in body:
            body = re.sub(rb"\n>(>*From )", rb"\n\1", body)
        out.append((body, from_line))
    return out


def read_mail(paths: list[str]) -> MailSet:
    """Read every message under ``paths``; nothing raises for bad input, all is reported."""
    result = MailSet()
    files = list(discover_mail(paths, result.ignored_files))
    read_files(files, result)
    return result


def read_files(files: list[tuple[Path, str]], result: MailSet, resolve: bool = True) -> MailSet:
    """Read (path, name shown) pairs into ``result``: messages, and what was skipped and why.

    ``resolve=False`` leaves ``Mail.path`` empty: only labels need the resolved path, and
    resolving it costs scoring as much as extracting some features.
    """
    for path, display in files:
        result.files += 1
        try:
            data = path.read_bytes()
        except OSError as exc:
            result.skipped.append(Skipped(display, None, f"cannot read file: {exc.strerror or exc}"))
            continue
        if not data.strip():
            result.skipped.append(Skipped(display, None, "empty file"))
            continue
        kind = looks_like_mail(data[:65536])
        if kind is None:
            result.skipped.append(
                Skipped(display, None, "not a mail file: no header lines and no mbox 'From ' line")
            )
            continue
        chunks = split_mbox(data) if kind == "mbox" else [(data, "")]
        resolved = str(path.resolve()) if resolve else ""
        for index, (raw, from_line) in enumerate(chunks, 1):
            mail = parse_message(raw, display, index, result.skipped, from_line, resolved)
            if mail is not None:
                result.mails.append(mail)
    return result


def parse_message(
    raw: bytes,
    file: str,
    index: int,
    skipped: list[Skipped] | None = None,
    from_line: str = "",
    path: str = "",
) -> Mail | None:
    """Parse one message as far as it can be read; None (and a Skipped entry) if not at all."""
    skipped = skipped if skipped is not None else []
    problems: list[str] = []
    size = len(raw)
    if not raw.strip():
        skipped.append(Skipped(file, index, "empty message"))
        return None
    if size > MAX_MESSAGE_BYTES:
        raw = raw[:MAX_MESSAGE_BYTES]
        problems.append(f"message of {size:,} bytes read up to {MAX_MESSAGE_BYTES:,} bytes")
    if not _HEADER_LINE.match(raw.lstrip(b"\r\n")):
        skipped.append(Skipped(file, index, "no header lines: not a message (truncated mbox entry?)"))
        return None
    try:
        msg = email.message_from_bytes(raw)
    except Exception as exc:  # the stdlib parser rarely raises; when it does, report and go on
        skipped.append(Skipped(file, index, f"unparseable message: {type(exc).__name__}: {exc}"))
        return None
    mail = Mail(file=file, index=index, headers=[], size=size, path=path)
    mail.digest = hashlib.sha1(raw).hexdigest()
    mail.problems = problems
    try:
        _fill(mail, msg, from_line)
    except Exception as exc:  # a part we did not foresee: keep what was read, report the rest
        problems.append(f"reading stopped early: {type(exc).__name__}: {exc}")
    for p in mail.problems:
        skipped.append(Skipped(file, index, p, kept=True))
    return mail


def _fill(mail: Mail, msg: Message, from_line: str) -> None:
    problems = mail.problems
    for k, v in msg.raw_items():  # raw: 8-bit bytes stay surrogate escapes, decoded below
        if isinstance(v, str) and "=?" in v:
            mail.encoded_headers.append(str(k))
        mail.headers.append((str(k), decode_header(v, problems, str(k))))
    if msg.defects and not msg.is_multipart():  # a multipart's own defects are reported by walk()
        problems.append("header defects: " + ", ".join(sorted({type(d).__name__ for d in msg.defects})))
    mail.subject = mail.header("Subject")
    mail.date = _message_date(mail, from_line)
    texts: list[str] = []
    htmls: list[str] = []
    for part in msg.walk():
        if part.is_multipart():
            if part.defects:
                problems.append(
                    "MIME defects: " + ", ".join(sorted({type(d).__name__ for d in part.defects}))
                )
            continue
        ctype = part.get_content_type()
        if ctype.startswith("multipart/"):
            # declared multipart, but its boundary never appears: the body is still text
            ctype = "text/plain"
        disposition = (part.get("Content-Disposition") or "").lower()
        is_text = ctype.startswith("text/")
        # a text part's name matters only when it is an attachment; reading it is not free
        name = _part_name(part, problems) if not is_text or "attachment" in disposition else ""
        is_attachment = "attachment" in disposition or (bool(name) and not is_text)
        if ctype in ("text/plain", "text/html") and not is_attachment:
            text = _decode_text(part, problems)
            if ctype == "text/plain":
                mail.has_text_part = True
                texts.append(text)
            else:
                mail.has_html_part = True
                htmls.append(text)
        elif ctype == "message/rfc822":
            continue
        else:
            mail.attachments.append(_attachment(part, name, ctype))
    mail.text = "\n".join(texts)[:MAX_TEXT_CHARS]
    mail.html = "\n".join(htmls)[: MAX_TEXT_CHARS * 2]
    if mail.html:
        _read_html(mail)
    body_for_urls = mail.text
    known = {link.href for link in mail.links}
    for m in _URL.finditer(body_for_urls):
        url = m.group(0).rstrip(".,;:!?)]}'\"")
        if url not in known:
            known.add(url)
            mail.links.append(Link(url, "", False))


def decode_header(value: object, problems: list[str], name: str = "") -> str:
    """RFC 2047 encoded words decoded; unknown charsets and raw 8-bit bytes fall back, reported."""
    if isinstance(value, email.header.Header):
        # compat32 hands back a Header for raw 8-bit header bytes
        try:
            return str(email.header.make_header(email.header.decode_header(value)))
        except Exception:
            problems.append(f"header {name}: undecodable bytes, shown with replacement characters")
            return value.encode() if hasattr(value, "encode") else str(value)
    text = _unescape_8bit(str(value), problems, f"header {name}")
    if "=?" not in text:
        return _unfold(text)
    try:
        parts = email.header.decode_header(text)
    except Exception:
        problems.append(f"header {name}: malformed encoded word kept as written")
        return _unfold(text)
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        out.append(_decode_bytes(chunk, charset, problems, f"header {name}"))
    joined = "".join(out) if all(isinstance(c, bytes) for c, _ in parts) else " ".join(out)
    return _unfold(joined)


_FOLD = re.compile(r"\r?\n[ \t]+")


_RAW_NAME = re.compile(r"""\b(?:file)?name\s*=\s*"?([^";\r\n]+)""", re.IGNORECASE)
_SURROGATE = re.compile("[\udc80-\udcff]")


def _unescape_8bit(text: str, problems: list[str], where: str) -> str:
    """Raw 8-bit bytes in a header arrive as surrogate escapes: decode them (UTF-8, else cp1252)."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return _decode_bytes(text.encode("utf-8", "surrogateescape"), None, problems, where)


def _unfold(text: str) -> str:
    return _FOLD.sub(" ", text).strip() if "\n" in text else text.strip()


def _decode_bytes(data: bytes, charset: str | None, problems: list[str], where: str) -> str:
    """Decode with the declared charset; unknown or wrong ones fall back to UTF-8 then cp1252."""
    cs = (charset or "").strip().strip('"').lower() or None
    if cs in ("unknown-8bit", "x-unknown", "us-ascii", "ascii"):
        cs = None if cs.startswith(("unknown", "x-")) else "ascii"
    if cs:
        try:
            return data.decode(cs)
        except LookupError:
            problems.append(f"{where}: unknown charset {cs!r}, decoded as UTF-8/cp1252")
        except UnicodeDecodeError:
            problems.append(f"{where}: bytes are not {cs}, decoded as UTF-8/cp1252")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if cs is None:
            problems.append(f"{where}: no charset and not UTF-8, decoded as cp1252")
        return data.decode("cp1252", "replace")


def _decode_text(part: Message, problems: list[str]) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if part.defects:
        problems.append(
            f"{part.get_content_type()} part: " + ", ".join(sorted({type(d).__name__ for d in part.defects}))
        )
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    return _decode_bytes(payload, part.get_content_charset(), problems, f"{part.get_content_type()} part")


def _part_name(part: Message, problems: list[str]) -> str:
    try:
        name = part.get_filename() or part.get_param("name") or ""
    except Exception:
        return ""
    if isinstance(name, tuple):  # RFC 2231 (charset, language, value)
        name = email.utils.collapse_rfc2231_value(name)
    name = str(name)
    if "\ufffd" in name:
        # raw 8-bit bytes in the parameter: read it again from the header as stored
        for k, v in part.raw_items():
            m = _RAW_NAME.search(str(v)) if k.lower() in ("content-type", "content-disposition") else None
            if m:
                name = _unescape_8bit(m.group(1), problems, "attachment name")
                break
    return decode_header(name, problems, "attachment name")


def _attachment(part: Message, name: str, ctype: str) -> Attachment:
    """Size and first bytes without decoding a huge attachment whole."""
    raw = part.get_payload()
    if not isinstance(raw, str):
        return Attachment(name, ctype, 0, b"")
    cte = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    if cte == "base64":
        compact = re.sub(r"\s+", "", raw[: ATTACHMENT_HEAD_BYTES * 2])
        compact = compact[: (len(compact) // 4) * 4]
        try:
            head = binascii.a2b_base64(compact)[:ATTACHMENT_HEAD_BYTES]
        except (binascii.Error, ValueError):
            head = b""
        size = len(raw) * 3 // 4
    else:
        head = raw[:ATTACHMENT_HEAD_BYTES].encode("latin-1", "replace")
        size = len(raw)
    return Attachment(name, ctype, size, head)


def _read_html(mail: Mail) -> None:
    h = mail.html
    mail.forms = len(_FORM.findall(h))
    mail.password_inputs = len(_PASSWORD_INPUT.findall(h))
    mail.scripts = len(_SCRIPT.findall(h))
    mail.images = len(_IMG.findall(h))
    lowered = h.lower()
    # _HIDDEN is slow and almost never matches: run it only where a hiding style is written
    maybe_hidden = any(w in lowered for w in _HIDING_WORDS) and _HIDING.search(lowered)
    for m in _HIDDEN.finditer(h) if maybe_hidden else ():
        text = html.unescape(m.group(2)).strip()
        if len(_WORDISH.findall(text)) >= 3 and len(mail.hidden_text) < 20:
            mail.hidden_text.append(text[:80])
            mail.hidden_at.append(m.start() / max(1, len(h)))
    for m in _A_TAG.finditer(h):
        hm = _HREF.search(m.group(1))
        if not hm:
            continue
        href = html.unescape(next(g for g in hm.groups() if g is not None)).strip()
        text = _WS.sub(" ", html.unescape(_TAG.sub(" ", m.group(2)))).strip()
        mail.links.append(Link(href, text[:300], True))
    mail.html_text = html_to_text(h)


def html_to_text(h: str) -> str:
    """Visible text of an HTML body: scripts, styles and tags removed, entities decoded."""
    t = _COMMENT.sub(" ", h)
    t = _SCRIPT_STYLE.sub(" ", t)
    t = _BREAK.sub("\n", t)
    t = _TAG.sub(" ", t)
    t = html.unescape(t)
    t = _WS.sub(" ", t)
    return _BLANKS.sub("\n\n", t).strip()[:MAX_TEXT_CHARS]


_RECEIVED_DATE = re.compile(r";\s*([^;]+)$")


def _message_date(mail: Mail, from_line: str) -> datetime | None:
    """Date header, else the newest Received stamp, else the mbox From_ line; UTC, naive."""
    candidates = [mail.header("Date")]
    received = mail.header_all("Received")
    if received:
        m = _RECEIVED_DATE.search(received[0])
        if m:
            candidates.append(m.group(1))
    if from_line:
        candidates.append(" ".join(from_line.split()[2:]))
    for c in candidates:
        d = parse_date(c)
        if d is not None:
            return d
    if candidates[0]:
        mail.problems.append(f"unreadable Date header: {candidates[0][:60]!r}")
    return None


def parse_date(text: str) -> datetime | None:
    """An RFC 2822 date (or asctime From_ date) as naive UTC; None when unreadable or absurd."""
    if not text:
        return None
    try:
        d = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            d = datetime.strptime(" ".join(text.split()[:5]), "%a %b %d %H:%M:%S %Y")
        except ValueError:
            return None
    if d.tzinfo is not None:
        d = d.astimezone(UTC).replace(tzinfo=None)
    if not 1990 <= d.year <= 2100:
        return None
    return d
