"""The mail commands' terminal output: the score table fits 80 columns and cuts no name."""

from __future__ import annotations

import io

from rich.console import Console

from bluebench.cli.mail import verdicts_table
from bluebench.mail.model import Reason, Verdict


def test_score_table_fits_80_columns_and_folds_a_long_path_whole() -> None:
    path = "/archive/mail/" + "q" * 70 + ".eml"
    verdicts = [
        Verdict("short.eml", 1, 0.1, "not phishing", 0.5, [Reason("text_score", "text", -2.0, -1.0)]),
        Verdict(
            path,
            3,
            0.97,
            "phishing",
            0.5,
            [
                Reason("display_name_brand_spoof", "headers", 1.2, 1.0),
                Reason("word:verification", "text", 0.4, 0.1),
            ],
        ),
    ]
    buf = io.StringIO()
    Console(file=buf, width=80, color_system=None).print(verdicts_table(verdicts, 0.5))
    text = buf.getvalue()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    assert "2 messages, threshold 0.5000" in text
    for name in ("display_name_brand_spoof", "+1.20", "word:verification", "short.eml", "legitimate"):
        assert name in text
    assert text.count("q") == 70  # folded over lines, every character kept
    assert text.index("phishing") < text.index("short.eml")  # most suspicious first
