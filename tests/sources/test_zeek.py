"""Zeek TSV and JSON logs: recognised by content, mapped onto ECS columns, bad input named and counted."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluebench.events.workspace import Workspace
from bluebench.sources import READERS, ReadOptions, Skipped, detect_reader, discover
from bluebench.sources.zeek import ZeekTsvReader, log_kind_from_name
from netlogs import T0, conn, dns, write, zeek_json, zeek_tsv

LABELS = [("Malicious", "C2-beacon"), ("Benign", "Background-Google")]


def _events(ws: Workspace, where: str = "TRUE") -> list[dict[str, Any]]:
    cur = ws.con.execute(f'SELECT * FROM events WHERE {where} ORDER BY "log.file.path", "log.record"')
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _ingest(ws: Workspace, *paths: Path) -> list[Any]:
    return ws.ingest(discover([str(p) for p in paths])).files


def test_readers_are_registered_and_recognise_their_content(tmp_path: Path) -> None:
    tsv = write(tmp_path / "x.txt", zeek_tsv("conn", [conn(0, "10.0.0.5", "192.0.2.7", 443)]))
    js = write(tmp_path / "y.txt", zeek_json([conn(0, "10.0.0.5", "192.0.2.7", 443)]))
    assert {"zeek", "zeek-json", "argus"} <= set(READERS.names())
    assert detect_reader(tsv, ReadOptions()).name == "zeek"  # type: ignore[union-attr]
    assert detect_reader(js, ReadOptions()).name == "zeek-json"  # type: ignore[union-attr]


def test_conn_fields_become_ecs_columns_with_provenance(workspace: Workspace, tmp_path: Path) -> None:
    rows = [
        conn(0, "10.0.0.5", "192.0.2.7", 443, sport=50000, service="ssl", duration=2.5, sent=1000, got=5000),
        conn(1, "203.0.113.9", "10.0.0.5", 22, state="S0", history="S", duration=None, sent=None, got=None),
    ]
    log = write(tmp_path / "conn.log", zeek_tsv("conn", rows))
    (res,) = _ingest(workspace, log)
    assert (res.status, res.events, res.skipped) == ("ingested", 2, [])
    out, inbound = _events(workspace)
    assert out["@timestamp"] == datetime(2024, 3, 4, 9, 0, 0)  # naive UTC, as every event
    assert (out["source.ip"], out["source.port"], out["destination.ip"], out["destination.port"]) == (
        "10.0.0.5",
        50000,
        "192.0.2.7",
        443,
    )
    assert out["network.transport"] == "tcp" and out["network.protocol"] == "ssl"
    assert (out["source.bytes"], out["destination.bytes"]) == (1000, 5000)
    assert out["event.duration"] == 2_500_000_000  # ECS: nanoseconds
    assert out["zeek.connection.state"] == "SF" and out["zeek.connection.history"] == "ShADadFf"
    assert out["network.direction"] == "outbound" and inbound["network.direction"] == "inbound"
    assert out["event.action"] == "connection" and out["event.code"] == "conn"
    assert out["log.file.path"] == str(log) and out["log.record"] == 9  # after 8 header lines
    assert out["event.original"].startswith(f"{T0:.6f}\t")
    # '-' (unset) is NULL, not the text '-'.
    assert inbound["event.duration"] is None and inbound["source.bytes"] is None
    assert inbound["network.protocol"] is None


def test_every_log_kind_fills_its_columns(workspace: Workspace, tmp_path: Path) -> None:
    base = {"ts": T0, "uid": "Cabc", "id.orig_h": "10.0.0.5", "id.orig_p": 50000, "id.resp_h": "192.0.2.7"}
    logs = {
        "dns": [dns(0, "10.0.0.5", "a.example.com", qtype="TXT", rcode="NXDOMAIN")],
        "http": [{**base, "id.resp_p": 80, "method": "GET", "host": "example.com", "uri": "/x", "user_agent": "curl/8"}],
        "ssl": [{**base, "id.resp_p": 443, "server_name": "example.net", "validation_status": "self signed certificate"}],
        "ssh": [{**base, "id.resp_p": 22, "auth_success": False, "auth_attempts": 3}],
        "notice": [{**base, "id.resp_p": 22, "note": "SSH::Password_Guessing", "msg": "guessing"}],
        "weird": [{**base, "id.resp_p": 80, "name": "bad_HTTP_request"}],
        "files": [{"ts": T0, "fuid": "F1", "tx_hosts": ["192.0.2.7"], "rx_hosts": ["10.0.0.5"], "conn_uids": ["Cabc"], "mime_type": "application/x-dosexec"}],
        "x509": [{"ts": T0, "id": "F2", "certificate.subject": "CN=evil", "certificate.issuer": "CN=evil"}],
    }  # fmt: skip
    for kind, rows in logs.items():
        write(tmp_path / "logs" / f"{kind}.log", zeek_tsv(kind, rows))
    results = _ingest(workspace, tmp_path / "logs")
    assert {r.status for r in results} == {"ingested"} and sum(r.events for r in results) == len(logs)
    by = {e["event.code"]: e for e in _events(workspace)}
    assert by["dns"]["dns.question.name"] == "a.example.com" and by["dns"]["dns.question.type"] == "TXT"
    assert by["dns"]["dns.response_code"] == "NXDOMAIN"
    assert by["http"]["url.domain"] == "example.com" and by["http"]["user_agent.original"] == "curl/8"
    assert json.loads(by["http"]["winlog.event_data"])["uri"] == "/x"
    assert by["ssl"]["tls.server_name"] == "example.net"
    assert json.loads(by["ssl"]["winlog.event_data"])["validation_status"] == "self signed certificate"
    assert by["ssh"]["event.outcome"] == "failure" and by["ssh"]["destination.port"] == 22
    assert by["notice"]["event.action"] == "SSH::Password_Guessing"
    assert by["weird"]["event.reason"] == "bad_HTTP_request"
    files = by["files"]
    assert (files["source.ip"], files["destination.ip"], files["zeek.session_id"]) == (
        "192.0.2.7",
        "10.0.0.5",
        "Cabc",
    )
    assert json.loads(by["x509"]["winlog.event_data"])["certificate.subject"] == "CN=evil"


def test_another_separator_and_markers_are_honoured(workspace: Workspace, tmp_path: Path) -> None:
    text = zeek_tsv("conn", [conn(0, "10.0.0.5", "192.0.2.7", 443, service=None)], sep="|")
    text = text.replace("#unset_field|-", "#unset_field|NA").replace("|-|", "|NA|")
    log = write(tmp_path / "conn.log", text)
    (res,) = _ingest(workspace, log)
    assert res.events == 1
    (e,) = _events(workspace)
    assert e["destination.port"] == 443 and e["network.protocol"] is None


def test_labels_stay_labels_in_both_layouts(workspace: Workspace, tmp_path: Path) -> None:
    rows = [conn(0, "10.0.0.5", "192.0.2.7", 443), conn(5, "10.0.0.6", "192.0.2.8", 80)]
    write(tmp_path / "a" / "conn.log.labeled", zeek_tsv("conn", rows, labels=LABELS))
    write(tmp_path / "b" / "conn.log.labeled", zeek_tsv("conn", rows, labels=LABELS, tail=True))
    results = _ingest(workspace, tmp_path / "a", tmp_path / "b")
    assert [r.events for r in results] == [2, 2] and not any(r.skipped for r in results)
    for e in _events(workspace):
        stored = {k: v for k, v in e.items() if k != "event.original" and isinstance(v, str)}
        assert not any("Malicious" in v or "Benign" in v for v in stored.values()), "a label became a field"
        assert e["destination.port"] in (443, 80)


def test_truncated_line_and_column_mismatch_are_named_and_the_rest_stored(
    workspace: Workspace, tmp_path: Path
) -> None:
    rows = [conn(i, "10.0.0.5", "192.0.2.7", 443) for i in range(5)]
    lines = zeek_tsv("conn", rows, close=False).splitlines()
    lines[9] = lines[9][:40]  # second data line cut short
    lines.append(lines[8] + "\textra")  # one column too many
    log = write(tmp_path / "conn.log", "\n".join(lines) + "\n")
    (res,) = _ingest(workspace, log)
    assert res.events == 4
    bad = sorted((s.record, s.reason) for s in res.skipped)
    assert [r for r, _ in bad] == [10, 14]
    assert all("#fields header names 21" in why for _, why in bad)
    stored = workspace.con.execute("SELECT record, reason FROM skipped ORDER BY record").fetchall()
    assert [r for r, _ in stored] == [10, 14]


def test_types_header_at_odds_with_fields_is_noted(workspace: Workspace, tmp_path: Path) -> None:
    text = zeek_tsv("conn", [conn(0, "10.0.0.5", "192.0.2.7", 443)])
    text = text.replace("#types\tstring\t", "#types\t", 1)
    (res,) = _ingest(workspace, write(tmp_path / "conn.log", text))
    assert res.events == 1
    assert any("#types names 20 columns where #fields names 21" in s.reason and s.kept for s in res.skipped)


def test_data_before_any_fields_header_is_skipped(workspace: Workspace, tmp_path: Path) -> None:
    text = zeek_tsv("conn", [conn(0, "10.0.0.5", "192.0.2.7", 443)])
    head, _, rest = text.partition("#fields")
    text = head + "1.0\tCx\t10.0.0.1\n#fields" + rest
    (res,) = _ingest(workspace, write(tmp_path / "conn.log", text))
    assert res.events == 1 and [s.record for s in res.skipped] == [7]


def test_concatenated_logs_use_each_block_header(workspace: Workspace, tmp_path: Path) -> None:
    first = zeek_tsv("conn", [conn(0, "10.0.0.5", "192.0.2.7", 443)])
    second = zeek_tsv("dns", [dns(1, "10.0.0.5", "example.org")], path="dns")
    (res,) = _ingest(workspace, write(tmp_path / "all.log", first + second))
    assert res.events == 2 and not res.skipped
    assert [e["event.code"] for e in _events(workspace)] == ["conn", "dns"]


def test_gzip_and_a_corrupt_gzip_member(workspace: Workspace, tmp_path: Path) -> None:
    rows = [conn(i, "10.0.0.5", "192.0.2.7", 443, sport=40000 + i) for i in range(3000)]
    text = zeek_tsv("conn", rows, close=False)
    cut = text.index("\n", len(text) // 2) + 1
    first, second = gzip.compress(text[:cut].encode()), gzip.compress(text[cut:].encode())
    good, broken = tmp_path / "good" / "conn.log.gz", tmp_path / "broken" / "conn.log.gz"
    good.parent.mkdir()
    broken.parent.mkdir()
    good.write_bytes(first + second)
    broken.write_bytes(first + second[:20] + bytes(b ^ 0x5A for b in second[20:60]) + second[60:])
    small = ReadOptions(batch_bytes=16384)  # the first member is read before the second fails
    (ok,) = workspace.ingest(discover([str(good)]), small).files
    assert ok.events == 3000 and not ok.skipped
    (res,) = workspace.ingest(discover([str(broken)]), small).files
    stored_lines = text[:cut].count("\n") - 8
    # Lines decoded in the read that meets the damage are lost with it: at most one block.
    assert stored_lines * 0.8 <= res.events <= stored_lines, "what was read before the damage is stored"
    assert any(s.record is None and "damaged" in s.reason for s in res.skipped)


def test_other_zeek_logs_are_named_as_not_read(workspace: Workspace, tmp_path: Path) -> None:
    write(tmp_path / "logs" / "sip.log", zeek_tsv("sip", [{"ts": T0, "uid": "C1", "method": "INVITE"}]))
    write(tmp_path / "logs" / "known_hosts.log", zeek_tsv("sip", [], path="known_hosts"))
    write(tmp_path / "logs" / "conn.log", zeek_tsv("conn", [conn(0, "10.0.0.5", "192.0.2.7", 443)]))
    results = {Path(r.file).name: r for r in _ingest(workspace, tmp_path / "logs")}
    assert results["conn.log"].events == 1
    for name in ("sip.log", "known_hosts.log"):
        assert results[name].status == "failed" and "not read" in (results[name].error or "")


def test_json_lines_map_like_tsv_and_name_bad_lines(workspace: Workspace, tmp_path: Path) -> None:
    rows = [conn(0, "10.0.0.5", "192.0.2.7", 443, service="ssl"), conn(1, "10.0.0.5", "192.0.2.8", 80)]
    text = (
        zeek_json(rows, path="conn")
        + '{"ts": 1, "uid": "C9", "_path"\n'
        + zeek_json([dns(2, "10.0.0.5", "x.org")], path="dns")
    )
    (res,) = _ingest(workspace, write(tmp_path / "conn.json", text))
    assert res.reader == "zeek-json" and res.events == 2
    reasons = sorted((s.record, s.reason.split(":")[0]) for s in res.skipped)
    assert reasons[0][0] == 3 and "not valid JSON" in reasons[0][1]
    assert reasons[1][0] == 4 and "another Zeek log" in reasons[1][1]
    first = _events(workspace)[0]
    assert first["network.protocol"] == "ssl" and first["destination.port"] == 443


def test_json_iso_timestamps_and_kind_from_fields(workspace: Workspace, tmp_path: Path) -> None:
    row = dns(0, "10.0.0.5", "example.org")
    row["ts"] = "2024-03-04T09:00:00.250000Z"
    (res,) = _ingest(workspace, write(tmp_path / "stream.json", zeek_json([row])))
    assert res.events == 1
    (e,) = _events(workspace)
    assert e["dns.question.name"] == "example.org" and e["@timestamp"].microsecond == 250000


def test_log_kind_from_file_names() -> None:
    assert log_kind_from_name("conn.log") == "conn"
    assert log_kind_from_name("conn.log.labeled") == "conn"
    assert log_kind_from_name("dns.09:00:00-10:00:00.log.gz") == "dns"
    assert log_kind_from_name("labeled-conn.log") == "conn"
    assert log_kind_from_name("notes.txt") is None


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=0, max_value=4000), junk=st.binary(max_size=40))
def test_any_cut_or_junk_is_stored_or_counted(
    tmp_path_factory: pytest.TempPathFactory, cut: int, junk: bytes
) -> None:
    """Whatever the damage, every data line is either stored or named, and nothing raises."""
    rows = [conn(i, "10.0.0.5", "192.0.2.7", 443, sport=40000 + i) for i in range(20)]
    data = zeek_tsv("conn", rows, close=False).encode()
    damaged = data[:cut] + junk + data[cut:]
    path = tmp_path_factory.mktemp("fuzz") / "conn.log"
    path.write_bytes(damaged)
    skipped: list[Skipped] = []
    reader = ZeekTsvReader()
    if not reader.sniff(damaged[:65536], path):
        return
    try:
        stored = sum(b.table.num_rows for b in reader.read(path, "conn.log", skipped, ReadOptions()))
    except Exception as exc:  # only the named refusal of an unknown log may end a read
        assert "not read" in str(exc)
        return

    def counted(line: bytes) -> bool:  # a data line, or any line that is not UTF-8 (named)
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return True
        blank = not pc.utf8_trim_whitespace(pa.array([text]))[0].as_py()  # the reader's notion
        return not blank and not text.startswith("#")

    data_lines = [ln for ln in damaged.split(b"\n") if counted(ln)]
    named = {s.record for s in skipped if s.record is not None and not s.kept}
    assert stored + len(named) == len(data_lines)
