"""End to end in headless Chromium: the real server, a person's review, and hostile text that stays text.

Debian's ``/usr/bin/chromium`` is driven by Playwright through its executable path (never a
downloaded browser). Without it the tests skip, unless ``BLUEBENCH_REQUIRE_BROWSER=1`` (CI)
makes that a failure. Screenshots of the queue and an incident page go to ``out/screenshots/``.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from web_fixtures import FAST_HASHER, LEAD
from webdata import IMG, SCRIPT, SQL

from bluebench.review import ReviewStore
from bluebench.web import create_app

CHROMIUM = Path(os.environ.get("BLUEBENCH_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"


def _need_browser() -> Any:
    """Playwright's sync API, or a skip (a failure when the browser is required)."""
    required = os.environ.get("BLUEBENCH_REQUIRE_BROWSER") == "1"
    why = ""
    if not CHROMIUM.exists():
        why = f"{CHROMIUM} not found (apt-get install -y chromium)"
    try:
        from playwright import sync_api
    except ImportError:
        why = why or "the playwright package is not installed (pip install -e '.[dev]')"
    if why:
        if required:
            pytest.fail(f"BLUEBENCH_REQUIRE_BROWSER=1 but {why}")
        pytest.skip(why)
    return sync_api


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    store: ReviewStore


@pytest.fixture
def server(web_workspace: Path, tmp_path: Path) -> Iterator[Server]:
    """The real app under uvicorn on a free loopback port, in a thread."""
    store = ReviewStore(f"sqlite:///{tmp_path / 'review.db'}", hasher=FAST_HASHER)
    store.add_user(*LEAD, "lead")
    app = create_app(web_workspace, store=store)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}", store)
    srv.should_exit = True
    thread.join(timeout=10)
    app.state.con.close()
    store.close()


@dataclass
class Watch:
    """What a page did that it should not: dialogs opened, CSP violations, script errors."""

    dialogs: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[tuple[Any, Watch]]:
    sync_api = _need_browser()
    watch = Watch()
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        page = context.new_page()

        def on_dialog(d: Any) -> None:
            watch.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", on_dialog)
        page.on(
            "console", lambda m: watch.console.append(f"{m.type}: {m.text}") if m.type == "error" else None
        )
        page.on("pageerror", lambda e: watch.console.append(f"pageerror: {e}"))
        try:
            yield page, watch
        finally:
            context.close()


def _login(page: Any, url: str) -> None:
    page.goto(url + "/")
    assert "/login" in page.url, "no session: the queue redirects to the login page"
    page.fill("input[name=name]", LEAD[0])
    page.fill("input[name=password]", LEAD[1])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_selector("table.queue")


def test_review_top_incident_changes_detector_precision(
    server: Server, browser_page: tuple[Any, Watch]
) -> None:
    page, watch = browser_page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _login(page, server.url)
    assert page.locator("#status-counts").inner_text().startswith("open:")
    page.screenshot(path=str(SCREENSHOTS / "queue.png"), full_page=True)

    # open the top incident: its reasons and its evidence are on the page
    top = page.locator("a.incident-link").first
    title = top.inner_text()
    top.click()
    page.wait_for_selector("#incident-title")
    assert page.locator("#incident-title").inner_text() == title
    assert page.locator("ul.reasons li").count() >= 1
    assert page.locator("ul.reasons li").first.inner_text().strip()
    assert page.locator("ul.evidence li").count() >= 1
    assert re.search(r"record \d+", page.locator("ul.evidence li").first.inner_text())
    page.locator("details summary").first.click()
    assert page.locator("pre.raw").first.inner_text().strip(), "the raw evidence record is shown"
    page.screenshot(path=str(SCREENSHOTS / "incident.png"), full_page=True)
    incident_url = page.url
    detector = page.locator("article.alert p.meta a").first.inner_text()

    # the detector's precision from verdicts before any verdict
    page.goto(f"{server.url}/detectors/{detector}")
    before = page.locator("#precision").inner_text()
    assert before.startswith("n/a")

    # a dismissal without a reason is refused; with a reason it closes the incident
    page.goto(incident_url)
    page.click("button.verdict-false_positive")
    page.wait_for_selector("#review-error")
    page.fill("form.verdict textarea[name=reason]", "backup job runs as this account every night")
    page.click("button.verdict-false_positive")
    page.wait_for_selector("#incident-status")
    status = page.locator("#incident-status").inner_text()
    assert "closed" in status and "False positive" in status and "backup job" in status

    page.goto(f"{server.url}/detectors/{detector}")
    after = page.locator("#precision").inner_text()
    assert after != before
    assert after.startswith("0.0%") and "95% interval" in after
    assert server.store.detector_precision(detector).n >= 1

    # the closed incident left the open queue
    page.goto(server.url + "/")
    assert title not in [t.inner_text() for t in page.locator("a.incident-link").all()]
    assert watch.dialogs == []
    assert watch.console == [], "the pages run under the CSP without a violation or error"


def test_hostile_text_never_runs_in_the_browser(server: Server, browser_page: tuple[Any, Watch]) -> None:
    page, watch = browser_page
    _login(page, server.url)
    # the queue filter goes through htmx (partial reload with the CSRF header on body)
    page.fill("input[name=entity]", SCRIPT)
    page.locator("input[name=entity]").press("Enter")
    # (no wait_for_function: evaluating a string is exactly what the page's CSP forbids)
    _need_browser().expect(page.locator("a.incident-link")).to_have_count(1)
    page.locator("a.incident-link").first.click()
    page.wait_for_selector("#incident-title")
    for details in page.locator("details summary").all():
        details.click()
    text = page.locator("main").inner_text()
    for hostile in (SCRIPT, IMG, SQL):
        assert hostile in text, f"{hostile!r} is shown as text"
    assert page.locator("script").count() == 1, "only the vendored htmx script"
    assert page.locator("img[src=x]").count() == 0
    assert page.locator("main img").count() == 0
    # searched through the search box: shown, not executed, nothing broken
    page.fill("header input[name=q]", SQL)
    page.locator("header input[name=q]").press("Enter")
    page.wait_for_selector("#search-query")
    assert page.locator("#search-query").inner_text() == SQL
    assert page.locator("tr.search-event").count() == 12
    page.goto(server.url + "/search?q=" + SCRIPT)
    assert page.locator("script").count() == 1
    time.sleep(0.3)  # give an injected handler (onerror) its chance to fire
    assert watch.dialogs == []
    assert watch.console == []
