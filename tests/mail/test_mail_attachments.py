"""Attachments: report data is told from archives by its standard name, without opening it."""

from __future__ import annotations

import pytest

from bluebench.mail.attachments import is_report_archive
from bluebench.mail.features import FEATURE_INDEX, extract
from bluebench.sources.mailparse import parse_message


def _zip_mail(name: str, ctype: str = "application/zip") -> bytes:
    return (
        b"From: noreply-dmarc-support@google.com\nTo: dmarc@example.org\nSubject: Report domain: example.org\n"
        b'Content-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: text/plain\n\nreport\n--B\n'
        b"Content-Type: " + ctype.encode() + b'; name="' + name.encode() + b'"\n'
        b"Content-Transfer-Encoding: base64\n\nUEsDBAoAAAAAAA==\n--B--\n"
    )


@pytest.mark.parametrize(
    ("name", "ctype"),
    [
        ("google.com!example.org!1549756800!1549843199.zip", "application/zip"),
        ("mimecast.org!ab.id.au!1693353600!1693439999!157a5fe30ec7.xml.gz", "application/gzip"),
        ("report.json.gz", "application/tlsrpt+gzip"),
    ],
)
def test_a_dmarc_or_tls_report_archive_is_report_data_not_an_archive(name: str, ctype: str) -> None:
    m = parse_message(_zip_mail(name, ctype), "r.eml", 1)
    assert m is not None
    e = extract(m)
    assert e.values[FEATURE_INDEX["attach_report_data"]] == 1
    assert e.values[FEATURE_INDEX["attach_archive"]] == 0


@pytest.mark.parametrize(
    "name",
    ["invoice.zip", "google.com!example.org!report.zip", "google.com!example.org!1549756800!1549843199.exe"],
)
def test_other_archives_stay_archives(name: str) -> None:
    assert not is_report_archive(name, "application/zip")
    m = parse_message(_zip_mail(name), "r.eml", 1)
    assert m is not None
    e = extract(m)
    assert e.values[FEATURE_INDEX["attach_report_data"]] == 0
    if name.endswith(".zip"):
        assert e.values[FEATURE_INDEX["attach_archive"]] == 1
