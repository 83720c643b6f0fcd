"""Named features fire on the messages that show them, stay 0 otherwise, and never use the network."""

from __future__ import annotations

from pathlib import Path

from bluebench.mail.features import FEATURE_INDEX, FEATURES, extract
from bluebench.sources.mailparse import parse_message, read_mail

DATA = Path(__file__).resolve().parents[1] / "data" / "mail"


def _features(raw: bytes) -> dict[str, float]:
    m = parse_message(raw, "t.eml", 1)
    assert m is not None
    e = extract(m)
    return {f.name: float(e.values[i]) for i, f in enumerate(FEATURES) if e.values[i]}


def test_synthetic_phishing_shows_its_signs() -> None:
    ms = read_mail([str(DATA / "synthetic-phishing")])
    by_name = {Path(m.file).name: m for m in ms.mails}
    expect = {
        "phish-01.eml": ["link_ip_host", "link_anchor_mismatch", "from_replyto_mismatch", "urgency_terms"],
        "phish-02.eml": [
            "html_form",
            "password_field",
            "hidden_text",
            "auth_spf_fail",
            "auth_dmarc_fail",
            "display_name_brand_spoof",
        ],
        "phish-03.eml": ["link_shortener", "display_name_brand_spoof"],
        "phish-04.eml": ["link_anchor_mismatch", "from_returnpath_mismatch", "credential_terms"],
        "phish-05.eml": ["attach_html"],
        "phish-06.eml": ["attach_executable", "attach_disguised"],
        "phish-07.eml": ["link_punycode"],
        "phish-08.eml": ["link_ip_host", "link_port", "to_missing"],
        "phish-09.eml": ["link_lookalike"],
        "phish-11.eml": ["attach_archive", "link_lookalike"],
    }
    for name, features in expect.items():
        e = extract(by_name[name])
        for f in features:
            assert e.values[FEATURE_INDEX[f]] > 0, (name, f)
            assert e.evidence.get(f), (name, f, "evidence")


def test_plain_ham_has_no_phishing_signs() -> None:
    raw = (
        b"""From: Alice <alice@example.org>
To: bob@example.org
Reply-To: alice@example.org
Message-ID: <1@example.org>
Subject: notes from Tuesday
Authentication-Results: mx.example.org; spf=pass; dkim=pass; dmarc=pass

Hi Bob, the notes are at https://wiki.example.org/notes and the slides follow. Cheers.
"""
        + b"More text so that the body is not short. " * 10
    )
    f = _features(raw)
    for name in (
        "link_ip_host",
        "link_anchor_mismatch",
        "from_replyto_mismatch",
        "urgency_terms",
        "html_form",
        "auth_none",
    ):
        assert name not in f
    assert f["auth_spf_pass"] == 1


def test_disguised_attachment_names() -> None:
    rtlo = "invoice\u202efdp.exe".encode()
    raw = (
        b'From: a@example.org\nSubject: s\nContent-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: text/plain\n\nsee\n--B\n'
        b'Content-Type: application/octet-stream; name="' + rtlo + b'"\n\nMZ\n--B\n'
        b'Content-Type: application/octet-stream; name="scan.jpg"\nContent-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA\n--B--\n'
    )
    m = parse_message(raw, "t.eml", 1)
    assert m is not None
    e = extract(m)
    assert e.values[FEATURE_INDEX["attach_disguised"]] == 1
    assert "right-to-left" in e.evidence["attach_disguised"]
    assert e.values[FEATURE_INDEX["attach_executable"]] == 1


def test_received_chain_oddities() -> None:
    raw = (
        b"Received: from [203.0.113.9] by mx.example.org; Tue, 3 Sep 2024 09:00:00 +0000\n"
        b"Received: from relay.example.net by out.example.net; Tue, 3 Sep 2024 11:00:00 +0000\n"
        b"From: a@example.org\nSubject: s\n\nbody\n"
    )
    f = _features(raw)
    assert f["received_time_backwards"] == 1
    assert f["received_helo_ip_literal"] == 1
    assert f["auth_none"] == 1
