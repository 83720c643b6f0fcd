"""The shared vocabulary of every stage: the normalized event columns and the Alert record.

Event columns are named after the Elastic Common Schema (ECS) where ECS has a name, so
queries, Sigma field mappings and exported JSON read the same everywhere. Every stage
imports this module; this module imports no stage.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

#: The EventData fields detectors filter on (issue #18): each is also stored as its own text
#: column ``winlog.event_data.<field>`` (Windows' '-' and '' as NULL), filled at ingest from the
#: same EventData, so no detector parses ``winlog.event_data`` JSON at query time. A detector
#: that needs another field adds it here; a workspace made before gains it filled on open.
EVENT_DATA_FIELDS: tuple[str, ...] = (
    "AccessList", "AccountName", "AllowedToDelegateTo", "AttributeLDAPDisplayName", "AttributeValue",
    "AuthenticationPackageName", "CallTrace", "Channel", "GrantedAccess", "Image", "ImagePath",
    "KeyLength", "LmPackageName", "LogonId", "LogonProcessName", "MemberSid", "Message",
    "NewProcessName", "NewTargetUserName", "NewUacValue", "ObjectClass", "ObjectDN",
    "OldTargetUserName", "OldUacValue", "OpCorrelationID", "OperationType", "ParentImage",
    "ParentProcessName", "PasswordLastSet", "PreAuthType", "PrivilegeList", "ProcessName",
    "RelativeTargetName", "ServiceAccount", "ServiceFileName", "ServicePrincipalNames",
    "ShareLocalPath", "ShareName", "SidHistory", "SourceImage", "SubjectLogonId", "SubjectUserName",
    "SubjectUserSid", "TargetDomainName", "TargetImage", "TargetInfo", "TargetLogonId",
    "TargetOutboundDomainName", "TargetOutboundUserName", "TargetServerName", "TargetSid",
    "TargetUserName", "TaskContent", "TaskName", "TicketEncryptionType", "User",
)  # fmt: skip
EVENT_DATA_PREFIX = "winlog.event_data."

# (column, DuckDB type, why it exists). Order is the storage order.
EVENT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    (
        "event.id",
        "VARCHAR",
        "stable id: md5 of the source kind, the file's content fingerprint (and zip member) and the record number",
    ),
    ("@timestamp", "TIMESTAMP", "when the event happened, in UTC"),
    ("event.code", "VARCHAR", "Windows event id, or the source's own code"),
    ("event.provider", "VARCHAR", "the Windows provider or syslog program that wrote it"),
    ("event.action", "VARCHAR", "normalized action, e.g. logon, logon-failed, invalid-user"),
    ("event.category", "VARCHAR", "ECS category: authentication, iam, process, ..."),
    ("event.outcome", "VARCHAR", "success, failure or NULL when not applicable"),
    ("event.reason", "VARCHAR", "status or failure code in the source's words"),
    ("event.dataset", "VARCHAR", "which reader produced it: evtx, winlogbeat, otrf, authlog, ..."),
    ("winlog.channel", "VARCHAR", "Windows channel (Security, System, ...)"),
    ("host.name", "VARCHAR", "the host that logged the event"),
    ("user.name", "VARCHAR", "the account that authenticated or acted"),
    ("user.domain", "VARCHAR", "that account's domain"),
    ("user.id", "VARCHAR", "that account's SID or uid"),
    (
        "user.target.name",
        "VARCHAR",
        "the account acted upon: created, added, or whose creds were used",
    ),
    ("group.name", "VARCHAR", "the group changed, for group membership events"),
    ("service.name", "VARCHAR", "Kerberos service name or installed service"),
    ("source.ip", "VARCHAR", "the remote address, when it is an IP"),
    ("source.address", "VARCHAR", "the remote address or workstation name as logged"),
    ("source.port", "INTEGER", "the remote port"),
    ("destination.address", "VARCHAR", "the host a credential or share was used against"),
    (
        "winlog.logon.type",
        "INTEGER",
        "Windows logon type (2 interactive, 3 network, 9 new creds, ...)",
    ),
    ("process.name", "VARCHAR", "the process or program involved"),
    ("process.pid", "INTEGER", "its process id"),
    ("process.command_line", "VARCHAR", "its command line, when logged"),
    ("winlog.event_data", "JSON", "the Windows EventData (or syslog fields) as logged"),
    (
        "log.file.path",
        "VARCHAR",
        "provenance: the file as the user named it or found under a folder",
    ),
    ("log.record", "BIGINT", "provenance: EVTX record id, line number, JSON line or mbox index"),
    ("event.original", "VARCHAR", "provenance: the raw record"),
    # Network traffic (issue #19): Zeek and Argus flows. Appended after the provenance columns,
    # so a workspace made before gains them at the end (Workspace adds missing columns) and
    # positional inserts keep their order.
    ("destination.ip", "VARCHAR", "the responding address of a connection"),
    ("destination.port", "INTEGER", "the responding port"),
    ("network.transport", "VARCHAR", "tcp, udp, icmp, ..."),
    ("network.protocol", "VARCHAR", "the application protocol seen (Zeek's service): ssl, dns, http, ssh"),
    (
        "network.direction",
        "VARCHAR",
        "inbound, outbound, internal or external: Zeek's local_orig/local_resp, else private ranges",
    ),
    ("source.bytes", "BIGINT", "payload bytes the originator sent"),
    ("destination.bytes", "BIGINT", "payload bytes the responder sent"),
    ("event.duration", "BIGINT", "ECS: how long the connection lasted, in nanoseconds"),
    (
        "zeek.connection.state",
        "VARCHAR",
        "Zeek's conn_state (S0, SF, REJ, RSTO, ...); Argus states mapped onto it",
    ),
    ("zeek.connection.history", "VARCHAR", "Zeek's history letters (ShADadFf, ...)"),
    (
        "zeek.session_id",
        "VARCHAR",
        "Zeek's uid: joins the conn, dns, http, ssl and ssh records of a connection",
    ),
    ("dns.question.name", "VARCHAR", "the name a DNS query asked for"),
    ("dns.question.type", "VARCHAR", "its type: A, AAAA, TXT, NULL, ..."),
    ("dns.response_code", "VARCHAR", "NOERROR, NXDOMAIN, SERVFAIL, ..."),
    ("url.domain", "VARCHAR", "the HTTP Host header"),
    ("user_agent.original", "VARCHAR", "the HTTP User-Agent header"),
    ("tls.server_name", "VARCHAR", "the TLS server name (SNI) the client asked for"),
    # Promoted EventData fields (issue #18), appended like the network columns.
    *(
        (
            EVENT_DATA_PREFIX + f,
            "VARCHAR",
            f"EventData {f} as text, '-' and '' as NULL (promoted for detectors)",
        )
        for f in EVENT_DATA_FIELDS
    ),
)
EVENT_COLUMN_NAMES: tuple[str, ...] = tuple(c for c, _, _ in EVENT_COLUMNS)

SEVERITIES: tuple[str, ...] = ("informational", "low", "medium", "high", "critical")
#: What a reviewer may say of an incident, and who may say it (the review stage enforces both).
#: Here rather than in ``bluebench.review`` so the CLI can name them in its help without
#: loading the review store (SQLAlchemy) on every start.
VERDICTS: tuple[str, ...] = ("true_positive", "false_positive", "benign_true_positive", "needs_info")
ROLES: tuple[str, ...] = ("analyst", "lead")


def severity_rank(severity: str) -> int:
    """Order severities so that ranking sorts critical first."""
    return SEVERITIES.index(severity)


def q(column: str) -> str:
    """Quote a column name for SQL; event columns contain dots and '@'."""
    return '"' + column.replace('"', '""') + '"'


@dataclass(frozen=True)
class Evidence:
    """Where one event behind an alert came from: the file and its record number."""

    file: str
    record: int


@dataclass
class Alert:
    """One finding of one detector. ``score`` runs 0..1 and higher means more suspicious."""

    detector: str
    title: str
    severity: str
    score: float
    tactics: list[str]
    techniques: list[str]
    entities: dict[str, str]
    first_seen: datetime
    last_seen: datetime
    event_count: int
    reasons: list[str]
    event_ids: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    id: str = ""
    #: The measured chance that an alert of this detector and score is a real attack (0..1),
    #: from labelled runs (``detectors.calibration``); None when the detector was never measured.
    confidence: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be within 0..1, got {self.score}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be within 0..1, got {self.confidence}")
        if not self.id:
            self.id = alert_id(self.detector, self.entities, self.first_seen)

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape of an alert, one object per line in ``--json`` output."""
        d = asdict(self)
        d.pop("event_ids")
        d["first_seen"] = self.first_seen.isoformat() + "Z"
        d["last_seen"] = self.last_seen.isoformat() + "Z"
        keys = [
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
        ]
        return {k: d[k] for k in keys}


def alert_id(detector: str, entities: dict[str, str], first_seen: datetime) -> str:
    """Stable alert id: the same detector, entities and start time always give the same id.

    Stored verdicts (issue #4) refer to this id, so changing the recipe orphans them.
    """
    key = json.dumps([detector, sorted(entities.items()), first_seen.isoformat()])
    return hashlib.sha1(key.encode()).hexdigest()[:16]
