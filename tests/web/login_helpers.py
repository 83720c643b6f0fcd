"""What the login tests share: two addresses, a client from one of them, and a login attempt."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_fixtures import csrf_of

ATTACKER = ("203.0.113.9", 40000)
OWNER = ("10.0.0.5", 50000)


def client(app: FastAPI, address: tuple[str, int]) -> TestClient:
    """A browser at ``address`` (the address the server sees the connection come from)."""
    return TestClient(app, client=address)


def attempt(c: TestClient, name: str, password: str, headers: dict[str, str] | None = None) -> Any:
    """One login through the form, with its token; the response is not followed."""
    token = csrf_of(c.get("/login").text)
    data = {"name": name, "password": password, "csrf_token": token}
    return c.post("/login", data=data, headers=headers or {}, follow_redirects=False)
