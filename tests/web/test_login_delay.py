"""Security suite, logins: a guesser's own address waits, exponentially, and a lead can lift it.

The delay is per account and client (``review.logins``); these tests use a delay longer
than any test, so no assertion depends on the machine's speed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from login_helpers import ATTACKER, OWNER, attempt, client
from typer.testing import CliRunner
from web_fixtures import ANALYST, FAST_HASHER, LEAD

from bluebench.cli import app as cli
from bluebench.review import LoginPolicy, ReviewStore
from bluebench.web import create_app

SLOW = LoginPolicy(free=5, base_s=600.0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ReviewStore]:
    s = ReviewStore(f"sqlite:///{tmp_path / 'review.db'}", hasher=FAST_HASHER)
    s.add_user(*LEAD, "lead")
    s.add_user(*ANALYST, "analyst")
    yield s
    s.close()


def test_a_guesser_waits_and_the_owner_elsewhere_does_not(web_workspace: Path, store: ReviewStore) -> None:
    app = create_app(web_workspace, store=store, login_policy=SLOW)
    with client(app, ATTACKER) as bad, client(app, OWNER) as owner:
        assert [attempt(bad, LEAD[0], "wrong-password").status_code for _ in range(5)] == [401] * 5
        refused = attempt(bad, LEAD[0], LEAD[1])
        assert refused.status_code == 429, "the guesser's address waits, right password or not"
        assert 0 < int(refused.headers["retry-after"]) <= 600
        assert "try again in" in refused.text
        assert attempt(owner, LEAD[0], LEAD[1]).status_code == 303, "the lead still gets in from elsewhere"
    restarted = create_app(web_workspace, store=store, login_policy=SLOW)
    with client(restarted, ATTACKER) as bad, client(restarted, OWNER) as owner:
        assert attempt(bad, LEAD[0], LEAD[1]).status_code == 429, "the delay outlives a restart ..."
        assert attempt(owner, LEAD[0], LEAD[1]).status_code == 303, "... and still spares the owner"
    failed = [r for r in store.audit(LEAD[0]) if r.action == "login.failed"]
    assert failed[0].after == {"client": ATTACKER[0], "failures": 5, "delay_s": 600.0}


def test_spraying_names_from_one_address_is_delayed_too(web_workspace: Path, store: ReviewStore) -> None:
    app = create_app(web_workspace, store=store, login_policy=SLOW)
    with client(app, ATTACKER) as bad:
        codes = [attempt(bad, f"user{i}", "wrong-password").status_code for i in range(SLOW.free_client + 1)]
        assert codes == [401] * SLOW.free_client + [429]
    with client(app, OWNER) as owner:
        assert attempt(owner, ANALYST[0], ANALYST[1]).status_code == 303


def test_a_lead_lifts_the_delay_and_an_analyst_cannot(
    web_workspace: Path, store: ReviewStore, tmp_path: Path
) -> None:
    app = create_app(web_workspace, store=store, login_policy=SLOW)
    with client(app, ATTACKER) as c:
        for _ in range(5):
            attempt(c, ANALYST[0], "wrong-password")
        assert attempt(c, ANALYST[0], ANALYST[1]).status_code == 429
        url = ["--db", f"sqlite:///{tmp_path / 'review.db'}"]
        denied = CliRunner().invoke(cli, ["users", "unlock", ANALYST[0], "--as", ANALYST[0], *url])
        assert denied.exit_code == 2 and "only a lead" in denied.output
        done = CliRunner().invoke(
            cli, ["users", "unlock", ANALYST[0], "--client", ATTACKER[0], "--as", LEAD[0], *url]
        )
        assert done.exit_code == 0, done.output
        assert "5 failed logins" in done.output
        assert attempt(c, ANALYST[0], ANALYST[1]).status_code == 303
    cleared = next(r for r in store.audit(ANALYST[0]) if r.action == "login.clear")
    assert cleared.actor == LEAD[0] and cleared.before == {"failures": 5}
    assert cleared.via is not None and "not verified" in cleared.via, "the audit says --as proved nothing"
