"""incidents, incident, review, assign, comment, users, settings and audit: triage from the terminal.

Thin: each command opens the workspace and the review store, calls one function and
renders. The review store is SQLite in the workspace unless ``--db URL`` or
``$BLUEBENCH_DB`` names PostgreSQL. The CLI acts as the user named by ``--as`` (default
``$BLUEBENCH_USER``, else the login name), which must be a registered user. It asks no
password: whoever can run it can already write the database file, so a password would
prove nothing. It is therefore a claim, not an identity, and every audit record it writes
says so ("cli (--as is not verified; os user ...)"); the web UI checks a
password. ``docs/security.md`` says what that means for a shared workspace.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.padding import Padding
from rich.table import Table

from bluebench.cli.app import DbOpt, JsonOpt, WorkspaceOpt, app, out, show
from bluebench.cli.render import bullet, table, wide
from bluebench.errors import ConfigError
from bluebench.schema import ROLES, VERDICTS

# The workspace (DuckDB) and the review store (SQLAlchemy, argon2) load in the commands that
# open them, not on every start of the CLI.
if TYPE_CHECKING:
    from bluebench.incidents import Incident
    from bluebench.review import IncidentState, ReviewStore

AsOpt = Annotated[
    str | None,
    typer.Option("--as", help="Act as this registered user (default $BLUEBENCH_USER, else your login name)."),
]
STATUS_STYLE = {"open": "yellow", "closed": "dim"}


def ws_dir(workspace: str | None) -> Path:
    """The workspace folder, chosen as ``workspace_from_env`` chooses it, without opening DuckDB."""
    from bluebench.events.workspace import DEFAULT_WORKSPACE

    return Path(workspace or os.environ.get("BLUEBENCH_WORKSPACE", DEFAULT_WORKSPACE))


def open_store(workspace: str | None, db: str | None) -> ReviewStore:
    """The review store, its audit records marked as written by the CLI's unverified ``--as``."""
    from bluebench.review import ReviewStore

    return ReviewStore.for_workspace(ws_dir(workspace), db, via=cli_via())


def cli_via() -> str:
    """How the CLI knows who acts: it does not (``--as`` is a claim); the OS user is what is known."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return f"cli (--as is not verified; os user {who})"[:200]


def verdict_counts(store: ReviewStore) -> dict[str, tuple[int, int]]:
    """Per detector, (alerts reviewers confirmed, alerts they decided on) for evaluation, as plain data."""
    return {d: (c.tp + c.btp, c.tp + c.btp + c.fp) for d, c in store.detector_verdicts().items()}


def acting_user(as_user: str | None) -> str:
    """Who the CLI acts as: --as, then $BLUEBENCH_USER, then the login name."""
    if as_user:
        return as_user
    env = os.environ.get("BLUEBENCH_USER")
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        raise ConfigError("cannot tell who you are: pass --as USER") from None


def _parse_time(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{option}: {text!r} is not an ISO date or time (2024-05-01 or 2024-05-01T10:00)"
        ) from None
    return t.replace(tzinfo=None) if t.tzinfo is None else t.astimezone().replace(tzinfo=None)


def _state_json(st: IncidentState) -> dict[str, object]:
    return {
        "status": st.status,
        "verdict": st.verdict,
        "reason": st.reason,
        "assignee": st.assignee,
        "updated_at": st.updated_at.isoformat() if st.updated_at else None,
    }


@app.command()
def incidents(
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    status: Annotated[str, typer.Option(help="open, closed or all.")] = "open",
    detector: Annotated[str | None, typer.Option(help="Only incidents with this detector's alerts.")] = None,
    technique: Annotated[str | None, typer.Option(help="Only incidents with this ATT&CK technique.")] = None,
    entity: Annotated[
        str | None, typer.Option(help="Only incidents naming this user, host or address.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only incidents active at or after this UTC time.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only incidents active at or before this UTC time.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows in the table (0 = all).")] = 30,
    as_json: JsonOpt = False,
    default_config: Annotated[
        bool,
        typer.Option("--default-config", help="Print the default grouping config (for --grouping) and exit."),
    ] = False,
) -> None:
    """Incidents ranked by risk (0-100, higher = more urgent), with their review status."""
    from bluebench.events.workspace import workspace_from_env
    from bluebench.incidents import default_grouping_text, load_incidents
    from bluebench.review import IncidentState

    if default_config:
        sys.stdout.write(default_grouping_text())
        return
    if status not in ("open", "closed", "all"):
        raise ConfigError(f"--status must be open, closed or all, got {status!r}")
    t0, t1 = _parse_time(since, "--since"), _parse_time(until, "--until")
    with (
        open_store(workspace, db) as store,
        workspace_from_env(workspace, command="incidents", read_only=True) as ws,
    ):
        states = store.states()

        def keep(incident_id: str) -> bool:
            return (
                status == "all"
                or states.get(incident_id, IncidentState("open", None, "", None, None)).status == status
            )

        found = load_incidents(
            ws.con,
            status_filter=keep,
            detector=detector,
            technique=technique,
            entity=entity,
            since=t0,
            until=t1,
            limit=limit or None,
        )
    default = IncidentState("open", None, "", None, None)
    if as_json:
        for inc in found:
            d = inc.to_json()
            d["review"] = _state_json(states.get(inc.id, default))
            sys.stdout.write(json.dumps(d, default=str) + "\n")
        return
    if not found:
        out.print(f"no {'' if status == 'all' else status + ' '}incidents")
        return
    title = f"{len(found)} {'' if status == 'all' else status + ' '}incidents, highest risk first"
    out.print(_incident_table(title, found, states))


def _incident_table(title: str, found: list[Incident], states: dict[str, IncidentState]) -> Table:
    """Incidents one per row; on a narrow terminal the title wraps above its facts, the id beside."""
    from bluebench.review import IncidentState

    default = IncidentState("open", None, "", None, None)
    cols = ("#", "risk", "severity", "status", "title", "alerts", "first seen (UTC)", "id")
    t = table(
        title, *(cols if wide() else ("#", "risk", "incident", "id")), left=("status", "title", "incident")
    )
    for col in t.columns:
        col.no_wrap = col.header in ("#", "risk", "alerts", "id", "first seen (UTC)")
    for i, inc in enumerate(found, 1):
        st = states.get(inc.id, default)
        label = (
            st.status
            + (f" ({st.verdict})" if st.verdict else "")
            + (f" @{st.assignee}" if st.assignee else "")
        )
        status = f"[{STATUS_STYLE.get(st.status, '')}]{show(label)}[/]"
        when = f"{inc.first_seen:%Y-%m-%d %H:%M}"
        if wide():
            t.add_row(
                str(i),
                f"{inc.risk:.0f}",
                inc.severity,
                status,
                show(inc.title),
                str(inc.alert_count),
                when,
                inc.id,
            )
        else:
            facts = f"[dim]{inc.severity} · [/dim]{status}[dim] · {inc.alert_count} alerts · {when} UTC[/dim]"
            t.add_row(str(i), f"{inc.risk:.0f}", f"{show(inc.title)}\n{facts}", inc.id)
    return t


def _incident_or_fail(workspace: str | None, incident_id: str) -> tuple[Incident, list[tuple[str, str]]]:
    """The incident and its (alert id, detector id) pairs, or a clear error."""
    from bluebench.events.workspace import workspace_from_env
    from bluebench.incidents import load_incident

    with workspace_from_env(workspace, command="review", read_only=True) as ws:
        inc = load_incident(ws.con, incident_id)
        if inc is None:
            raise ConfigError(f"no incident {incident_id!r} in this workspace (see `bluebench incidents`)")
        rows = ws.con.execute(
            "SELECT id, detector FROM alerts WHERE list_contains(?, id) ORDER BY first_seen, id",
            [list(inc.alert_ids)],
        ).fetchall()
    return inc, [(str(a), str(d)) for a, d in rows]


@app.command()
def incident(
    incident_id: Annotated[str, typer.Argument(help="Incident id (inc-...).")],
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One incident: risk and its parts, entities, each alert's reasons and evidence, and its history."""
    from bluebench.alerts.store import load_alerts
    from bluebench.events.workspace import workspace_from_env
    from bluebench.incidents import load_incident

    with workspace_from_env(workspace, command="incident", read_only=True) as ws:
        inc = load_incident(ws.con, incident_id)
        if inc is None:
            raise ConfigError(f"no incident {incident_id!r} in this workspace (see `bluebench incidents`)")
        ids = set(inc.alert_ids)
        alerts = sorted((a for a in load_alerts(ws.con) if a.id in ids), key=lambda a: (a.first_seen, a.id))
    with open_store(workspace, db) as store:
        st = store.incident_state(incident_id)
        notes = store.comments(incident_id)
    if as_json:
        d = inc.to_json()
        d["review"] = _state_json(st)
        d["alerts"] = [a.to_json() for a in alerts]
        d["comments"] = [{"actor": c.actor, "text": c.text, "at": c.at.isoformat()} for c in notes]
        sys.stdout.write(json.dumps(d, default=str) + "\n")
        return
    out.print(f"[bold]{show(inc.title)}[/bold]  ({inc.id})")
    parts = ", ".join(f"{k} {v:g}" for k, v in inc.risk_parts.items() if v)
    out.print(f"risk {inc.risk:.1f} = {parts or '0'}; severity {inc.severity}; status {st.status}"
              + (f" ({st.verdict}: {show(st.reason)})" if st.verdict else ""))  # fmt: skip
    out.print(f"{inc.first_seen:%Y-%m-%d %H:%M:%S} to {inc.last_seen:%Y-%m-%d %H:%M:%S} UTC; "
              f"{inc.alert_count} alerts, {inc.event_count} events")  # fmt: skip
    for kind, values in inc.entities.items():
        if values:
            out.print(f"  {kind}: {show(', '.join(values))}")
    out.print(f"  techniques: {show(', '.join(inc.techniques))}; tactics: {show(', '.join(inc.tactics))}")
    for a in alerts:
        out.print(
            f"\n  [bold]{a.first_seen:%Y-%m-%d %H:%M:%S}[/bold] {show(a.title)} ({show(a.detector)}, score {a.score:.2f})"
        )
        for r in a.reasons:
            out.print(Padding(bullet(show(r)), (0, 0, 0, 4)))
        for e in a.evidence[:5]:
            out.print(f"    [dim]{show(e.file)} record {e.record}[/dim]")
        if len(a.evidence) > 5:
            out.print(f"    [dim]... and {len(a.evidence) - 5} more records[/dim]")
    for c in notes:
        out.print(f"\n  [italic]{show(c.actor)} {c.at:%Y-%m-%d %H:%M}[/italic]: {show(c.text, lines=True)}")


@app.command()
def review(
    incident_id: Annotated[str, typer.Argument(help="Incident id (inc-...).")],
    verdict: Annotated[str, typer.Option("--verdict", help=f"One of {', '.join(VERDICTS)}.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why; required for false/benign true positives.")
    ] = "",
    as_user: AsOpt = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
) -> None:
    """Record a verdict on an incident; it labels the incident's alerts for tuning and precision."""
    _, pairs = _incident_or_fail(workspace, incident_id)
    with open_store(workspace, db) as store:
        st = store.set_verdict(incident_id, verdict, actor=acting_user(as_user), reason=reason, alerts=pairs)
    out.print(f"{incident_id}: {st.verdict}, now {st.status} ({len(pairs)} alerts labelled)")


@app.command()
def assign(
    incident_id: Annotated[str, typer.Argument(help="Incident id (inc-...).")],
    assignee: Annotated[str, typer.Argument(help="A registered user, or '-' to unassign.")],
    as_user: AsOpt = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
) -> None:
    """Give an incident to an analyst."""
    _incident_or_fail(workspace, incident_id)
    with open_store(workspace, db) as store:
        st = store.assign(incident_id, None if assignee == "-" else assignee, actor=acting_user(as_user))
    out.print(f"{incident_id}: assigned to {show(st.assignee or 'nobody')}")


@app.command()
def comment(
    incident_id: Annotated[str, typer.Argument(help="Incident id (inc-...).")],
    text: Annotated[str, typer.Argument(help="The note.")],
    as_user: AsOpt = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
) -> None:
    """Add a note to an incident."""
    _incident_or_fail(workspace, incident_id)
    with open_store(workspace, db) as store:
        store.comment(incident_id, text, actor=acting_user(as_user))
    out.print(f"{incident_id}: comment added")


users_app = typer.Typer(help="Local accounts of the review UI and CLI.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")] = "analyst",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
) -> None:
    """Add a user; without --password-stdin a random password is generated and printed once."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        generated = False
    else:
        password = secrets.token_urlsafe(12)
        generated = True
    with open_store(workspace, db) as store:
        u = store.add_user(name, password, role)
    out.print(f"added {show(u.name)} ({u.role})")
    if generated:
        # Printed once, never stored in clear: only its argon2id hash is kept.
        out.print(f"password: {password}", highlight=False)


@users_app.command("unlock")
def users_unlock(
    name: Annotated[str, typer.Argument(help="The account whose failed logins to forget.")],
    client: Annotated[
        str | None, typer.Option("--client", help="Only failures from this address (default: all).")
    ] = None,
    as_user: AsOpt = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
) -> None:
    """Lift the login delay failed passwords put on an account (lead only; audited)."""
    with open_store(workspace, db) as store:
        n = store.clear_login_failures(name, client, actor=acting_user(as_user))
    where = f" from {show(client)}" if client else ""
    out.print(f"{show(name)}: {n} failed logins{where} forgotten; the next login is heard at once")


@users_app.command("list")
def users_list(workspace: WorkspaceOpt = None, db: DbOpt = None) -> None:
    """List users and their roles."""
    with open_store(workspace, db) as store:
        for u in store.users():
            out.print(f"{show(u.name)}\t{u.role}", highlight=False)


settings_app = typer.Typer(help="Detector thresholds, owners and the precision floor (a lead's decisions).",
                           no_args_is_help=True)  # fmt: skip
app.add_typer(settings_app, name="settings")


@settings_app.command("show")
def settings_show(workspace: WorkspaceOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Thresholds and owners set by leads, the precision floor, and each detector's precision from verdicts."""
    with open_store(workspace, db) as store:
        settings = store.detector_settings()
        floor = store.precision_floor()
        counts = store.detector_verdicts()
    names = sorted(set(settings) | set(counts))
    rows = []
    for d in names:
        s = settings.get(d)
        p = counts[d].precision if d in counts else None
        rows.append(
            {
                "detector": d,
                "threshold": s.threshold if s else None,
                "owner": s.owner if s else None,
                "precision_from_verdicts": p.to_json() if p else None,
                "below_floor": bool(
                    floor is not None and p is not None and p.value is not None and p.value < floor
                ),
            }
        )
    if as_json:
        sys.stdout.write(json.dumps({"precision_floor": floor, "detectors": rows}) + "\n")
        return
    out.print(f"precision floor: {'not set' if floor is None else f'{floor:.2f}'}")
    table = Table()
    for col in ("detector", "min_score", "owner", "precision from verdicts", ""):
        table.add_column(col)
    for r in rows:
        pj = r["precision_from_verdicts"]
        ptxt = "n/a"
        if isinstance(pj, dict) and pj["value"] is not None:
            ptxt = f"{pj['value']:.2f} [{pj['ci95'][0]:.2f}-{pj['ci95'][1]:.2f}] ({pj['k']}/{pj['n']})"
        table.add_row(
            str(r["detector"]),
            "-" if r["threshold"] is None else f"{r['threshold']:g}",
            show(str(r["owner"] or "-")),
            ptxt,
            "[red]below floor[/red]" if r["below_floor"] else "",
        )
    out.print(table)


def _known_detector(detector: str) -> None:
    from bluebench.detectors import DETECTORS

    if detector not in DETECTORS:
        raise ConfigError(f"unknown detector {detector!r}; known: {', '.join(DETECTORS.names())}")


@settings_app.command("threshold")
def settings_threshold(
    detector: Annotated[str, typer.Argument(help="Detector id.")],
    value: Annotated[str, typer.Argument(help="min_score 0..1, or 'none' to clear.")],
    as_user: AsOpt = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
) -> None:
    """Set a detector's min_score (lead only); detect and scan apply it."""
    _known_detector(detector)
    try:
        v = None if value.lower() == "none" else float(value)
    except ValueError:
        raise ConfigError(f"threshold must be a number 0..1 or 'none', got {value!r}") from None
    with open_store(workspace, db) as store:
        store.set_threshold(detector, v, actor=acting_user(as_user))
    out.print(f"{detector}: min_score {'cleared' if v is None else v}")


@settings_app.command("owner")
def settings_owner(
    detector: Annotated[str, typer.Argument(help="Detector id.")],
    owner: Annotated[str, typer.Argument(help="Who answers for it, or '-' to clear.")],
    as_user: AsOpt = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
) -> None:
    """Name a detector's owner (lead only)."""
    _known_detector(detector)
    with open_store(workspace, db) as store:
        store.set_owner(detector, None if owner == "-" else owner, actor=acting_user(as_user))
    out.print(f"{detector}: owner {show(owner)}")


@settings_app.command("floor")
def settings_floor(
    value: Annotated[
        str, typer.Argument(help="Precision 0..1 below which evaluate flags a detector, or 'none'.")
    ],
    as_user: AsOpt = None,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
) -> None:
    """Set the precision floor (lead only)."""
    try:
        v = None if value.lower() == "none" else float(value)
    except ValueError:
        raise ConfigError(f"floor must be a number 0..1 or 'none', got {value!r}") from None
    with open_store(workspace, db) as store:
        store.set_precision_floor(v, actor=acting_user(as_user))
    out.print(f"precision floor {'cleared' if v is None else v}")


@app.command()
def audit(
    object_id: Annotated[
        str | None, typer.Argument(help="Only this object (incident id, detector, user).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Newest records to show (0 = all).")] = 50,
    workspace: WorkspaceOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The append-only audit: who changed what, when, before and after (newest first)."""
    with open_store(workspace, db) as store:
        records = store.audit(object_id, limit or None)
    if as_json:
        for r in records:
            sys.stdout.write(
                json.dumps(
                    {
                        "id": r.id,
                        "at": r.at.isoformat(),
                        "actor": r.actor,
                        "action": r.action,
                        "object_type": r.object_type,
                        "object_id": r.object_id,
                        "before": r.before,
                        "after": r.after,
                        "via": r.via,
                    }
                )
                + "\n"
            )
        return
    if not records:
        out.print("no audit records")
        return
    table = Table()
    for col in ("at (UTC)", "actor", "action", "object", "before", "after", "via"):
        table.add_column(col, overflow="fold")
    for r in records:
        table.add_row(
            f"{r.at:%Y-%m-%d %H:%M:%S}",
            show(r.actor),
            r.action,
            show(r.object),
            show(json.dumps(r.before)) if r.before is not None else "",
            show(json.dumps(r.after)) if r.after is not None else "",
            show(r.via or ""),
        )
    out.print(table)
