"""serve: the review web UI over a workspace, on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bluebench.cli.app import WorkspaceOpt, app, err, out, show
from bluebench.errors import ConfigError

if TYPE_CHECKING:
    from bluebench.review import ReviewStore

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def demo_lead(store: ReviewStore) -> tuple[str, str]:
    """A new lead account with a random password shown once (its hash is all that is stored)."""
    name = "lead"
    while store.get_user(name) is not None:  # an earlier demo's account: never reuse its password
        name = f"lead-{secrets.token_hex(2)}"
    password = secrets.token_urlsafe(12)
    store.add_user(name, password, "lead", actor="serve --demo")
    return name, password


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command("serve")
def serve_cmd(
    workspace: WorkspaceOpt = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Review database URL (default: review.db in the workspace, or $BLUEBENCH_DB)."
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but loopback exposes the UI.")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
    secure_cookies: Annotated[
        bool, typer.Option("--secure-cookies", help="Mark cookies Secure (behind a TLS-terminating proxy).")
    ] = False,
    mail_evaluation: Annotated[
        Path | None,
        typer.Option(
            "--mail-evaluation", help="JSON of `bluebench mail evaluate --out` for the metrics page."
        ),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="Create a lead account with a one-time random password and print it."),
    ] = False,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help="Proxies (comma-separated addresses or networks) whose X-Forwarded-For to trust; "
            "default none: the client is the address that connected.",
        ),
    ] = None,
) -> None:
    """Serve the review UI: the incident queue, incidents, detectors, metrics and search."""
    import uvicorn

    from bluebench.events.workspace import DB_NAME, DEFAULT_WORKSPACE
    from bluebench.review import ReviewStore
    from bluebench.web import create_app

    if not 0 < port < 65536:
        raise ConfigError(f"--port must be 1-65535, got {port}")
    if mail_evaluation is not None and not mail_evaluation.is_file():
        raise ConfigError(f"--mail-evaluation {mail_evaluation}: no such file")
    folder = Path(workspace or os.environ.get("BLUEBENCH_WORKSPACE", DEFAULT_WORKSPACE))
    if not (folder / DB_NAME).is_file():
        raise ConfigError(
            f"{folder}: no bluebench workspace here (run `bluebench scan PATH -w {folder}` first)"
        )
    proxies = _proxies(forwarded_allow_ips)
    store = ReviewStore.for_workspace(folder, db, via="web")
    web = create_app(folder, db, mail_evaluation=mail_evaluation, secure_cookies=secure_cookies, store=store)
    shown = f"[{host}]" if ":" in host else host
    out.print(f"bluebench review UI: http://{show(shown)}:{port}/")
    out.print(f"workspace: {show(str(folder))}")
    out.print(f"review store: {show(store.display_url)}")
    if demo:
        name, password = demo_lead(store)
        out.print(
            f"log in as [bold]{show(name)}[/bold] with the one-time password [bold]{show(password)}[/bold]"
        )
    elif not store.users():
        err.print("[yellow]no accounts yet:[/yellow] add one with `bluebench users add NAME --role lead`")
    if not _is_loopback(host) and not secure_cookies:
        err.print(
            "[yellow]warning:[/yellow] listening beyond this machine without TLS; put it behind an "
            "https proxy and pass --secure-cookies"
        )
    try:
        # Forwarded headers rewrite the client address the login throttle counts by, so they
        # are honoured only from proxies the user named (uvicorn's default trusts loopback).
        uvicorn.run(
            web,
            host=host,
            port=port,
            log_level="info",
            server_header=False,
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None,
        )
    finally:
        web.state.workspace_lock.release()


def _proxies(text: str | None) -> list[str]:
    """The trusted proxies, each checked to be an address or network, so a typo fails loudly."""
    found = [p.strip() for p in (text or "").split(",") if p.strip()]
    for p in found:
        try:
            ipaddress.ip_network(p, strict=False)
        except ValueError:
            raise ConfigError(f"--forwarded-allow-ips: {p!r} is not an IP address or network") from None
    return found
