"""Security suite: hostile log text stays data; CSRF, sessions, roles and login throttling hold.

The hostile workspace (see ``webdata``) holds an event whose user, host and address fields
are ``<script>``, ``"><img onerror=...>`` and a SQL fragment; it became an alert and an
incident, so every page that lists incidents shows it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from web_fixtures import ANALYST, FAST_HASHER, LEAD, Site, csrf_of
from webdata import HOSTILE, IMG, SCRIPT, SQL

from bluebench.events.workspace import DB_NAME
from bluebench.incidents import load_incidents
from bluebench.review import ReviewStore
from bluebench.web import create_app
from bluebench.web.security import CSP

HX = {"HX-Request": "true", "HX-Target": "queue-rows"}  # what htmx sends for the queue's swaps


def _hostile_incident(site: Site) -> str:
    con = duckdb.connect(str(site.workspace / DB_NAME), read_only=True)
    try:
        return next(i.id for i in load_incidents(con, entity=SCRIPT))
    finally:
        con.close()


def test_hostile_text_is_escaped_on_every_page(site: Site) -> None:
    site.login(*ANALYST)
    inc = _hostile_incident(site)
    pages = {
        "queue": site.client.get("/"),
        "queue rows": site.client.get("/", params={"entity": SCRIPT}, headers=HX),
        "incident": site.client.get(f"/incidents/{inc}"),
        "detector": site.client.get("/detectors/brute_force"),
        "search": site.client.get("/search", params={"q": SCRIPT}),
    }
    for name, r in pages.items():
        assert r.status_code == 200, name
        html = r.text
        for text in HOSTILE:
            assert text not in html, f"{name}: raw {text!r}"
        if name != "queue rows":
            assert html.count("<script") == 1, name
    incident = pages["incident"].text
    for text in (SCRIPT, IMG, SQL):
        assert str(escape(text)) in incident, f"the incident page shows {text!r} as text"
    assert "event.original" in incident
    assert pages["search"].text.count('class="search-event"') == 12


def test_sql_fragment_searched_as_text(site: Site) -> None:
    site.login(*ANALYST)
    con = duckdb.connect(str(site.workspace / DB_NAME), read_only=True)
    try:
        before = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    finally:
        con.close()
    for q in (SQL, "%", "_", "\\", "'; SELECT * FROM alerts; --", '"', "é\u0000x"):
        r = site.client.get("/search", params={"q": q})
        assert r.status_code == 200, q
    hits = site.client.get("/search", params={"q": SQL})
    assert hits.text.count('class="search-event"') == 12, "the fragment matches the events holding it"
    # as a LIKE pattern this would match every event; escaped, it matches its own text only
    assert site.client.get("/search", params={"q": "%_%_%_%"}).text.count('class="search-event"') == 0
    con = duckdb.connect(str(site.workspace / DB_NAME), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] == before
    finally:
        con.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=60))
def test_any_search_text_is_echoed_escaped(site: Site, q: str) -> None:
    if not site.client.cookies.get("bb_session"):
        site.login(*ANALYST)
    r = site.client.get("/search", params={"q": q})
    assert r.status_code in (200, 422)
    if r.status_code == 200 and q.strip() and "\x00" not in q:
        assert str(escape(q)) in r.text or str(escape(q.strip())) in r.text or "\r" in q


def test_posts_without_csrf_token_are_refused(site: Site) -> None:
    csrf = site.login(*LEAD)
    inc = _hostile_incident(site)
    posts = {
        f"/incidents/{inc}/verdict": {"verdict": "true_positive"},
        f"/incidents/{inc}/assign": {"assignee": LEAD[0]},
        f"/incidents/{inc}/comment": {"text": "hi"},
        "/detectors/brute_force/threshold": {"threshold": "0.5"},
        "/detectors/brute_force/owner": {"owner": "x"},
        "/logout": {},
    }
    for url, data in posts.items():
        assert site.client.post(url, data=data).status_code == 403, url
        wrong = site.client.post(url, data={**data, "csrf_token": csrf[:-2] + "00"})
        assert wrong.status_code == 403, url
    # the header htmx sends works as well as the form field
    ok = site.client.post(
        f"/incidents/{inc}/comment", data={"text": "via header"}, headers={"X-CSRF-Token": csrf}
    )
    assert ok.status_code == 200 and "via header" in ok.text
    assert site.store.incident_state(inc).status == "open"
    assert site.store.detector_settings().get("brute_force") is None


def test_csrf_token_is_tied_to_the_session(site: Site) -> None:
    first = site.login(*ANALYST)
    site.client.cookies.clear()
    second = site.login(*ANALYST)
    assert first != second
    inc = _hostile_incident(site)
    r = site.client.post(f"/incidents/{inc}/comment", data={"text": "x", "csrf_token": first})
    assert r.status_code == 403


def test_login_form_needs_its_token(site: Site) -> None:
    r = site.client.post("/login", data={"name": ANALYST[0], "password": ANALYST[1]})
    assert r.status_code == 403
    assert site.client.cookies.get("bb_session") is None


def test_no_session_redirects_pages_and_refuses_the_rest(site: Site) -> None:
    inc = _hostile_incident(site)
    for url in (
        "/",
        f"/incidents/{inc}",
        "/detectors/brute_force",
        "/metrics",
        "/search?q=x",
        "/charts/pr.png",
    ):
        r = site.client.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), url
    assert site.client.get("/", headers={"HX-Request": "true"}).status_code == 401
    assert site.client.post(f"/incidents/{inc}/verdict", data={"verdict": "true_positive"}).status_code == 401
    site.client.cookies.set("bb_session", "forged-token")
    assert site.client.get("/", follow_redirects=False).status_code == 303


def test_analyst_cannot_change_threshold_or_owner(site: Site) -> None:
    csrf = site.login(*ANALYST)
    page = site.client.get("/detectors/brute_force")
    assert "Set threshold" not in page.text
    r = site.client.post("/detectors/brute_force/threshold", data={"threshold": "0.9", "csrf_token": csrf})
    assert r.status_code == 403
    r = site.client.post("/detectors/brute_force/owner", data={"owner": "me", "csrf_token": csrf})
    assert r.status_code == 403
    assert site.store.detector_settings().get("brute_force") is None


def test_repeated_bad_logins_are_throttled(site: Site) -> None:
    def attempt(password: str) -> int:
        token = csrf_of(site.client.get("/login").text)
        data = {"name": ANALYST[0], "password": password, "csrf_token": token}
        return site.client.post("/login", data=data, follow_redirects=False).status_code

    codes = [attempt("wrong-password") for _ in range(5)]
    assert codes == [401] * 5
    assert attempt("wrong-password") == 429
    assert attempt(ANALYST[1]) == 429, "even the right password waits out the delay from this address"
    assert site.client.cookies.get("bb_session") is None


def test_security_headers_on_every_response(site: Site) -> None:
    anonymous = [site.client.get("/login"), site.client.get("/static/htmx.min.js"), site.client.get("/nope")]
    site.login(*ANALYST)
    inc = _hostile_incident(site)
    pages = [
        site.client.get(u)
        for u in (
            "/",
            f"/incidents/{inc}",
            "/detectors/brute_force",
            "/metrics",
            "/search?q=a",
            "/charts/pr.png",
        )
    ]
    for r in anonymous + pages:
        assert r.headers["content-security-policy"] == CSP, r.url
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP


def test_session_cookie_flags(site: Site) -> None:
    token = csrf_of(site.client.get("/login").text)
    r = site.client.post(
        "/login",
        data={"name": ANALYST[0], "password": ANALYST[1], "csrf_token": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/", "no open redirect"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("bb_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain http test server, no --secure-cookies


@pytest.mark.parametrize(("base", "flag"), [("https://testserver", False), ("http://testserver", True)])
def test_secure_cookies_over_https_or_when_asked(
    web_workspace: Path, tmp_path: Path, base: str, flag: bool
) -> None:
    store = ReviewStore(f"sqlite:///{tmp_path / 'r.db'}", hasher=FAST_HASHER)
    store.add_user(*ANALYST, "analyst")
    app = create_app(web_workspace, store=store, secure_cookies=flag)
    with TestClient(app, base_url=base) as client:
        page = client.get("/login")
        login_cookie = next(c for c in page.headers.get_list("set-cookie") if c.startswith("bb_login="))
        assert "Secure" in login_cookie
        if base.startswith("https"):
            data = {"name": ANALYST[0], "password": ANALYST[1], "csrf_token": csrf_of(page.text)}
            r = client.post("/login", data=data, follow_redirects=False)
            cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("bb_session="))
            assert "Secure" in cookie and "HttpOnly" in cookie
    app.state.con.close()
    store.close()
