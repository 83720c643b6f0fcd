"""Which parser reads mail better: the standard library's ``email`` (compat32) or ``mail-parser``.

Measures, on ``../shared/data/email`` (every message; see that folder's README) and on
crafted broken messages: messages per second, messages that raise, and messages whose body
text was recovered. bluebench's reader uses the winner (see ``bluebench/sources/mailparse.py``).

    .venv/bin/python bench/mail_parsers.py [--out bench/out/mail_parsers.json]
"""

from __future__ import annotations

import argparse
import base64
import email
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import mailparser

from bluebench.sources.mailparse import discover_mail, looks_like_mail, parse_message, split_mbox

EMAIL = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "email"
NEEDLE = "needle-text-7"

BROKEN: dict[str, bytes] = {
    "boundary never used": b'From: a@x.example\nContent-Type: multipart/alternative; boundary="zz"\n\n'
    + NEEDLE.encode()
    + b"\n",
    "no closing boundary": b'From: a@x.example\nContent-Type: multipart/mixed; boundary="zz"\n\n--zz\nContent-Type: text/plain\n\n'
    + NEEDLE.encode()
    + b"\n--zz\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0x",
    "wrong charset": b'From: a@x.example\nContent-Type: text/plain; charset="utf-8"\n\n\xe9t\xe9 '
    + NEEDLE.encode()
    + b"\n",
    "unknown charset": b'From: a@x.example\nContent-Type: text/plain; charset="x-nope"\n\n'
    + NEEDLE.encode()
    + b" \xe9\n",
    "base64 without padding": b"From: a@x.example\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
    + base64.b64encode((NEEDLE + " ok").encode()).rstrip(b"=")
    + b"\n",
    "8-bit headers": b"From: \xff\xfe <a@x.example>\nSubject: caf\xe9\n\n" + NEEDLE.encode() + b"\n",
    "html only": b"From: a@x.example\nContent-Type: text/html\n\n<html><body><p>"
    + NEEDLE.encode()
    + b"</p></body></html>\n",
    "header folding junk": b"From: a@x.example\nSubject: a\n\tb\n \nX-Odd\n\n" + NEEDLE.encode() + b"\n",
}


def corpus() -> list[bytes]:
    out: list[bytes] = []
    for path, _ in discover_mail([str(EMAIL)]):
        data = path.read_bytes()
        kind = looks_like_mail(data[:65536])
        if kind == "mbox":
            out.extend(raw for raw, _ in split_mbox(data))
        elif kind == "eml":
            out.append(data)
    return out


def stdlib_text(raw: bytes) -> str:
    m = parse_message(raw, "bench", 1)
    return "" if m is None else m.subject + "\n" + m.body


def stdlib_bare(raw: bytes) -> str:
    msg = email.message_from_bytes(raw)
    parts = []
    for p in msg.walk():
        if not p.is_multipart():
            payload = p.get_payload(decode=True)
            if isinstance(payload, bytes):
                parts.append(payload.decode("utf-8", "replace"))
    return "\n".join(parts)


def mailparser_text(raw: bytes) -> str:
    m = mailparser.parse_from_bytes(raw)
    return (m.subject or "") + "\n" + "\n".join(m.text_plain + m.text_html) + str(len(m.attachments))


def measure(name: str, fn: Callable[[bytes], str], msgs: list[bytes]) -> dict[str, object]:
    errors = 0
    empty = 0
    t = time.perf_counter()
    for raw in msgs:
        try:
            if not fn(raw).strip():
                empty += 1
        except Exception:
            errors += 1
    dt = time.perf_counter() - t
    broken = {}
    for case, raw in BROKEN.items():
        try:
            broken[case] = NEEDLE in fn(raw)
        except Exception as exc:
            broken[case] = f"raised {type(exc).__name__}"
    return {
        "parser": name,
        "messages": len(msgs),
        "messages_per_second": len(msgs) / dt,
        "raised": errors,
        "no_text": empty,
        "broken_cases_text_recovered": broken,
        "broken_recovered": sum(v is True for v in broken.values()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out")
    args = ap.parse_args()
    logging.disable(logging.CRITICAL)  # mail-parser logs every defect
    msgs = corpus()
    results = [
        measure("bluebench reader (stdlib email, compat32, with its repairs)", stdlib_text, msgs),
        measure("stdlib email alone (compat32, decode=True)", stdlib_bare, msgs),
        measure("mail-parser 4.8.0", mailparser_text, msgs),
    ]
    for r in results:
        print(
            f"{r['parser']}: {r['messages_per_second']:.0f} msg/s, raised {r['raised']}, "
            f"no text {r['no_text']} of {r['messages']}; broken cases with text recovered "
            f"{r['broken_recovered']}/{len(BROKEN)} {r['broken_cases_text_recovered']}"
        )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
