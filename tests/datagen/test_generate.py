"""The generator: deterministic for a seed, exactly the events asked for, labels that point at
real lines of the right kind, and files the Winlogbeat and auth.log readers recognise."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from bluebench.datagen import generate
from bluebench.datagen.registry import KINDS
from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.evaluation.labels import load_labels
from bluebench.events.workspace import Workspace
from bluebench.sources import ReadOptions, detect_reader, discover

EVENTS = 20_000

# What each attack's labelled lines must be: Windows event codes, or sshd/useradd text.
ATTACK_CODES = {
    "brute_force": {"4625", "4776"},
    "password_spray": {"4625", "4771", "4776"},
    "credential_stuffing": {"4625", "4624"},
    "success_after_failures": {"4625", "4776", "4624"},
    "user_enumeration": {"4768", "4625", "4776"},
    "kerberoasting": {"4769"},
    "asrep_roasting": {"4768"},
    "pass_the_hash": {"4624", "4776"},
    "explicit_credentials": {"4648", "4624"},
    "admin_share": {"5140"},
    "remote_service": {"7045", "4688"},
    "new_account": {"4720", "4722"},
    "privileged_group_add": {"4728", "4732"},
    "log_cleared": {"1102"},
    "unusual_logon": {"4776", "4624", "4688"},
    "wmi_exec": {"4624", "4688"},
    "dcom_exec": {"4624", "4688"},
    "winrm_exec": {"4624", "4688"},
    "remote_task": {"4624", "5145", "4698", "4699"},
    "coercion": {"4624", "5145"},
    "rpc_secrets": {"4624", "5145"},
    "zerologon": {"4624", "5145", "4742"},
    "explicit_spray": {"4648"},
    "pth_source": {"4688", "4624"},
    "seclogon_abuse": {"4688"},
    "logon_theft": {"4625", "4624"},
}
LINUX_TEXT = {
    "ssh_brute_force": ("Failed password for", "authentication failure"),
    "ssh_enumeration": ("Invalid user", "Failed password for invalid user"),
    "ssh_success_after_failures": ("Failed password for", "Accepted password for", "session opened"),
    "linux_new_account": ("new user: name=",),
    "linux_group_add": ("to group 'sudo'",),
}


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "out"
    generate(out, EVENTS, seed=7, days=5)
    return out


@pytest.fixture(scope="module")
def labels(generated: Path) -> list[dict[str, str]]:
    with (generated / "labels.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def lines(generated: Path) -> dict[str, list[str]]:
    files = [p for p in generated.rglob("*") if p.suffix in (".ndjson", ".log")]
    return {str(p.relative_to(generated)): p.read_text(encoding="utf-8").splitlines() for p in files}


def test_same_seed_same_bytes_other_seed_other_bytes(generated: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, EVENTS, seed=7, days=5)
    assert digest(again) == digest(generated)
    other = tmp_path / "other"
    generate(other, EVENTS, seed=8, days=5)
    assert digest(other) != digest(generated)


def test_exactly_the_events_asked_for(generated: Path, lines: dict[str, list[str]]) -> None:
    manifest = json.loads((generated / "manifest.json").read_text(encoding="utf-8"))
    assert sum(len(v) for v in lines.values()) == EVENTS == manifest["events"]
    assert manifest["files"] == {k: len(v) for k, v in sorted(lines.items())}
    assert sum(1 for k in lines if k.startswith("linux/")) > 0 and manifest["hard_negatives"]


def test_manifest_lists_every_registered_hard_negative(generated: Path) -> None:
    manifest = json.loads((generated / "manifest.json").read_text(encoding="utf-8"))
    expected = [{"kind": k.name, "what": k.hard_negative} for k in KINDS if k.hard_negative]
    assert manifest["hard_negatives"] == expected and len(expected) > 10


def test_windows_lines_are_winlogbeat_records_in_time_order(lines: dict[str, list[str]]) -> None:
    for name, text in lines.items():
        if not name.startswith("windows/"):
            continue
        records = [json.loads(t) for t in text]
        stamps = [r["@timestamp"] for r in records]
        assert stamps == sorted(stamps), name
        for r in records[:200]:
            w = r["winlog"]
            assert {"event_id", "channel", "computer_name", "provider_name", "record_id"} <= set(w)
            assert ("event_data" in w) != ("user_data" in w)
            assert r["event"]["code"] == w["event_id"]


def test_labels_point_at_lines_of_the_attack(
    labels: list[dict[str, str]], lines: dict[str, list[str]]
) -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    for row in labels:
        line = lines[row["file"]][int(row["record"]) - 1]
        attack = row["attack"]
        if row["file"].startswith("windows/"):
            record = json.loads(line)
            code = record["winlog"]["event_id"]
            assert code in ATTACK_CODES[attack], (attack, code)
            seen[attack].add(code)
            data = record["winlog"].get("event_data", {})
            if attack == "kerberoasting":
                assert data["TicketEncryptionType"] == "0x17"
            if attack == "asrep_roasting":
                assert data["PreAuthType"] == "0" and data["TicketEncryptionType"] == "0x17"
            if attack == "admin_share":
                assert data["ShareName"] in ("\\\\*\\ADMIN$", "\\\\*\\C$")
            if attack == "remote_service" and code == "7045":
                assert data["ServiceName"] == "PSEXESVC"
            if attack == "privileged_group_add":
                assert data["TargetUserName"] in ("Administrators", "Domain Admins")
            if attack == "pass_the_hash" and code == "4624":
                assert (data["LogonType"], data["LogonProcessName"]) == ("9", "seclogo") or (
                    data["LogonType"] == "3"
                    and data["AuthenticationPackageName"] == "NTLM"
                    and data["KeyLength"] == "0"
                )
        else:
            assert any(t in line for t in LINUX_TEXT[attack]), (attack, line)
            seen[attack].add("linux")
    assert set(seen) == set(ATTACK_CODES) | set(LINUX_TEXT)
    ids = Counter(row["attack_id"] for row in labels)
    assert all(i.startswith(tuple(seen)) for i in ids)


def test_benign_lines_look_like_a_working_domain(
    lines: dict[str, list[str]], labels: list[dict[str, str]]
) -> None:
    bad = {(r["file"], int(r["record"])) for r in labels}
    codes: Counter[str] = Counter()
    logon_types: Counter[str] = Counter()
    encryption: Counter[str] = Counter()
    for name, text in lines.items():
        if not name.startswith("windows/"):
            continue
        for n, line in enumerate(text, 1):
            if (name, n) in bad:
                continue
            record = json.loads(line)
            code = record["winlog"]["event_id"]
            codes[code] += 1
            data = record["winlog"].get("event_data", {})
            if code == "4624":
                logon_types[data["LogonType"]] += 1
            if code == "4769":
                encryption[data["TicketEncryptionType"]] += 1
    assert {"4624", "4634", "4768", "4769", "4776", "4625", "5140", "4688"} <= set(codes)
    assert {"2", "3", "5", "7", "8", "10"} <= set(logon_types)
    assert encryption["0x12"] > 20 * encryption["0x17"] > 0  # AES normally; a legacy client asks for RC4


def test_readers_recognise_the_files(generated: Path) -> None:
    for path in generated.rglob("*"):
        if path.suffix == ".ndjson":
            reader = detect_reader(path, ReadOptions())
            assert reader is not None and reader.name == "winlogbeat"
        elif path.suffix == ".log":
            reader = detect_reader(path, ReadOptions())
            assert reader is not None and reader.name == "authlog"


@pytest.fixture(scope="module")
def ingested(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = Workspace(tmp_path_factory.mktemp("ws") / "ws")
    ws.ingest(discover([str(generated / "windows"), str(generated / "linux")]))
    yield ws
    ws.close()


def test_ingested_events_carry_the_fields_detectors_read(ingested: Workspace) -> None:
    assert ingested.event_count() == EVENTS
    rows = dict(
        ingested.con.execute(
            """SELECT "event.code", count(*) FILTER (WHERE "user.name" IS NULL OR "@timestamp" IS NULL
                                                 OR "host.name" IS NULL)
               FROM events WHERE "event.dataset" = 'winlogbeat' GROUP BY 1"""
        ).fetchall()
    )
    assert rows and all(missing == 0 for missing in rows.values()), rows
    cleared = ingested.con.execute(
        """SELECT "event.action", "user.name" FROM events WHERE "event.code" = '1102'"""
    ).fetchall()
    assert cleared and all(a == "log-cleared" and u for a, u in cleared)
    assert ingested.scalar("""SELECT count(*) FROM events WHERE "event.action" = 'logon-failed'""") > 0


def test_labels_load_for_evaluation_and_a_detector_finds_the_brute_force(
    generated: Path, ingested: Workspace, labels: list[dict[str, str]]
) -> None:
    label_set = load_labels(generated / "labels.csv")
    assert label_set.kind == "event" and len(label_set.events) == len(labels)
    alerts = run_detectors(ingested.con, build_detectors(load_config(), only=["brute_force"]))
    evidence = set()
    for a in alerts:
        for eid in a.event_ids:
            evidence.add(eid)
    labelled = {(r["file"], int(r["record"])) for r in labels if r["attack"] == "brute_force"}
    found = ingested.con.execute(
        """SELECT "log.file.path", "log.record" FROM events WHERE list_contains(?, "event.id")""",
        [sorted(evidence)],
    ).fetchall()
    prefix = str(generated) + "/"
    assert labelled & {(p.removeprefix(prefix), r) for p, r in found}
