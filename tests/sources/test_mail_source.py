"""Mail through the sources stage: found by content, one event per message, email.* fields, losses counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bluebench.events.workspace import Workspace
from bluebench.sources import ReadOptions, detect_reader, discover
from bluebench.sources.mail import sniff_mail

GOOD = b"""From: Alice <alice@example.org>
To: Bob <bob@example.org>
Reply-To: help@other.example
Subject: =?utf-8?q?Caf=C3=A9?= invoice
Date: Tue, 03 Sep 2024 10:00:00 +0000
Message-ID: <1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain; charset=iso-8859-1

Gr\xfc\xdfe, see the attachment.
--b
Content-Type: application/zip; name="invoice.zip"
Content-Disposition: attachment; filename="invoice.zip"
Content-Transfer-Encoding: base64

UEsDBAo=
--b--
"""
PLAIN = b"""From: carol@example.org
To: dave@example.org
Subject: second
Date: Wed, 04 Sep 2024 11:00:00 +0000

hello
"""


def _mbox(*messages: bytes) -> bytes:
    return b"".join(b"From sender@example.org Tue Sep  3 10:00:00 2024\n" + m + b"\n" for m in messages)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (GOOD, True),
        (_mbox(PLAIN), True),
        (b'{"From": "a", "To": "b", "Subject": "c"}\n', False),
        (b"Nov 26 10:00:00 host sshd[1]: Failed password for root from 10.0.0.1 port 22 ssh2\n", False),
        (b"path,label\nx.eml,ham\n", False),
        (b"Key: value\nOther: value\n\nbody\n", False),  # a header-like file that is not mail
    ],
)
def test_mail_is_recognised_by_content_and_nothing_else_is(head: bytes, expected: bool) -> None:
    assert sniff_mail(head) is expected


def test_mail_folder_ingests_one_event_per_message_with_email_fields(
    tmp_path: Path, workspace: Workspace
) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "one.eml").write_bytes(GOOD)
    # an mbox whose second entry was cut to a line that is no message at all
    (folder / "box.mbox").write_bytes(_mbox(PLAIN, b"\x00\x01 truncated", PLAIN.replace(b"second", b"third")))
    assert detect_reader(folder / "one.eml", ReadOptions()) is not None
    summary = workspace.ingest(discover([str(folder)]))
    assert summary.events == 3
    # the unreadable message is named by file and index, and counted
    lost = [s for f in summary.files for s in f.skipped if not s.kept]
    assert [(Path(s.file).name, s.record) for s in lost] == [("box.mbox", 2)]
    assert summary.skipped_records == 1 and summary.had_problems
    rows = workspace.con.execute(
        """SELECT "log.file.path", "log.record", "event.category", "event.dataset", "user.name",
                  "source.address", "@timestamp", "winlog.event_data", "event.original"
           FROM events ORDER BY "log.file.path", "log.record" """
    ).fetchall()
    assert [(Path(r[0]).name, r[1]) for r in rows] == [("box.mbox", 1), ("box.mbox", 3), ("one.eml", 1)]
    assert {r[2] for r in rows} == {"email"} and {r[3] for r in rows} == {"mail"}
    one = rows[2]
    assert one[4] == "bob@example.org" and one[5] == "alice@example.org"
    assert str(one[6]) == "2024-09-03 10:00:00"
    email = json.loads(one[7])["email"]
    assert email["subject"] == "Café invoice"
    assert email["reply_to"]["address"] == ["help@other.example"]
    assert email["message_id"] == "<1@example.org>"
    assert email["origination_timestamp"] == "2024-09-03T10:00:00"
    assert [a["file"]["name"] for a in email["attachments"]] == ["invoice.zip"]
    # the raw record gives back the exact bytes, 8-bit body included
    extra = json.loads(one[7])["bluebench"]
    assert one[8].encode(extra["raw_encoding"]) == GOOD


def test_the_same_mail_twice_is_stored_once(tmp_path: Path, workspace: Workspace) -> None:
    p = tmp_path / "a.eml"
    p.write_bytes(PLAIN)
    workspace.ingest(discover([str(p)]))
    again = workspace.ingest(discover([str(p)]))
    assert again.events == 0
    assert workspace.con.execute("SELECT count(*) FROM events").fetchall() == [(1,)]
