"""The review store: who decided what about which incident, and every change as an audit record.

SQLite (``review.db`` in the workspace) by default; PostgreSQL when the user gives a URL.
Alembic migrations ship in this package and run to head whenever a store is opened, so a
user never runs ``alembic`` by hand. Every write and its audit record share one
transaction: a verdict is either stored with its audit record or not at all, even when the
process is killed in the middle.

Verdicts refer to incidents and alerts by their stable ids, as detect-secrets' audit
labels refer to secrets: ``true_positive`` and ``benign_true_positive`` label the alerts
True (the detection was right), ``false_positive`` False, ``needs_info`` None. The unit of
a detector's precision from verdicts is the *alert*: each alert counts once, under the
latest verdict of an incident that held it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, create_engine, delete, event, func, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bluebench.errors import BluebenchError
from bluebench.review.findings import FindingDecisions
from bluebench.review.logins import LoginPolicy, LoginWait, login_wait
from bluebench.review.models import (
    AuditRow,
    CommentRow,
    DetectorSettingRow,
    IncidentStateRow,
    LoginAttemptRow,
    SessionRow,
    SettingRow,
    UserRow,
    VerdictAlertRow,
    VerdictRow,
)
from bluebench.schema import ROLES, VERDICTS
from bluebench.stats import Rate

# detect-secrets-style labels: was the detection right? (None: not decided yet)
VERDICT_LABELS: dict[str, bool | None] = {
    "true_positive": True,
    "false_positive": False,
    "benign_true_positive": True,
    "needs_info": None,
}
# A dismissal (or "it was real but allowed") must say why, so the decision can be defended.
REASON_REQUIRED: frozenset[str] = frozenset({"false_positive", "benign_true_positive"})
STATUSES: tuple[str, ...] = ("open", "closed")
SESSION_TTL_S = 8 * 3600
MIN_PASSWORD_LENGTH = 8
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_MAX_ID = 200
_MAX_TEXT = 20_000
_LOCK_KEY = 0x6B1E_BE4C  # PostgreSQL advisory lock held while migrating
_PRECISION_FLOOR = "precision_floor"
LOGIN_POLICY = LoginPolicy()

T = TypeVar("T")


class PermissionDenied(BluebenchError):
    """The acting user's role does not allow this change (only a lead sets thresholds and owners)."""


class ValidationError(BluebenchError):
    """A value given to the store is not acceptable; the message names it."""


class StoreError(BluebenchError):
    """The review database could not be opened or written; the URL is shown without password."""


@dataclass(frozen=True)
class User:
    """A local account; ``role`` is one of :data:`ROLES`."""

    name: str
    role: str

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"


@dataclass(frozen=True)
class IncidentState:
    """Where an incident stands: ``open`` until a TP/FP/BTP verdict closes it."""

    status: str
    verdict: str | None
    reason: str
    assignee: str | None
    updated_at: datetime | None


OPEN = IncidentState("open", None, "", None, None)


@dataclass(frozen=True)
class Comment:
    id: int
    incident_id: str
    actor: str
    text: str
    at: datetime


@dataclass(frozen=True)
class VerdictCounts:
    """Alerts of one detector under each verdict (latest verdict per alert)."""

    tp: int = 0
    fp: int = 0
    btp: int = 0
    needs_info: int = 0

    @property
    def precision(self) -> Rate:
        """Right detections (TP + BTP) over decided ones (TP + BTP + FP); needs_info is undecided."""
        right = self.tp + self.btp
        return Rate(right, right + self.fp)


@dataclass(frozen=True)
class PrecisionEstimate:
    """Precision from verdicts with its 95% Wilson interval; ``value`` is None when ``n`` is 0."""

    value: float | None
    low: float | None
    high: float | None
    n: int


@dataclass(frozen=True)
class DetectorSettings:
    """What a lead set for a detector: ``threshold`` is its ``min_score`` (0..1, higher = fewer alerts)."""

    threshold: float | None
    owner: str | None


@dataclass(frozen=True)
class AuditRecord:
    """One change: who, when (UTC), what, on which object, the state before and after."""

    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    #: How the actor was known: "web" (a password), or the CLI's unverified ``--as``.
    via: str | None = None

    @property
    def object(self) -> str:
        return f"{self.object_type}:{self.object_id}"


_HASHER = PasswordHasher()  # argon2id with the library's current parameters
_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """A hash to verify against for unknown names, so their answer takes as long as a known one's."""
    if not _DUMMY:
        _DUMMY.append(_HASHER.hash(secrets.token_hex(16)))
    return _DUMMY[0]


def _now() -> datetime:
    """Naive UTC, the form stored in both databases."""
    return datetime.now(UTC).replace(tzinfo=None)


def _utc(t: datetime | None) -> datetime | None:
    return None if t is None else t.replace(tzinfo=UTC)


def _dump(d: dict[str, Any] | None) -> str | None:
    return None if d is None else json.dumps(d, sort_keys=True, default=str)


def _load(s: str | None) -> dict[str, Any] | None:
    if s is None:
        return None
    value: dict[str, Any] = json.loads(s)
    return value


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalize_url(url: str) -> URL:
    """A user's database URL as SQLAlchemy needs it: ``postgresql://`` means psycopg 3."""
    try:
        u = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {exc}") from None
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(f"unsupported database {u.get_backend_name()!r}: use sqlite or postgresql")
    return u


def _check_id(what: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_ID:
        raise ValidationError(f"{what} must be a non-empty string of at most {_MAX_ID} characters")
    return value


def _check_text(what: str, value: str) -> str:
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise ValidationError(f"{what} must be a string of at most {_MAX_TEXT} characters")
    return value


def _check_fraction(what: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{what} must be a number in 0..1, got {value!r}") from None
    if not 0.0 <= v <= 1.0:
        raise ValidationError(f"{what} must be in 0..1, got {v}")
    return v


class ReviewStore(FindingDecisions):
    """Verdicts, assignments, comments, detector settings and accounts, with an append-only audit.

    ``ReviewStore(url)`` opens (and migrates) the database at ``url``; use
    :meth:`for_workspace` for the workspace default. Safe to share between threads.
    """

    def __init__(self, url: str, *, hasher: PasswordHasher | None = None, via: str | None = None) -> None:
        self.url = normalize_url(url)
        #: How the actors of this store's changes are known, written into every audit record.
        self.via = via
        self.dialect: str = self.url.get_backend_name()
        # argon2id always; a caller (tests) may pass cheaper cost parameters. Stored hashes
        # carry their own parameters, so verifying works whatever hasher wrote them.
        self._hasher = hasher or _HASHER
        self.engine = self._engine()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        try:
            self._migrate()
        except OperationalError as exc:
            self.engine.dispose()
            raise StoreError(f"cannot open review database {self.display_url}: {exc.orig}") from None

    @classmethod
    def for_workspace(cls, ws_dir: Path, url: str | None = None, via: str | None = None) -> ReviewStore:
        """The store for a workspace: ``url``, else ``$BLUEBENCH_DB``, else ``<ws_dir>/review.db``."""
        url = url or os.environ.get("BLUEBENCH_DB") or None
        if url is None:
            ws_dir = Path(ws_dir)
            ws_dir.mkdir(parents=True, exist_ok=True)
            url = URL.create("sqlite", database=str(ws_dir / "review.db")).render_as_string()
        return cls(url, via=via)

    @property
    def display_url(self) -> str:
        """The URL without its password, for messages and logs."""
        return self.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- opening ---------------------------------------------------------------------------

    def _engine(self) -> Engine:
        if self.dialect == "sqlite":
            engine = create_engine(self.url, connect_args={"check_same_thread": False, "timeout": 30})

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_con: Any, _record: Any) -> None:
                # Let SQLAlchemy's BEGIN below decide transactions, not the sqlite3 module.
                dbapi_con.isolation_level = None
                cur = dbapi_con.cursor()
                # WAL: readers (the web queue) never block the writer; FULL: a commit is on disk
                # before it is reported, so a killed process loses nothing it reported done.
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

            @event.listens_for(engine, "begin")
            def _on_begin(conn: Any) -> None:
                # Take the write lock up front: two writers never deadlock upgrading a read lock.
                conn.exec_driver_sql("BEGIN IMMEDIATE")

            return engine
        return create_engine(self.url, pool_pre_ping=True)

    def _migrate(self) -> None:
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", "bluebench.review:migrations")
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                # Two processes opening a fresh database at once migrate one after the other.
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at."""
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        return None if row is None else str(row[0])

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._sessions() as s:
            yield s

    def _write(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` and its audit records in one transaction; retry once on a concurrent insert."""
        for attempt in range(3):
            try:
                with self._sessions.begin() as s:
                    return fn(s)
            except IntegrityError:
                if attempt == 2:
                    raise
            except OperationalError as exc:
                raise StoreError(f"review database {self.display_url}: {exc.orig}") from None
        raise AssertionError("unreachable")

    def _audit(
        self,
        s: Session,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        s.add(
            AuditRow(
                at=_now(),
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                before=_dump(before),
                after=_dump(after),
                via=self.via,
            )
        )

    @staticmethod
    def _actor(s: Session, actor: str) -> UserRow:
        """The acting user; an unknown name may not change anything."""
        row = s.get(UserRow, actor) if isinstance(actor, str) else None
        if row is None:
            raise PermissionDenied(f"unknown user {actor!r}: add it with `bluebench users add`")
        return row

    def _lead(self, s: Session, actor: str, what: str) -> UserRow:
        row = self._actor(s, actor)
        if row.role != "lead":
            raise PermissionDenied(f"only a lead may {what}; {actor!r} is an {row.role}")
        return row

    # -- users -----------------------------------------------------------------------------

    def add_user(self, name: str, password: str, role: str, *, actor: str | None = None) -> User:
        """Create a local account with an argon2id password hash; ``actor`` defaults to 'setup'."""
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ValidationError(
                f"user name {name!r}: 1-64 letters, digits, '_', '.', '@' or '-', starting with a letter or digit"
            )
        if role not in ROLES:
            raise ValidationError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
            raise ValidationError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
        pw_hash = self._hasher.hash(password)

        def op(s: Session) -> User:
            if s.get(UserRow, name) is not None:
                raise ValidationError(f"user {name!r} already exists")
            s.add(UserRow(name=name, role=role, password_hash=pw_hash, created_at=_now()))
            self._audit(s, actor or "setup", "user.add", "user", name, None, {"role": role})
            return User(name, role)

        return self._write(op)

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the password matches, else None (the same work is done for unknown names)."""
        with self._read() as s:
            row = s.get(UserRow, name) if isinstance(name, str) and len(name) <= 64 else None
            stored = row.password_hash if row is not None else _dummy_hash()
            role = row.role if row is not None else ""
        try:
            self._hasher.verify(stored, password if isinstance(password, str) else "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return User(name, role) if row is not None else None

    def get_user(self, name: str) -> User | None:
        with self._read() as s:
            row = s.get(UserRow, name) if isinstance(name, str) else None
            return None if row is None else User(row.name, row.role)

    def users(self) -> list[User]:
        with self._read() as s:
            return [User(r.name, r.role) for r in s.scalars(select(UserRow).order_by(UserRow.name))]

    # -- sessions --------------------------------------------------------------------------

    def create_session(self, user_name: str, ttl_s: int = SESSION_TTL_S) -> str:
        """A new random session token for ``user_name``; only its SHA-256 is stored."""
        token = secrets.token_urlsafe(32)

        def op(s: Session) -> str:
            self._actor(s, user_name)
            now = _now()
            s.add(
                SessionRow(
                    token_hash=_token_hash(token),
                    user_name=user_name,
                    created_at=now,
                    expires_at=now + timedelta(seconds=ttl_s),
                )
            )
            self._audit(s, user_name, "session.create", "user", user_name, None, None)
            return token

        return self._write(op)

    def session_user(self, token: str) -> User | None:
        """The user of a live session; None for an unknown, ended or expired token."""
        if not isinstance(token, str) or not token or len(token) > 512:
            return None
        with self._read() as s:
            row = s.get(SessionRow, _token_hash(token))
            if row is None or row.expires_at <= _now():
                return None
            user = s.get(UserRow, row.user_name)
            return None if user is None else User(user.name, user.role)

    def end_session(self, token: str) -> None:
        """Log out: the token stops working at once."""
        if not isinstance(token, str) or not token:
            return

        def op(s: Session) -> None:
            row = s.get(SessionRow, _token_hash(token))
            if row is not None:
                s.delete(row)
                self._audit(s, row.user_name, "session.end", "user", row.user_name, None, None)

        self._write(op)

    # -- login throttling ------------------------------------------------------------------

    def login_wait(
        self, name: str, client: str, policy: LoginPolicy = LOGIN_POLICY, now: datetime | None = None
    ) -> LoginWait:
        """How long (``name``, ``client``) must wait before a login is tried (see ``review.logins``)."""
        with self._read() as s:
            return login_wait(s, str(name)[:255], str(client)[:255], policy, now or _now())

    def record_login(
        self, name: str, client: str, ok: bool, policy: LoginPolicy = LOGIN_POLICY, at: datetime | None = None
    ) -> LoginWait:
        """Remember a login attempt; a failure's audit record says how long the next one now waits."""
        name, client = str(name)[:255], str(client)[:255]
        when = at or _now()

        def op(s: Session) -> LoginWait:
            s.add(LoginAttemptRow(name=name, client=client, ok=bool(ok), at=when))
            s.flush()
            wait = login_wait(s, name, client, policy, when)
            after: dict[str, Any] = {"client": client}
            if not ok:
                after.update(failures=wait.failures, delay_s=wait.wait_s)
            self._audit(s, name[:64], "login.ok" if ok else "login.failed", "user", name[:200], None, after)
            return wait

        return self._write(op)

    def clear_login_failures(self, name: str, client: str | None = None, *, actor: str) -> int:
        """Forget an account's failed logins (from one client, or all): a lead lifts the delay.

        The attempts are throttling state, not history: the audit keeps every ``login.failed``
        and records this clearing. Returns how many failures were forgotten.
        """

        def op(s: Session) -> int:
            self._lead(s, actor, "clear failed logins")
            which = [LoginAttemptRow.ok.is_(False), LoginAttemptRow.name == name]
            if client is not None:
                which.append(LoginAttemptRow.client == client)
            n = int(s.scalar(select(func.count()).select_from(LoginAttemptRow).where(*which)) or 0)
            s.execute(delete(LoginAttemptRow).where(*which))
            self._audit(s, actor, "login.clear", "user", name, {"failures": n}, {"client": client or "any"})
            return n

        return self._write(op)

    # -- verdicts --------------------------------------------------------------------------

    @staticmethod
    def _state_dict(row: IncidentStateRow | None) -> dict[str, Any] | None:
        if row is None:
            return None
        return {"status": row.status, "verdict": row.verdict, "reason": row.reason, "assignee": row.assignee}

    def set_verdict(
        self,
        incident_id: str,
        verdict: str,
        *,
        actor: str,
        reason: str = "",
        alerts: Sequence[tuple[str, str]] = (),
    ) -> IncidentState:
        """Record a person's verdict on an incident and the alerts it covered; closes it unless needs_info.

        ``alerts`` are the (alert id, detector id) pairs of the incident at review time, so
        the labels stay right even when a later grouping run splits or merges incidents.
        """
        _check_id("incident id", incident_id)
        if verdict not in VERDICTS:
            raise ValidationError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
        reason = _check_text("reason", reason or "").strip()
        if verdict in REASON_REQUIRED and not reason:
            raise ValidationError(f"a {verdict.replace('_', ' ')} verdict needs a reason")
        pairs: dict[str, str] = {}
        for pair in alerts:
            if len(pair) != 2:
                raise ValidationError(f"alerts must be (alert id, detector id) pairs, got {pair!r}")
            a, d = pair
            pairs[_check_id("alert id", a)] = _check_id("detector id", d)
        status = "open" if verdict == "needs_info" else "closed"

        def op(s: Session) -> IncidentState:
            self._actor(s, actor)
            now = _now()
            row = s.get(IncidentStateRow, incident_id)
            before = self._state_dict(row)
            if row is None:
                row = IncidentStateRow(incident_id=incident_id, assignee=None)
                s.add(row)
            row.status, row.verdict, row.reason, row.updated_at = status, verdict, reason, now
            v = VerdictRow(incident_id=incident_id, verdict=verdict, reason=reason, actor=actor, at=now)
            s.add(v)
            s.flush()
            s.add_all(VerdictAlertRow(verdict_id=v.id, alert_id=a, detector_id=d) for a, d in pairs.items())
            after = self._state_dict(row)
            assert after is not None
            after["alerts"] = sorted(pairs)
            self._audit(s, actor, "verdict", "incident", incident_id, before, after)
            return IncidentState(status, verdict, reason, row.assignee, _utc(now))

        return self._write(op)

    def incident_state(self, incident_id: str) -> IncidentState:
        """The current state; an incident nobody has touched is open."""
        with self._read() as s:
            row = s.get(IncidentStateRow, incident_id) if isinstance(incident_id, str) else None
            return OPEN if row is None else self._state(row)

    @staticmethod
    def _state(row: IncidentStateRow) -> IncidentState:
        return IncidentState(row.status, row.verdict, row.reason, row.assignee, _utc(row.updated_at))

    def states(self) -> dict[str, IncidentState]:
        """Every incident someone has touched; absent ones are open."""
        with self._read() as s:
            return {r.incident_id: self._state(r) for r in s.scalars(select(IncidentStateRow))}

    def verdict_history(self, incident_id: str) -> list[tuple[str, str, str, datetime]]:
        """(verdict, reason, actor, at) for an incident, oldest first."""
        with self._read() as s:
            rows = s.scalars(
                select(VerdictRow).where(VerdictRow.incident_id == incident_id).order_by(VerdictRow.id)
            )
            return [(r.verdict, r.reason, r.actor, r.at.replace(tzinfo=UTC)) for r in rows]

    def assign(self, incident_id: str, assignee: str | None, *, actor: str) -> IncidentState:
        """Give an incident to an analyst (a known user), or take it back with None."""
        _check_id("incident id", incident_id)

        def op(s: Session) -> IncidentState:
            self._actor(s, actor)
            if assignee is not None and s.get(UserRow, assignee) is None:
                raise ValidationError(f"cannot assign to unknown user {assignee!r}")
            row = s.get(IncidentStateRow, incident_id)
            before = self._state_dict(row)
            if row is None:
                row = IncidentStateRow(incident_id=incident_id, status="open", verdict=None, reason="")
                s.add(row)
            row.assignee, row.updated_at = assignee, _now()
            self._audit(s, actor, "assign", "incident", incident_id, before, self._state_dict(row))
            return self._state(row)

        return self._write(op)

    def comment(self, incident_id: str, text: str, *, actor: str) -> Comment:
        """Add a note to an incident; stored as written and shown escaped."""
        _check_id("incident id", incident_id)
        body = _check_text("comment", text)
        if not body.strip():
            raise ValidationError("a comment cannot be empty")

        def op(s: Session) -> Comment:
            self._actor(s, actor)
            row = CommentRow(incident_id=incident_id, actor=actor, text=body, at=_now())
            s.add(row)
            s.flush()
            self._audit(
                s, actor, "comment", "incident", incident_id, None, {"comment_id": row.id, "text": body}
            )
            return Comment(row.id, incident_id, actor, body, row.at.replace(tzinfo=UTC))

        return self._write(op)

    def comments(self, incident_id: str) -> list[Comment]:
        """An incident's comments, oldest first."""
        with self._read() as s:
            rows = s.scalars(
                select(CommentRow).where(CommentRow.incident_id == incident_id).order_by(CommentRow.id)
            )
            return [Comment(r.id, r.incident_id, r.actor, r.text, r.at.replace(tzinfo=UTC)) for r in rows]

    # -- labels and precision --------------------------------------------------------------

    def _latest_alert_verdicts(self) -> dict[str, tuple[str, str]]:
        """alert id -> (detector id, verdict) from the latest verdict that covered the alert."""
        with self._read() as s:
            rows = s.execute(
                select(VerdictAlertRow.alert_id, VerdictAlertRow.detector_id, VerdictRow.verdict)
                .join(VerdictRow, VerdictRow.id == VerdictAlertRow.verdict_id)
                .order_by(VerdictRow.id)
            ).all()
        latest: dict[str, tuple[str, str]] = {}
        for alert_id, detector_id, verdict in rows:
            latest[alert_id] = (detector_id, verdict)
        return latest

    def alert_labels(self) -> dict[str, bool | None]:
        """alert id -> True (right), False (false positive) or None (needs info), from the latest verdict."""
        return {a: VERDICT_LABELS[v] for a, (_, v) in self._latest_alert_verdicts().items()}

    def detector_verdicts(self) -> dict[str, VerdictCounts]:
        """Per detector, how many of its alerts are under each verdict (one count per alert)."""
        counts: dict[str, dict[str, int]] = {}
        for detector_id, verdict in self._latest_alert_verdicts().values():
            c = counts.setdefault(detector_id, dict.fromkeys(VERDICTS, 0))
            c[verdict] += 1
        return {
            d: VerdictCounts(
                c["true_positive"], c["false_positive"], c["benign_true_positive"], c["needs_info"]
            )
            for d, c in sorted(counts.items())
        }

    def detector_precision(self, detector_id: str) -> PrecisionEstimate:
        """(TP + BTP) / (TP + BTP + FP) over the detector's reviewed alerts, with a 95% Wilson interval."""
        rate = self.detector_verdicts().get(detector_id, VerdictCounts()).precision
        ci = rate.interval
        return PrecisionEstimate(rate.value, ci[0] if ci else None, ci[1] if ci else None, rate.n)

    # -- detector settings (lead only) -----------------------------------------------------

    @staticmethod
    def _setting_dict(row: DetectorSettingRow | None) -> dict[str, Any] | None:
        return None if row is None else {"threshold": row.threshold, "owner": row.owner}

    def _set_detector(self, detector_id: str, actor: str, action: str, **values: Any) -> DetectorSettings:
        _check_id("detector id", detector_id)

        def op(s: Session) -> DetectorSettings:
            self._lead(s, actor, "change a detector's threshold or owner")
            row = s.get(DetectorSettingRow, detector_id)
            before = self._setting_dict(row)
            if row is None:
                row = DetectorSettingRow(detector_id=detector_id, threshold=None, owner=None)
                s.add(row)
            for k, v in values.items():
                setattr(row, k, v)
            self._audit(s, actor, action, "detector", detector_id, before, self._setting_dict(row))
            return DetectorSettings(row.threshold, row.owner)

        return self._write(op)

    def set_threshold(self, detector_id: str, value: float | None, *, actor: str) -> DetectorSettings:
        """Set (or clear with None) a detector's ``min_score``; ``detect``/``scan`` apply it."""
        v = None if value is None else _check_fraction("threshold", value)
        return self._set_detector(detector_id, actor, "threshold", threshold=v)

    def set_owner(self, detector_id: str, owner: str | None, *, actor: str) -> DetectorSettings:
        """Name who answers for a detector (or clear with None)."""
        o = None if owner is None else _check_id("owner", owner)
        return self._set_detector(detector_id, actor, "owner", owner=o)

    def detector_settings(self) -> dict[str, DetectorSettings]:
        with self._read() as s:
            return {
                r.detector_id: DetectorSettings(r.threshold, r.owner)
                for r in s.scalars(select(DetectorSettingRow).order_by(DetectorSettingRow.detector_id))
            }

    def set_precision_floor(self, value: float | None, *, actor: str) -> None:
        """The precision from verdicts below which ``evaluate`` flags a detector (None: no floor)."""
        v = None if value is None else _check_fraction("precision floor", value)

        def op(s: Session) -> None:
            self._lead(s, actor, "set the precision floor")
            row = s.get(SettingRow, _PRECISION_FLOOR)
            before = None if row is None else {"value": float(row.value)}
            if v is None:
                if row is not None:
                    s.delete(row)
            elif row is None:
                s.add(SettingRow(key=_PRECISION_FLOOR, value=repr(v)))
            else:
                row.value = repr(v)
            after = None if v is None else {"value": v}
            self._audit(s, actor, "precision_floor", "setting", _PRECISION_FLOOR, before, after)

        self._write(op)

    def precision_floor(self) -> float | None:
        with self._read() as s:
            row = s.get(SettingRow, _PRECISION_FLOOR)
            return None if row is None else float(row.value)

    # -- audit -----------------------------------------------------------------------------

    def audit(self, object_id: str | None = None, limit: int | None = None) -> list[AuditRecord]:
        """Audit records, newest first; only ever appended (no method updates or deletes them)."""
        q = select(AuditRow).order_by(AuditRow.id.desc())
        if object_id is not None:
            q = q.where(AuditRow.object_id == object_id)
        if limit is not None:
            q = q.limit(max(int(limit), 0))
        with self._read() as s:
            return [
                AuditRecord(
                    r.id,
                    r.at.replace(tzinfo=UTC),
                    r.actor,
                    r.action,
                    r.object_type,
                    r.object_id,
                    _load(r.before),
                    _load(r.after),
                    r.via,
                )
                for r in s.scalars(q)
            ]

    def integrity_check(self) -> list[str]:
        """Problems the database reports about itself (SQLite ``PRAGMA integrity_check``); empty when sound."""
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                rows = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
                fk = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                problems = [] if rows == ["ok"] else rows
                return problems + [f"foreign key: {tuple(r)}" for r in fk]
            # PostgreSQL: every verdict has its alerts' parent and every table reads back.
            orphans = conn.execute(
                text(
                    "SELECT count(*) FROM verdict_alerts va LEFT JOIN verdicts v ON v.id = va.verdict_id WHERE v.id IS NULL"
                )
            ).scalar_one()
            return [] if orphans == 0 else [f"{orphans} verdict_alerts without a verdict"]
