"""Terminal escapes in log fields stay text: a user name cannot retitle or recolour the analyst's terminal.

The hostile name holds OSC 0 (set the window title, ended by BEL), an SGR colour, a carriage
return that would overwrite the line, a C1 CSI, a right-to-left override and Rich markup. The
terminal must see none of them raw; ``--json`` keeps the value exact, escaped as JSON does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bluebench.cli import app
from logtext import syslog_time, write_lines

HOSTILE = "ev\x1b]0;pwned\x07il\x1b[31mred\rX\x9b2J\u202e[bold]b[/bold]"
RAW = ("\x1b", "\x07", "\r", "\x9b", "\u202e")
STORED = HOSTILE.lower()  # user names are stored lowercased, as Windows compares them
# What a terminal of any width shows of it (a narrow one cuts a long name with an ellipsis):
# every control character written as an escape.
SHOWN = "ev\\x1b]0;pwned\\x07il\\x1b[31"


def hostile_log(path: Path) -> Path:
    """Twelve failed passwords for the hostile name from one address: a brute force alert."""
    from datetime import datetime, timedelta

    t = datetime(2024, 3, 3, 8, 0, 0)
    lines = [
        f"{syslog_time(t + timedelta(seconds=5 * i))} web1 sshd[{100 + i}]: Failed password for invalid user {HOSTILE} "
        f"from 203.0.113.7 port {40000 + i} ssh2"
        for i in range(12)
    ]
    return write_lines(path, lines)


@pytest.fixture
def scanned(tmp_path: Path) -> tuple[Path, str]:
    log = hostile_log(tmp_path / "auth.log")
    r = CliRunner().invoke(app, ["scan", str(log), "-w", str(tmp_path / "ws"), "--year", "2024"])
    assert r.exit_code == 0, r.output
    return tmp_path / "ws", r.output


def unwrapped(text: str) -> str:
    """The output without the line breaks and indents a narrow terminal adds (the name has no spaces)."""
    return "".join(text.split())


def assert_no_raw_controls(text: str) -> None:
    for c in RAW:
        assert c not in text, f"{c!r} reached the terminal"


def test_scan_prints_the_name_escaped(scanned: tuple[Path, str]) -> None:
    _, output = scanned
    assert_no_raw_controls(output)
    assert SHOWN in unwrapped(output), "the name is shown, every control written as an escape"


def test_incident_and_alerts_print_the_name_escaped(scanned: tuple[Path, str]) -> None:
    ws, _ = scanned
    listed = CliRunner().invoke(app, ["incidents", "-w", str(ws), "--json"])
    inc = json.loads(listed.stdout.splitlines()[0])["id"]
    for args in (["incident", inc], ["incidents"], ["alerts"]):
        r = CliRunner().invoke(app, [*args, "-w", str(ws)])
        assert r.exit_code == 0, r.output
        assert_no_raw_controls(r.output)
        if args[0] != "incidents":  # the list shows titles, not names
            assert SHOWN in unwrapped(r.output), args


def test_json_keeps_the_value_exact_and_escaped(scanned: tuple[Path, str]) -> None:
    ws, _ = scanned
    r = CliRunner().invoke(app, ["alerts", "-w", str(ws), "--json"])
    assert_no_raw_controls(r.stdout)
    users = {json.loads(line)["entities"].get("user") for line in r.stdout.splitlines()}
    assert STORED in users, "JSON carries the name exactly, as \\u001b and the like"


def test_a_file_name_with_escapes_is_shown_escaped(tmp_path: Path) -> None:
    bad = write_lines(tmp_path / "x\x1b[2Jy.log", ["not a log line at all"])
    r = CliRunner().invoke(app, ["ingest", str(bad), "-w", str(tmp_path / "ws")])
    assert r.exit_code == 1
    assert_no_raw_controls(r.output)
    assert "x\\x1b[2Jy.log" in r.output


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x206F)))
def test_a_json_line_escapes_what_the_full_translation_escapes(text: str) -> None:
    from bluebench.cli.app import _JSON_UNSAFE, json_line, json_lines

    full = json.dumps({"v": text}, default=str, ensure_ascii=False).translate(_JSON_UNSAFE) + "\n"
    assert json_line({"v": text}) == full == json_lines([{"v": text}])
    assert json.loads(full) == {"v": text}
