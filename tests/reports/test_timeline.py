"""Timelines: short sentences in time order, repeats summarised, every claim cited and verified."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pytest

from bluebench.reports.facts import open_workspace
from bluebench.reports.summarise import OpenAICompatible, SummaryRefused, summarise
from bluebench.reports.timeline import Timeline, build_timeline
from bluebench.reports.verify import Verifier
from report_runs import DemoRun

TIME = re.compile(r"^- (\d{2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})")


@pytest.fixture
def con(demo_run: DemoRun) -> Iterator[duckdb.DuckDBPyConnection]:
    c = open_workspace(demo_run.workspace, read_only=True)
    yield c
    c.close()


@pytest.fixture
def verifier(con: duckdb.DuckDBPyConnection, demo_run: DemoRun) -> Iterator[Verifier]:
    v = Verifier(con, demo_run.workspace)
    yield v
    v.resolver.close()


def biggest_incident(con: duckdb.DuckDBPyConnection) -> str:
    """The incident with the most alerts (ties: most events, then id), the richest story."""
    return str(
        con.execute(
            "SELECT id FROM incidents ORDER BY alert_count DESC, event_count DESC, id LIMIT 1"
        ).fetchall()[0][0]
    )


@pytest.fixture
def story(con: duckdb.DuckDBPyConnection) -> Timeline:
    return build_timeline(con, biggest_incident(con))


def test_sentences_read_in_time_order_and_each_cites(story: Timeline) -> None:
    md = story.to_markdown()
    bullets = [line for line in md.splitlines() if line.startswith("- ") and not line.startswith("- [")]
    assert bullets, md
    for line in bullets:
        assert TIME.match(line), line
        assert re.search(r"\[[ES]\d+\]$", line), line
    # in time order to the second; within a second what happened comes before what a detector said
    starts = [(s.at.replace(microsecond=0), s.order) for s in story.sentences]
    assert starts == sorted(starts)
    assert story.summary is not None and "alerts from" in story.summary.text


def test_repeated_events_are_summarised_not_listed(con: duckdb.DuckDBPyConnection) -> None:
    """An alert with many events of one kind gets one sentence, counting them, citing a selector."""
    aid, n = con.execute(
        """SELECT l.alert_id, count(*) FROM alert_events l JOIN alerts a ON a.id = l.alert_id
           WHERE a.detector IN ('brute_force', 'password_spray') GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"""
    ).fetchall()[0]
    tl = build_timeline(con, aid)
    assert n >= 5
    assert len(tl.sentences) < n  # not one line per event
    counted = [s for s in tl.sentences if re.search(r": \d+ failed", s.text)]
    assert counted and all(s.cites[0].startswith("S") for s in counted)


def test_every_format_verifies(story: Timeline, verifier: Verifier) -> None:
    for fmt, text in (
        ("md", story.to_markdown()),
        ("html", story.to_html()),
        ("json", json.dumps(story.to_json())),
    ):
        result = verifier.verify_text(text, fmt)
        assert result.ok, [str(f) for f in result.failures]
        assert result.citations == len(story.citations)


def test_every_incident_and_alert_timeline_verifies(
    con: duckdb.DuckDBPyConnection, verifier: Verifier
) -> None:
    ids = [r[0] for r in con.execute("SELECT id FROM incidents UNION ALL SELECT id FROM alerts").fetchall()]
    assert len(ids) > 10
    for ident in sorted(ids):
        result = verifier.verify_text(build_timeline(con, ident).to_markdown())
        assert result.ok, (ident, [str(f) for f in result.failures])


def _tamper_cases(md: str) -> dict[str, str]:
    """One change of each kind a reader must not get away with."""
    line = next(ln for ln in md.splitlines() if re.match(r"^- .*: \d+ ", ln))
    count = re.search(r": (\d+) ", line)
    assert count
    n = int(count.group(1))
    cases = {
        "count": md.replace(line, line.replace(f": {n} ", f": {n + 1} ", 1)),
        "dropped citation": md.replace(line, re.sub(r" (\[[ES]\d+\])+$", "", line)),
        "invented host": md.replace(
            line, re.sub(r"on `[^`]+`", "on `FILESRV-99.corp.example.com`", line, count=1)
        ),
        "invented plain host": md.replace(line, re.sub(r"on `[^`]+`", "on host FINANCE", line, count=1)),
        "time": md.replace(
            line, re.sub(r"^- (\d{2}):", lambda m: f"- {(int(m.group(1)) + 1) % 24:02d}:", line)
        ),
        "technique": md.replace(line, re.sub(r"T\d{4}(\.\d{3})?\)", "T1059.001)", line, count=1)),
        "score": re.sub(
            r"score (\d)\.(\d\d)",
            lambda m: f"score {m.group(1)}.{(int(m.group(2)) + 37) % 100:02d}",
            md,
            count=1,
        ),
        "day": re.sub(
            r"^## (\d{4}-\d{2})-(\d{2})$",
            lambda m: f"## {m.group(1)}-{(int(m.group(2)) % 27) + 1:02d}",
            md,
            count=1,
            flags=re.M,
        ),
        "address": re.sub(r"`(\d+\.\d+\.\d+)\.(\d+)`", lambda m: f"`{_absent(md, m)}`", md, count=1),
    }
    if "[E1]: event" in md:
        cases["record"] = re.sub(
            r"(\[E1\]: event .* record )(\d+)", lambda m: f"{m.group(1)}{int(m.group(2)) + 1}", md
        )
        cases["unknown event"] = re.sub(
            r'(\[E1\]: event ")[0-9a-f]+', r"\g<1>00000000000000000000000000000000", md
        )
    return cases


def _absent(md: str, m: re.Match[str]) -> str:
    """The address with its last number moved to one the document does not name anywhere."""
    for k in range(1, 256):
        address = f"{m.group(1)}.{(int(m.group(2)) + k) % 256}"
        if f"`{address}`" not in md:
            return address
    raise AssertionError("no free address")


def test_tampering_fails(story: Timeline, verifier: Verifier) -> None:
    md = story.to_markdown()
    for kind, text in _tamper_cases(md).items():
        assert text != md, kind
        result = verifier.verify_text(text)
        assert not result.ok, kind


def test_removing_any_citation_fails(story: Timeline, verifier: Verifier) -> None:
    md = story.to_markdown()
    lines = md.splitlines()
    for i, line in enumerate(lines):
        for m in re.finditer(r"\[[ES]\d+\]", line):
            if line.startswith("- [") and m.start() == 2:
                continue  # the definition itself
            cut = line[: m.start()] + line[m.end() :]
            doc = "\n".join([*lines[:i], cut, *lines[i + 1 :]])
            if re.search(r"\[[ES]\d+\]", cut):
                continue  # other citations still back the sentence
            assert not verifier.verify_text(doc).ok, line


def test_untrusted_names_stay_escaped(demo_copy: DemoRun) -> None:
    """A user name that is HTML is shown as text in the page, and the page still verifies."""
    con = duckdb.connect(str(demo_copy.workspace / "bluebench.duckdb"))
    aid = con.execute("SELECT id FROM alerts WHERE detector = 'brute_force' ORDER BY id LIMIT 1").fetchall()[
        0
    ][0]
    con.execute(
        """UPDATE event_store SET "user.name" = '<script>alert(1)</script>' WHERE "event.id" IN
           (SELECT event_id FROM alert_events WHERE alert_id = ?)""",
        [aid],
    )
    con.close()
    con = open_workspace(demo_copy.workspace, read_only=True)
    try:
        page = build_timeline(con, aid).to_html()
        assert "<script>" not in page and "&lt;script&gt;" in page
        v = Verifier(con, demo_copy.workspace)
        assert v.verify_text(page, "html").ok
        assert not v.verify_text(page.replace("</ul>", "<script>x()</script></ul>", 1), "html").ok
    finally:
        con.close()


class Rewriter:
    """A fake summariser: applies ``fn`` to the text it is given."""

    name = "fake"

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def rewrite(self, markdown: str) -> str:
        return str(self.fn(markdown))


def test_a_faithful_summary_is_accepted(story: Timeline, verifier: Verifier) -> None:
    doc = summarise(story, Rewriter(lambda t: t.replace("detector ", "the detector ")), verifier)
    assert "the detector" in doc and "## Evidence" in doc


def test_a_summary_with_an_invented_host_is_refused(story: Timeline, verifier: Verifier) -> None:
    def invent(text: str) -> str:
        return re.sub(r"on `[^`]+`", "on the finance server FIN-SRV-07", text, count=1)

    with pytest.raises(SummaryRefused) as info:
        summarise(story, Rewriter(invent), verifier)
    assert any("FIN-SRV-07" in f.reason for f in info.value.result.failures)


def test_a_summary_without_citations_is_refused(story: Timeline, verifier: Verifier) -> None:
    with pytest.raises(SummaryRefused):
        summarise(story, Rewriter(lambda t: "Attackers sprayed passwords and moved laterally."), verifier)


class _Fake(BaseHTTPRequestHandler):
    reply = ""
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Fake.seen.append(body)
        out = json.dumps({"choices": [{"message": {"content": _Fake.reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def test_openai_compatible_endpoint_is_verified(
    story: Timeline, verifier: Verifier, fake_server: str
) -> None:
    body = story.to_markdown().split("## Evidence")[0]
    client = OpenAICompatible(fake_server, "local-model")
    _Fake.reply = body
    assert "## Evidence" in summarise(story, client, verifier)
    assert _Fake.seen[-1]["model"] == "local-model"
    assert _Fake.seen[-1]["messages"][1]["content"].startswith("# Timeline")
    _Fake.reply = (
        body.replace(" alerts from ", " alerts (a 3 hosts campaign) from ", 1)
        + "\nAlso seen on host BACKUP9.\n"
    )
    with pytest.raises(SummaryRefused):
        summarise(story, client, verifier)


def test_cli_timeline_and_verify(demo_run: DemoRun, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import bluebench.cli  # noqa: F401  (registers the commands)
    from bluebench.cli.app import app

    con = open_workspace(demo_run.workspace, read_only=True)
    inc = biggest_incident(con)
    con.close()
    runner = CliRunner()
    for fmt in ("md", "html", "json"):
        out = tmp_path / f"t.{fmt}"
        res = runner.invoke(
            app, ["timeline", inc, "-w", str(demo_run.workspace), "--format", fmt, "--out", str(out)]
        )
        assert res.exit_code == 0, res.output
        ok = runner.invoke(app, ["verify", str(out), "-w", str(demo_run.workspace)])
        assert ok.exit_code == 0, ok.output
    bad = tmp_path / "bad.md"
    bad.write_text((tmp_path / "t.md").read_text().replace(" failed ", " failed ", 1).replace("[S1]", "", 1))
    res = runner.invoke(app, ["verify", str(bad), "-w", str(demo_run.workspace), "--json"])
    assert res.exit_code == 1
    assert json.loads(res.stdout)["failures"]
    missing = runner.invoke(app, ["timeline", "inc-0000000000000000", "-w", str(demo_run.workspace)])
    assert missing.exit_code == 2 and "no incident or alert" in missing.output


def test_cli_refuses_an_inventing_summariser(demo_run: DemoRun, fake_server: str, tmp_path: Path) -> None:
    """With a summariser configured, a rewrite that fails verify is refused: exit 1, and the
    deterministic timeline (which verifies) is written instead."""
    from typer.testing import CliRunner

    import bluebench.cli  # noqa: F401  (registers the commands)
    from bluebench.cli.app import app

    con = open_workspace(demo_run.workspace, read_only=True)
    inc = biggest_incident(con)
    con.close()
    _Fake.reply = "# Timeline\n\n- 00:00:01: the attacker logged on to host GHOST-01 [S1]\n"
    out = tmp_path / "t.md"
    args = [
        "timeline",
        inc,
        "-w",
        str(demo_run.workspace),
        "--out",
        str(out),
        "--summariser-url",
        fake_server,
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 1 and "refused" in res.output
    assert "GHOST-01" not in out.read_text()
    assert CliRunner().invoke(app, ["verify", str(out), "-w", str(demo_run.workspace)]).exit_code == 0
