"""The mail parser, which lives in the sources stage (``bluebench.sources.mailparse``).

Kept under this name so ``bluebench.mail`` reads as one small pipeline and older imports
keep working; the parser itself is stage 1, shared with the ``mail`` source reader.
"""

from bluebench.sources.mailparse import (
    ATTACHMENT_HEAD_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_TEXT_CHARS,
    Attachment,
    Link,
    Mail,
    MailSet,
    decode_header,
    discover_mail,
    html_to_text,
    looks_like_mail,
    parse_date,
    parse_message,
    read_files,
    read_mail,
    split_mbox,
)

__all__ = [
    "ATTACHMENT_HEAD_BYTES",
    "MAX_MESSAGE_BYTES",
    "MAX_TEXT_CHARS",
    "Attachment",
    "Link",
    "Mail",
    "MailSet",
    "decode_header",
    "discover_mail",
    "html_to_text",
    "looks_like_mail",
    "parse_date",
    "parse_message",
    "read_files",
    "read_mail",
    "split_mbox",
]
