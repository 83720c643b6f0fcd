"""The command line: exit codes 0/1/2 and the documented ``scan --json`` shape."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import bluebench.cli  # noqa: F401  (registers the commands)
from bluebench.cli.app import app
from logtext import EVTX_RECORDS, evtx_copy, otrf_line, sshd_lines, write_lines

ALERT_KEYS = {
    "id",
    "detector",
    "title",
    "severity",
    "score",
    "confidence",
    "tactics",
    "techniques",
    "entities",
    "first_seen",
    "last_seen",
    "event_count",
    "reasons",
    "evidence",
}


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from a temporary folder, so relative paths are as a user types them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BLUEBENCH_WORKSPACE", raising=False)
    (tmp_path / "logs").mkdir()
    write_lines(tmp_path / "logs" / "auth.log", sshd_lines())
    return tmp_path


def invoke(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def test_clean_input_exits_0(cwd: Path) -> None:
    result = CliRunner().invoke(app, ["scan", "logs/auth.log", "-w", "ws", "--year", "2024"])
    assert result.exit_code == 0, result.output
    assert "alerts" in result.stdout


def test_skipped_records_exit_1(cwd: Path) -> None:
    lines = [otrf_line(i) for i in range(1, 5)]
    lines[1] = lines[1][:30]
    write_lines(cwd / "logs" / "sec.json", lines)
    result = CliRunner().invoke(app, ["ingest", "logs", "-w", "ws", "--year", "2024"])
    assert result.exit_code == 1
    assert "logs/sec.json, record 2: not valid JSON (truncated?)" in " ".join(result.stderr.split())
    assert "1 records skipped" in " ".join(result.stderr.split())


def test_unknown_option_exits_2(cwd: Path) -> None:
    result = CliRunner().invoke(app, ["scan", "logs/auth.log", "--no-such-option"])
    assert result.exit_code == 2


def test_bad_mapping_file_exits_2(cwd: Path) -> None:
    (cwd / "map.toml").write_text('format = "xml"\n[fields]\n"@timestamp" = "t"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["ingest", "logs/auth.log", "-w", "ws", "--mapping", "map.toml"])
    assert result.exit_code == 2
    assert "map.toml" in result.stderr and "'format' must be" in result.stderr


def test_missing_mapping_file_exits_2(cwd: Path) -> None:
    result = CliRunner().invoke(app, ["scan", "logs/auth.log", "-w", "ws", "--mapping", "nope.toml"])
    assert result.exit_code == 2
    assert "nope.toml" in result.stderr


def test_scan_json_shape(cwd: Path) -> None:
    result = CliRunner().invoke(app, ["scan", "logs", "-w", "ws", "--year", "2024", "--json"])
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert alerts, "the sshd fixture holds a brute force, a spray and an enumeration"
    for a in alerts:
        assert set(a) == ALERT_KEYS
        assert a["evidence"] and len(a["evidence"]) == a["event_count"]
        for ev in a["evidence"]:
            assert set(ev) == {"file", "record"}
            assert ev["file"] == "logs/auth.log"  # the folder as the user named it, plus the file
            assert isinstance(ev["record"], int) and 1 <= ev["record"] <= len(sshd_lines())
        assert a["first_seen"].endswith("Z") and 0.0 <= a["score"] <= 1.0
    assert {"brute_force", "password_spray"} <= {a["detector"] for a in alerts}


def test_scan_json_prints_only_json_on_stdout_when_records_skipped(cwd: Path) -> None:
    (cwd / "logs" / "auth.log").write_bytes(
        b"\xff\xfe garbage line\n" + (cwd / "logs" / "auth.log").read_bytes()
    )
    write_lines(cwd / "logs" / "sec.json", [otrf_line(1), otrf_line(2)[:20]])
    result = CliRunner().invoke(app, ["scan", "logs", "-w", "ws", "--year", "2024", "--json"])
    assert result.exit_code == 1
    for line in result.stdout.splitlines():
        assert set(json.loads(line)) == ALERT_KEYS


def test_log_text_in_messages_is_not_markup(cwd: Path) -> None:
    """A skipped line quoting '[/bold]' is printed as text; it must not crash the output."""
    write_lines(cwd / "logs" / "sec.json", [otrf_line(1), '{"EventID": 4625, "Channel": "[/bold] [/]'])
    result = CliRunner().invoke(app, ["ingest", "logs/sec.json", "-w", "ws"])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "[/bold] [/]" in result.stderr


def test_every_counted_skip_is_shown(cwd: Path) -> None:
    with zipfile.ZipFile(cwd / "logs" / "mac.zip", "w") as zf:
        zf.writestr("auth.log", "\n".join(sshd_lines(host="mac1")) + "\n")
        zf.writestr("__MACOSX/._auth.log", b"\x00\x05\x16\x07")
    raw = (cwd / "logs" / "auth.log").read_bytes().replace(b"root", b"r\xe9oot", 1)
    (cwd / "logs" / "auth.log").write_bytes(raw)
    result = CliRunner().invoke(app, ["ingest", "logs", "-w", "ws", "--year", "2024"])
    err = " ".join(result.stderr.split())
    assert result.exit_code == 1
    assert "skipped record logs/mac.zip!__MACOSX/._auth.log: macOS metadata member ignored" in err
    assert "repaired record logs/auth.log, record 2: not UTF-8" in err
    assert "1 records skipped, 1 repaired" in err


def test_a_truncated_evtx_exits_1_naming_the_records_it_lost(cwd: Path) -> None:
    path = evtx_copy(cwd / "logs", "cut.evtx")
    path.write_bytes(path.read_bytes()[:100_000])
    result = CliRunner().invoke(app, ["ingest", "logs/cut.evtx", "-w", "ws"])
    assert result.exit_code == 1, "records lost: never a clean exit"
    said = " ".join(result.stderr.split())
    assert (
        f"logs/cut.evtx, records 28-{EVTX_RECORDS}: not in the file: the file ends at 100,000 bytes" in said
    )
    assert f"{EVTX_RECORDS - 27} records skipped" in said
