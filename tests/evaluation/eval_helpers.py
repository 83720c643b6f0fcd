"""Helpers shared by the evaluation tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bluebench.alerts.store import save_alerts
from bluebench.detectors import build_detectors, load_config, run_detectors
from bluebench.evaluation.metrics import Measure
from bluebench.events.workspace import Workspace
from logtext import syslog_time

# The credential-attack detectors these fixtures exercise; evaluations name them explicitly so
# detectors added later do not change the expected counts.
AUTH_DETECTORS = [
    "brute_force",
    "password_spray",
    "credential_stuffing",
    "success_after_failures",
    "user_enumeration",
]


@dataclass
class Labelled:
    """A workspace with stored alerts, the folder it was built in, and its labels file."""

    root: Path
    ws: Workspace
    labels: Path


def counts(m: Measure) -> tuple[int, int, int, int, int]:
    """(TP, FP, FN, TN, FP among negatives), the order the tests state them in."""
    return m.tp, m.fp, m.fn, m.tn, m.fp_negative


def detect(ws: Workspace) -> None:
    """Run the credential-attack detectors with their defaults and store the alerts."""
    detectors = build_detectors(load_config(), AUTH_DETECTORS)
    save_alerts(ws.con, run_detectors(ws.con, detectors), [d.id for d in detectors])


def sshd(t: datetime, host: str, pid: int, msg: str) -> str:
    return f"{syslog_time(t)} {host} sshd[{pid}]: {msg}"


def brute_force(
    t: datetime, host: str = "h1", user: str = "root", src: str = "203.0.113.7", n: int = 10
) -> list[str]:
    return [
        sshd(
            t + timedelta(seconds=5 * i),
            host,
            100 + i,
            f"Failed password for {user} from {src} port {40000 + i} ssh2",
        )
        for i in range(n)
    ]


def spray(t: datetime, host: str = "h2", src: str = "198.51.100.23") -> list[str]:
    users = ["alice", "bob", "carol", "dave", "erin", "frank"]
    return [
        sshd(
            t + timedelta(seconds=5 * i),
            host,
            200 + i,
            f"Failed password for {u} from {src} port {50000 + i} ssh2",
        )
        for i, u in enumerate(users)
    ]


def enumeration(t: datetime, host: str = "h3", src: str = "192.0.2.99") -> list[str]:
    names = ["oracle", "postgres", "test", "guest", "ubnt", "pi"]
    return [
        sshd(t + timedelta(seconds=5 * i), host, 300 + i, f"Invalid user {u} from {src} port {60000 + i}")
        for i, u in enumerate(names)
    ]


def benign(t: datetime, host: str = "h4", n: int = 5) -> list[str]:
    return [
        sshd(
            t + timedelta(minutes=i),
            host,
            400 + i,
            f"Accepted password for alice from 10.0.0.{i} port 5000{i} ssh2",
        )
        for i in range(n)
    ]
