"""Messy mail is read as far as it can be; what cannot be read is named by file and message."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from bluebench.sources import mailparse
from bluebench.sources.mailparse import parse_message, read_mail

GOOD = b"""From: Alice <alice@example.org>
To: bob@example.org
Subject: hello
Date: Tue, 03 Sep 2024 10:00:00 +0000
Message-ID: <1@example.org>

Hi Bob, lunch at noon?
"""


def _mbox(*messages: bytes) -> bytes:
    return b"".join(b"From sender@example.org Tue Sep  3 10:00:00 2024\n" + m + b"\n" for m in messages)


def test_mbox_messages_keep_file_and_index(tmp_path: Path) -> None:
    p = tmp_path / "box.mbox"
    p.write_bytes(_mbox(GOOD, GOOD.replace(b"hello", b"second"), GOOD.replace(b"hello", b"third")))
    ms = read_mail([str(p)])
    assert [(m.file, m.index, m.subject) for m in ms.mails] == [
        (str(p), 1, "hello"),
        (str(p), 2, "second"),
        (str(p), 3, "third"),
    ]
    assert ms.skipped == []


def test_truncated_mbox_entry_is_reported_and_the_rest_read(tmp_path: Path) -> None:
    multipart = b"""From: a@example.org
Subject: cut short
Content-Type: multipart/mixed; boundary="XX"

--XX
Content-Type: text/plain

the first part arrived
--XX
Content-Type: application/pdf; name="a.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK"""  # no closing boundary: the mbox ends mid-attachment
    garbage = b"\x00\x01\x02 not a message at all\n"
    p = tmp_path / "cut.mbox"
    p.write_bytes(_mbox(GOOD, garbage, multipart))
    ms = read_mail([str(p)])
    assert [m.index for m in ms.mails] == [1, 3]
    cut = ms.mails[1]
    assert "the first part arrived" in cut.text
    assert [a.name for a in cut.attachments] == ["a.pdf"]
    assert cut.attachments[0].head.startswith(b"%PDF")
    [lost] = ms.unreadable
    assert (lost.file, lost.record) == (str(p), 2)
    assert "no header lines" in lost.reason
    assert any(s.record == 3 and "CloseBoundaryNotFound" in s.reason for s in ms.repaired)


def test_broken_mime_boundary_missing_keeps_the_text() -> None:
    raw = b"""From: a@example.org
Subject: broken
Content-Type: multipart/alternative; boundary="never-used"

This body never uses its boundary, but a reader still wants it.
"""
    skipped: list = []
    m = parse_message(raw, "x.eml", 1, skipped)
    assert m is not None
    assert "a reader still wants it" in m.text
    assert any("StartBoundaryNotFoundDefect" in s.reason for s in skipped), "the defect is reported"
    assert all(s.kept for s in skipped)


def test_wrong_unknown_and_missing_charsets_are_decoded_and_reported() -> None:
    latin = "Grüße aus Köln".encode("latin-1")
    cases = {
        b'text/plain; charset="utf-8"': "bytes are not utf-8",
        b'text/plain; charset="x-fake-42"': "unknown charset",
        b"text/plain": "no charset and not UTF-8",
    }
    for ctype, problem in cases.items():
        raw = b"From: a@example.org\nSubject: s\nContent-Type: " + ctype + b"\n\n" + latin + b"\n"
        skipped: list = []
        m = parse_message(raw, "c.eml", 1, skipped)
        assert m is not None
        assert "Köln" in m.text, ctype
        assert any(problem in s.reason for s in skipped), (ctype, skipped)


def test_html_only_body_gives_text_links_forms_and_hidden_text() -> None:
    raw = b"""From: a@example.org
Subject: html
Content-Type: text/html; charset=utf-8

<html><head><style>p {color: red}</style><script>var x = 1;</script></head><body>
<p>Please <a href="http://192.0.2.1/login">www.example-bank.com</a> today &amp; now.</p>
<form action="http://evil.example/"><input type="password" name="p"></form>
<div style="display:none">invisible filler words</div>
</body></html>
"""
    m = parse_message(raw, "h.eml", 1)
    assert m is not None
    assert m.has_html_part and not m.has_text_part
    assert "today & now" in m.body
    assert "var x" not in m.body and "color: red" not in m.body
    assert m.links[0].href == "http://192.0.2.1/login"
    assert m.links[0].text == "www.example-bank.com"
    assert (m.forms, m.password_inputs) == (1, 1)
    assert m.hidden_text == ["invisible filler words"]


def test_huge_attachment_is_not_decoded_whole() -> None:
    blob = b"MZ" + b"\x00" * (3 * 1024 * 1024)
    raw = (
        b'From: a@example.org\nSubject: big\nContent-Type: multipart/mixed; boundary="B"\n\n--B\n'
        b"Content-Type: text/plain\n\nsee attached\n--B\n"
        b'Content-Type: application/octet-stream; name="report.pdf"\nContent-Transfer-Encoding: base64\n\n'
        + base64.encodebytes(blob)
        + b"--B--\n"
    )
    m = parse_message(raw, "big.eml", 1)
    assert m is not None
    [a] = m.attachments
    assert a.name == "report.pdf"
    assert a.head[:2] == b"MZ"
    assert len(a.head) <= mailparse.ATTACHMENT_HEAD_BYTES
    assert a.size > 3_000_000


def test_oversized_message_is_cut_and_the_cut_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mailparse, "MAX_MESSAGE_BYTES", 200)
    skipped: list = []
    m = parse_message(GOOD + b"x" * 1000, "long.eml", 1, skipped)
    assert m is not None and m.subject == "hello"
    assert any("read up to 200 bytes" in s.reason and s.kept for s in skipped)


def test_encoded_headers_are_decoded_and_bad_ones_kept() -> None:
    raw = (
        b"From: =?utf-8?q?Jos=C3=A9?= <jose@example.org>\n"
        b"Subject: =?utf-8?B?" + base64.b64encode("Überweisung prüfen".encode()) + b"?=\n"
        b"X-Bad: =?no-such-charset?q?abc?=\n"
        b'Content-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: text/plain\n\nbody\n--B\n'
        b"Content-Type: application/pdf\nContent-Disposition: attachment; filename*=utf-8''Rechnung%20M%C3%A4rz.pdf\n\n"
        b"%PDF\n--B--\n"
    )
    skipped: list = []
    m = parse_message(raw, "enc.eml", 1, skipped)
    assert m is not None
    assert m.subject == "Überweisung prüfen"
    assert m.header("From").startswith("José")
    assert "Subject" in m.encoded_headers
    assert m.attachments[0].name == "Rechnung März.pdf"
    assert m.header("X-Bad")  # kept, in some form
    assert any("unknown charset" in s.reason for s in skipped)


def test_8bit_header_bytes_do_not_stop_reading() -> None:
    raw = b"From: \xff\xfe <a@example.org>\nSubject: caf\xe9\n\nbody\n"
    m = parse_message(raw, "8bit.eml", 1)
    assert m is not None
    assert "caf" in m.subject
    assert m.text.strip() == "body"


def test_a_folder_with_bad_files_is_read_to_the_end(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(GOOD)
    (tmp_path / "empty.eml").write_bytes(b"")
    (tmp_path / "binary.eml").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "README.md").write_text("not mail")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "b.mbox").write_bytes(_mbox(GOOD, GOOD))
    ms = read_mail([str(tmp_path)])
    assert len(ms.mails) == 3
    assert ms.files == 4
    assert ms.ignored_files == [f"{tmp_path}/README.md"]
    reasons = {Path(s.file).name: s.reason for s in ms.unreadable}
    assert set(reasons) == {"empty.eml", "binary.eml"}
    assert "not a mail file" in reasons["binary.eml"]


def test_missing_file_is_reported_not_raised(tmp_path: Path) -> None:
    ms = read_mail([str(tmp_path / "nope.eml")])
    assert ms.mails == []
    assert "cannot read file" in ms.unreadable[0].reason


def test_dates_fall_back_to_received_and_from_line() -> None:
    raw = b"Received: from x by y; Tue, 3 Sep 2024 10:00:00 +0200\nFrom: a@example.org\nDate: someday\n\nb\n"
    m = parse_message(raw, "d.eml", 1)
    assert m is not None and m.date is not None
    assert (m.date.year, m.date.hour) == (2024, 8)
    m2 = parse_message(b"From: a@example.org\n\nb\n", "d.mbox", 1, None, "From x Tue Sep  3 10:00:00 2024")
    assert m2 is not None and m2.date is not None and m2.date.year == 2024
