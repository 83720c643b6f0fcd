"""Small labelled workspaces built from sshd lines the tests write, run through the real detectors."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from eval_helpers import Labelled, benign, brute_force, detect, enumeration, spray

from bluebench.events.workspace import Workspace
from bluebench.sources import ReadOptions, discover
from logtext import write_lines


@pytest.fixture
def per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Labelled]:
    """Four attack files, a benign file and a byte-identical copy, ingested by relative path.

    Labels (per file, the evtx_labels.csv layout): bf.log T1110.xxx, bf_copy.log T1110.001,
    spray.log T1110.003, enum.log T1087, benign.log T1136 (a technique no detector claims),
    missing.log (never ingested) and other.log (no technique).
    """
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    write_lines(data / "bf.log", brute_force(datetime(2024, 3, 3, 8)))
    write_lines(data / "spray.log", spray(datetime(2024, 3, 4, 8)))
    write_lines(data / "enum.log", enumeration(datetime(2024, 3, 5, 8)))
    write_lines(data / "benign.log", benign(datetime(2024, 3, 6, 8)))
    shutil.copy(data / "bf.log", data / "bf_copy.log")
    labels = data / "labels.csv"
    labels.write_text(
        "path,tactic_ids,tactic_name,techniques,events\n"
        "bf.log,TA0006,Credential Access,T1110.xxx,10\n"
        "bf_copy.log,TA0006,Credential Access,T1110.001,10\n"
        "spray.log,TA0006,Credential Access,T1110.003,6\n"
        "enum.log,TA0007,Discovery,T1087,6\n"
        "benign.log,TA0003,Persistence,T1136,5\n"
        "missing.log,TA0006,Credential Access,T1110,1\n"
        "other.log,,Other,,3\n",
        encoding="utf-8",
    )
    ws = Workspace(tmp_path / "ws")
    ws.ingest(discover(["data"]), ReadOptions(year=2024))
    detect(ws)
    yield Labelled(tmp_path, ws, labels)
    ws.close()


@pytest.fixture
def per_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Labelled]:
    """One generated-style log: benign lines, two labelled brute forces (one too small to see),
    a labelled spray, and an unlabelled enumeration (benign as far as the labels know).

    Lines: 1-5 benign, 6-15 bf-1 (T1110.001), 16-21 spray-1 (T1110.003), 22-27 enumeration
    (unlabelled), 28-30 bf-2 (T1110.001, three failures).
    """
    monkeypatch.chdir(tmp_path)
    gen = tmp_path / "gen"
    gen.mkdir()
    t = datetime(2024, 3, 3, 8)
    lines = (
        benign(t)
        + brute_force(t + timedelta(hours=1))
        + spray(t + timedelta(hours=2))
        + enumeration(t + timedelta(hours=3))
        + brute_force(t + timedelta(hours=4), user="admin", src="203.0.113.9", n=3)
    )
    write_lines(gen / "auth.log", lines)
    rows = ["file,record,technique,attack,attack_id"]
    rows += [f"auth.log,{r},T1110.001,brute_force,bf-1" for r in range(6, 16)]
    rows += [f"auth.log,{r},T1110.003,password_spray,spray-1" for r in range(16, 22)]
    rows += [f"auth.log,{r},T1110.001,brute_force,bf-2" for r in range(28, 31)]
    labels = gen / "labels.csv"
    labels.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ws = Workspace(tmp_path / "ws")
    ws.ingest(discover(["gen/auth.log"]), ReadOptions(year=2024))
    detect(ws)
    yield Labelled(tmp_path, ws, labels)
    ws.close()
