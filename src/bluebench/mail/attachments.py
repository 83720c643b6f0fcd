"""Attachment features: risky types by name, content type and magic number; disguised names.

``attachment_hits`` yields ``(feature, value, evidence)``; ``features.extract`` records them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bluebench.sources.mailparse import Mail

Hits = Iterator[tuple[str, float, str]]

_EXT_HTML = frozenset(["htm", "html", "shtml", "xhtml", "svg", "mht", "mhtml"])
_EXT_ARCHIVE = frozenset(
    ["zip", "rar", "7z", "tar", "gz", "tgz", "bz2", "xz", "cab", "ace", "arj", "lzh", "z", "r00", "gzip"]
)
_EXT_DISK = frozenset(["iso", "img", "vhd", "vhdx", "dmg", "udf"])
_EXT_OFFICE_MACRO = frozenset(
    [
        "docm",
        "xlsm",
        "pptm",
        "dotm",
        "xltm",
        "xlam",
        "ppam",
        "potm",
        "doc",
        "xls",
        "ppt",
        "xlsb",
        "rtf",
        "one",
    ]
)
_EXT_EXEC = frozenset(
    [
        "exe",
        "scr",
        "com",
        "pif",
        "bat",
        "cmd",
        "js",
        "jse",
        "vbs",
        "vbe",
        "wsf",
        "wsh",
        "hta",
        "msi",
        "lnk",
        "jar",
        "ps1",
        "dll",
        "cpl",
        "apk",
        "reg",
        "msc",
        "appx",
    ]
)
_EXT_DOCLIKE = frozenset(
    [
        "pdf",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "txt",
        "jpg",
        "jpeg",
        "png",
        "gif",
        "rtf",
        "csv",
        "odt",
        "ppt",
        "pptx",
    ]
)


def attachment_hits(mail: Mail) -> Hits:
    """Risky attachment types, report data told apart from payloads, and disguised names."""
    for a in mail.attachments:
        name = a.name.strip().lower()
        exts = [e for e in re.split(r"\.", name)[1:] if e]
        ext = exts[-1].strip() if exts else ""
        label = a.name or a.content_type
        ctype = a.content_type
        if ext in _EXT_HTML or ctype in ("text/html", "image/svg+xml"):
            yield ("attach_html", 1, label)
        if is_report_archive(a.name, ctype):
            yield ("attach_report_data", 1, label)
        elif ext in _EXT_ARCHIVE or ctype in (
            "application/zip",
            "application/x-rar-compressed",
            "application/x-7z-compressed",
        ):
            yield ("attach_archive", 1, label)
        if ext in _EXT_DISK or ctype in ("application/x-iso9660-image",):
            yield ("attach_disk_image", 1, label)
        if ext in _EXT_OFFICE_MACRO or "macroenabled" in ctype:
            yield ("attach_office_macro", 1, label)
        if (
            ext in _EXT_EXEC
            or ctype in ("application/x-msdownload", "application/x-msdos-program")
            or a.head[:2] == b"MZ"
        ):
            yield ("attach_executable", 1, label)
        if ext == "pdf" or ctype == "application/pdf":
            yield ("attach_pdf", 1, label)
        disguise = _disguise(a.name, exts, a.head)
        if disguise:
            yield ("attach_disguised", 1, f"{a.name!r}: {disguise}")


# RFC 7489 section 7.2.1.1: receiver "!" policy-domain "!" begin "!" end ["!" unique-id]
# "." extension; RFC 8460 TLS reports travel as application/tlsrpt+gzip or +json.
_REPORT_NAME = re.compile(
    r"^[\w.-]+![\w.-]+!\d{9,11}!\d{9,11}(?:![\w.-]+)?\.(?:zip|xml|xml\.gz|gz|json|json\.gz)$"
)


def is_report_archive(name: str, content_type: str) -> bool:
    """True for a DMARC aggregate or TLS-RPT report: machine-made XML/JSON data, not a payload.

    Such archives are named by the standard (``google.com!example.com!1549756800!1549843199.zip``),
    so a zip of report data is told from a zip an attacker sends without opening it.
    """
    return bool(_REPORT_NAME.match(name.strip().lower())) or content_type.startswith("application/tlsrpt")


def _disguise(name: str, exts: list[str], head: bytes) -> str | None:
    """How an attachment's name hides what it is (None when it does not): the evidence a reader is shown."""
    if "\u202e" in name:
        return "right-to-left override character in the name"
    if (
        len(exts) >= 2
        and exts[-2] in _EXT_DOCLIKE
        and exts[-1] in (_EXT_EXEC | _EXT_HTML | _EXT_ARCHIVE | _EXT_DISK)
    ):
        return f"double extension .{exts[-2]}.{exts[-1]}"
    if re.search(r"\s{5,}\.\w+$", name):
        return "long run of spaces before the extension"
    ext = exts[-1] if exts else ""
    if head[:2] == b"MZ" and ext not in ("exe", "dll", "scr", "com", "cpl", "sys", "msi"):
        return f"a Windows executable named .{ext or '(none)'}"
    if ext in ("pdf", "jpg", "jpeg", "png", "txt") and head[:5].lower() in (b"<html", b"<!doc", b"<svg "):
        return f"HTML content named .{ext}"
    return None
