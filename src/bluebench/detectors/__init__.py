"""Every built-in detector, registered by stable id, and the config that parameterizes them."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from bluebench.detectors.accounts import AccountCreated, AccountManipulation, GroupMembershipChange
from bluebench.detectors.alt_auth import PassTheHash, SeclogonAbuse
from bluebench.detectors.auth import (
    BruteForce,
    CredentialStuffing,
    PasswordSpray,
    SuccessAfterFailures,
    UnusualLogonProcess,
    UserEnumeration,
)
from bluebench.detectors.base import Detector, Finding, prepare_views, shared_scans
from bluebench.detectors.behaviour import NewLogonType, NewSourceOrHost, UnusualLogonHour
from bluebench.detectors.c2 import Beaconing, LongConnection
from bluebench.detectors.dns import DnsTunnel, GeneratedDomains
from bluebench.detectors.exfil import Exfiltration
from bluebench.detectors.kerberos import AsRepRoasting, ForgedTicket, Kerberoasting
from bluebench.detectors.lateral import (
    AdminShareAccess,
    ExplicitCredentials,
    RemoteServiceInstall,
    ShareCreated,
)
from bluebench.detectors.logs import LogCleared
from bluebench.detectors.mail import PhishingMail
from bluebench.detectors.malware import MalwareFile
from bluebench.detectors.netsql import shared_sessions
from bluebench.detectors.recon import NetworkBruteForce, PortScan, UnusualInbound
from bluebench.detectors.remote_exec import RemoteExecution, RemoteScheduledTask
from bluebench.detectors.rpc import NamedPipeRpc, Zerologon
from bluebench.detectors.sigma_rules import SigmaRules
from bluebench.detectors.user_day import UserDayAnomaly
from bluebench.engines import Db
from bluebench.errors import ConfigError
from bluebench.registry import Registry
from bluebench.schema import Alert
from bluebench.sources.limits import SECTION as LIMITS_SECTION
from bluebench.sources.limits import Limits

DETECTORS: Registry[type[Detector]] = Registry("detector")


def register(cls: type[Detector]) -> type[Detector]:
    """Add a detector class under its stable id; a duplicate id raises."""
    DETECTORS.register(cls.id, cls)
    return cls


_cls: type[Detector]
for _cls in (BruteForce, PasswordSpray, CredentialStuffing, SuccessAfterFailures, UserEnumeration):
    register(_cls)
for _cls in (Kerberoasting, AsRepRoasting, ForgedTicket, PassTheHash):
    register(_cls)
for _cls in (AdminShareAccess, ExplicitCredentials, RemoteServiceInstall, ShareCreated):
    register(_cls)
for _cls in (AccountCreated, GroupMembershipChange, AccountManipulation, LogCleared):
    register(_cls)
for _cls in (UnusualLogonHour, NewSourceOrHost, NewLogonType, UserDayAnomaly):
    register(_cls)
register(PhishingMail)
register(MalwareFile)
# Network traffic (issue #19): Zeek and Argus flows.
for _cls in (Beaconing, LongConnection, Exfiltration, DnsTunnel, GeneratedDomains):
    register(_cls)
for _cls in (PortScan, NetworkBruteForce, UnusualInbound):
    register(_cls)
register(SigmaRules)
# Added after the first set (issue 17); registration order is run order, and stored ids never change.
for _cls in (
    RemoteExecution,
    RemoteScheduledTask,
    NamedPipeRpc,
    Zerologon,
    SeclogonAbuse,
    UnusualLogonProcess,
):
    register(_cls)

__all__ = [
    "DETECTORS",
    "Detector",
    "Finding",
    "build_detectors",
    "default_config_text",
    "load_config",
    "register",
    "run_detectors",
    "shared_run",
]


def default_config_text() -> str:
    """The shipped, commented default configuration (``bluebench config`` prints it)."""
    return resources.files("bluebench.detectors").joinpath("default.toml").read_text(encoding="utf-8")


def load_config(
    path: str | Path | None = None, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """Defaults, overlaid with the user's TOML file, then with ``overrides`` (command-line options).

    Unknown detectors are errors in both, naming where they came from.
    """
    config: dict[str, dict[str, Any]] = tomllib.loads(default_config_text())
    if path is not None:
        try:
            user = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read detector config: {exc}") from exc
        _overlay(config, user, str(path))
    if overrides:
        _overlay(config, overrides, "options")
    return config


def _overlay(config: dict[str, dict[str, Any]], user: Mapping[str, Any], where: str) -> None:
    """Merge one layer of parameters into ``config``; a section must name a registered detector."""
    for name, params in user.items():
        if name == LIMITS_SECTION:  # read by the sources (``load_limits``), not a detector
            continue
        if name not in DETECTORS:
            raise ConfigError(f"{where}: unknown detector [{name}]; known: {', '.join(DETECTORS.names())}")
        if not isinstance(params, Mapping):
            raise ConfigError(f"{where}: [{name}] must be a table of parameters")
        config.setdefault(name, {}).update(params)


def build_detectors(
    config: dict[str, dict[str, Any]], only: list[str] | None = None, limits: Limits | None = None
) -> list[Detector]:
    """Instantiate the enabled detectors with their parameters (and the config's limits on what
    they read), in registration order."""
    out = []
    for cls in DETECTORS:
        if only and cls.id not in only:
            continue
        try:
            det = cls(**config.get(cls.id, {}))
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        if limits is not None:
            det.limits = limits
        if det.params.get("enabled", True) and det.configured:
            out.append(det)
    return out


@contextmanager
def shared_run(con: Db, detectors: Iterable[Detector]) -> Iterator[None]:
    """One detect run of ``detectors``, in which what several of them read is worked out once.

    Outbound sessions are merged once for the network detectors (``netsql.shared_sessions``),
    and successful logons selected once for the behaviour detectors (``base.shared_scans``);
    a detector run outside this block reads the events itself, to the same findings.
    """
    with shared_sessions(con, detectors), shared_scans(con):
        yield


def run_detectors(con: Db, detectors: list[Detector]) -> list[Alert]:
    """Run detectors over the stored events; read-only with respect to events."""
    prepare_views(con)
    alerts: list[Alert] = []
    with shared_run(con, detectors):
        for det in detectors:
            alerts.extend(det.detect(con))
    return alerts
