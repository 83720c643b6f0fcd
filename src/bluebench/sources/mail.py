"""Mail as a bluebench source: .eml files, mbox files (and folders of either) cut into messages.

Each message is one record: its 1-based index in the file is the record number, the
message text is the raw record (``event.original``), so a detector can read it again
exactly as it arrived. The parser (``mailparse``) also pulls out the ECS ``email.*``
fields here, once, into a JSON column the normalizer maps: RFC 2047 words, raw 8-bit
headers and MIME cannot be decoded in SQL. A message that cannot be read at all is
reported by file and index; one read with a repair is stored and reported as repaired.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from email.utils import getaddresses
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from bluebench.sources.base import RawBatch, ReadOptions, Skipped
from bluebench.sources.mailparse import MAX_MESSAGE_BYTES, Mail, parse_message, split_mbox

SHAPE = "mail"
BATCH_MESSAGES = 500
MAIL_SCHEMA = pa.schema([("record", pa.int64()), ("raw", pa.string()), ("email", pa.string())])

# A header block a mail client would recognise: these names in the first header lines.
_MAIL_HEADERS = re.compile(
    rb"^(?:from|to|cc|subject|date|received|message-id|return-path|mime-version|delivered-to|"
    rb"reply-to|x-mailer|content-type|dkim-signature|authentication-results|in-reply-to|references):",
    re.IGNORECASE | re.MULTILINE,
)
_FIRST_HEADER = re.compile(rb"^[A-Za-z][A-Za-z0-9-]{0,75}:[ \t]")


def sniff_mail(head: bytes) -> bool:
    """An mbox (``From `` line, then headers) or an RFC 822 message: 3+ known mail headers up top.

    Stricter than "starts with ``Name:``" on purpose: JSON lines and key-value logs start
    that way too, and this reader must never take their files.
    """
    text = head.lstrip(b"\r\n")
    if text.startswith(b"From "):
        nl = text.find(b"\n")
        if nl < 0:
            return False
        text = text[nl + 1 :]
    if not _FIRST_HEADER.match(text):
        return False
    block = re.split(rb"\r?\n\r?\n", text[:16384], maxsplit=1)[0]
    return len(_MAIL_HEADERS.findall(block)) >= 3


def raw_text(raw: bytes) -> tuple[str, str]:
    """The message as text and how to get its bytes back: UTF-8 when it is, else Latin-1.

    Latin-1 maps every byte to one character, so ``text.encode(encoding)`` returns the
    exact bytes the file held, whatever charsets the message mixes.
    """
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _addresses(values: list[str]) -> list[str]:
    return [a for _, a in getaddresses(values) if a]


def email_fields(mail: Mail, encoding: str, from_line: str) -> dict[str, Any]:
    """ECS ``email.*`` fields of one message, plus what bluebench needs to read it again."""
    email: dict[str, Any] = {
        "from": {"address": _addresses(mail.header_all("From"))},
        "to": {"address": _addresses(mail.header_all("To"))},
        "cc": {"address": _addresses(mail.header_all("Cc"))},
        "reply_to": {"address": _addresses(mail.header_all("Reply-To"))},
        "subject": mail.subject,
        "message_id": mail.header("Message-ID").strip() or None,
        "origination_timestamp": mail.date.isoformat() if mail.date is not None else None,
        "attachments": [
            {"file": {"name": a.name or None, "mime_type": a.content_type, "size": a.size}}
            for a in mail.attachments
        ],
        "x_mailer": mail.header("X-Mailer") or mail.header("User-Agent") or None,
    }
    return {
        "email": email,
        "bluebench": {"raw_encoding": encoding, "from_line": from_line, "size": mail.size},
    }


class MailReader:
    """RFC 822 messages: one .eml, or an mbox of many; each message one record."""

    name: ClassVar[str] = SHAPE

    def sniff(self, head: bytes, path: Path) -> bool:
        """Mail headers (after an optional mbox ``From `` line) at the top of the file."""
        return sniff_mail(head)

    def read(
        self, path: Path, display: str, skipped: list[Skipped], options: ReadOptions
    ) -> Iterator[RawBatch]:
        """Yield batches of (message index, message text, email JSON); unreadable messages are reported."""
        data = path.read_bytes()
        chunks = split_mbox(data) if data.lstrip(b"\r\n").startswith(b"From ") else [(data, "")]
        records: list[int] = []
        raws: list[str] = []
        fields: list[str] = []
        for index, (raw, from_line) in enumerate(chunks, 1):
            mail = parse_message(raw, display, index, skipped, from_line)
            if mail is None:
                continue
            # parse_message read at most MAX_MESSAGE_BYTES and said so; store what it read
            text, encoding = raw_text(raw[:MAX_MESSAGE_BYTES])
            records.append(index)
            raws.append(text)
            fields.append(json.dumps(email_fields(mail, encoding, from_line), ensure_ascii=False))
            if len(records) >= BATCH_MESSAGES:
                yield RawBatch(SHAPE, pa.table([records, raws, fields], schema=MAIL_SCHEMA), display)
                records, raws, fields = [], [], []
        if records:
            yield RawBatch(SHAPE, pa.table([records, raws, fields], schema=MAIL_SCHEMA), display)
