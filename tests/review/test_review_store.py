"""The review store's contract, run unchanged on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from bluebench.errors import BluebenchError
from bluebench.evaluation.metrics import wilson
from bluebench.review import (
    ROLES,
    VERDICT_LABELS,
    VERDICTS,
    LoginPolicy,
    PermissionDenied,
    ReviewStore,
    ValidationError,
)

ALERTS = [("a1", "brute_force"), ("a2", "brute_force"), ("a3", "password_spray")]
HEAD = "0003"

# The store fixtures (SQLite and PostgreSQL), shared without a second conftest module.


def test_migrates_to_head_and_reopens(store_url: str) -> None:
    with ReviewStore(store_url) as s:
        assert s.schema_revision() == HEAD
        s.add_user("lena", "lead-password", "lead")
    with ReviewStore(store_url) as s:  # a second open migrates nothing and keeps the data
        assert s.schema_revision() == HEAD
        assert s.users()[0].name == "lena"


def test_a_store_of_the_first_release_gains_the_audit_channel(store_url: str) -> None:
    """A database at revision 0001 keeps its audit when opened; new records say how the actor was known."""
    from alembic import command
    from alembic.config import Config

    with ReviewStore(store_url) as s:
        s.add_user("lena", "lead-password", "lead")
        cfg = Config()
        cfg.set_main_option("script_location", "bluebench.review:migrations")
        with s.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")
        assert s.schema_revision() == "0001"
    with ReviewStore(store_url, via="cli (test)") as s:
        assert s.schema_revision() == HEAD
        s.set_threshold("brute_force", 0.5, actor="lena")
        old, new = s.audit()[-1], s.audit()[0]
        assert (old.action, old.via) == ("user.add", None)
        assert (new.action, new.via) == ("threshold", "cli (test)")


def test_errors_are_bluebench_errors() -> None:
    assert issubclass(PermissionDenied, BluebenchError)
    assert issubclass(ValidationError, BluebenchError)
    assert VERDICTS == ("true_positive", "false_positive", "benign_true_positive", "needs_info")
    assert ROLES == ("analyst", "lead")
    assert VERDICT_LABELS == {
        "true_positive": True,
        "false_positive": False,
        "benign_true_positive": True,
        "needs_info": None,
    }


def test_users_passwords_are_argon2id_hashes(store: ReviewStore) -> None:
    u = store.add_user("ann", "correct horse", "analyst")
    assert (u.name, u.role) == ("ann", "analyst")
    assert store.authenticate("ann", "correct horse") == u
    assert store.authenticate("ann", "wrong horse") is None
    assert store.authenticate("nobody", "correct horse") is None
    with store.engine.connect() as c:
        stored = c.execute(sa.text("SELECT password_hash FROM users")).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert store.get_user("ann") == u and store.get_user("nobody") is None


@pytest.mark.parametrize(
    ("name", "password", "role"),
    [
        ("ann", "short", "analyst"),
        ("ann", "long enough", "admin"),
        ("", "long enough", "analyst"),
        ("<script>", "long enough", "analyst"),
        ("x" * 65, "long enough", "analyst"),
    ],
)
def test_bad_users_are_refused(store: ReviewStore, name: str, password: str, role: str) -> None:
    with pytest.raises(ValidationError):
        store.add_user(name, password, role)
    assert store.users() == [] and store.audit() == []


def test_duplicate_user_is_refused_and_not_audited(store: ReviewStore) -> None:
    store.add_user("ann", "long enough", "analyst")
    with pytest.raises(ValidationError, match="already exists"):
        store.add_user("ann", "other password", "lead")
    assert [r.action for r in store.audit()] == ["user.add"]
    assert store.get_user("ann") is not None and store.get_user("ann").role == "analyst"  # type: ignore[union-attr]


def test_sessions_store_only_a_hash_and_end(people: ReviewStore) -> None:
    token = people.create_session("ann")
    assert people.session_user(token) == people.get_user("ann")
    with people.engine.connect() as c:
        hashes = c.execute(sa.text("SELECT token_hash FROM sessions")).scalars().all()
    assert token not in hashes and len(hashes) == 1
    people.end_session(token)
    assert people.session_user(token) is None
    assert people.session_user("not-a-token") is None
    assert people.session_user("") is None


def test_expired_session_is_refused(people: ReviewStore) -> None:
    token = people.create_session("ann", ttl_s=0)
    assert people.session_user(token) is None


def test_session_for_unknown_user_is_refused(store: ReviewStore) -> None:
    with pytest.raises(PermissionDenied):
        store.create_session("ghost")


def test_login_failures_count_per_account_and_client(people: ReviewStore) -> None:
    for _ in range(3):
        people.record_login("ann", "10.0.0.1", ok=False)
    people.record_login("bob", "10.0.0.9", ok=False)
    assert people.login_wait("ann", "10.0.0.1").failures == 3
    assert people.login_wait("ann", "10.0.0.2").failures == 0  # the owner elsewhere is not touched
    assert people.login_wait("eve", "10.0.0.1").client_failures == 3  # one address, any name
    assert people.login_wait("bob", "10.0.0.9").failures == 1
    assert people.login_wait("ann", "10.0.0.1", LoginPolicy(window_s=0)).failures == 0
    people.record_login("ann", "10.0.0.1", ok=True)
    assert people.login_wait("ann", "10.0.0.1").failures == 0  # a success clears the pair's count
    assert [r.action for r in people.audit(limit=2)] == ["login.ok", "login.failed"]


def test_login_delay_doubles_per_failure_up_to_its_cap(people: ReviewStore) -> None:
    """Past the free failures each one doubles the wait; the owner's own address never waits."""
    policy = LoginPolicy(free=3, base_s=10.0, max_s=60.0)
    t0 = datetime(2026, 1, 1, 12, 0, 0)
    waits = []
    for i in range(7):
        at = t0 + timedelta(minutes=i)
        waits.append(people.record_login("lena", "203.0.113.9", ok=False, policy=policy, at=at).wait_s)
    assert waits == [0.0, 0.0, 10.0, 20.0, 40.0, 60.0, 60.0]
    last = t0 + timedelta(minutes=6)
    assert people.login_wait("lena", "203.0.113.9", policy, now=last + timedelta(seconds=59)).wait_s == 1.0
    assert not people.login_wait("lena", "203.0.113.9", policy, now=last + timedelta(seconds=60)).delayed
    assert not people.login_wait("lena", "10.0.0.5", policy, now=last).delayed, "the owner is not locked out"
    failed = people.audit(limit=1)[0]
    assert failed.action == "login.failed"
    assert failed.after == {"client": "203.0.113.9", "failures": 7, "delay_s": 60.0}


def test_a_lead_clears_failed_logins_and_the_audit_says_so(people: ReviewStore) -> None:
    policy = LoginPolicy(free=2, base_s=600.0)
    for _ in range(4):
        people.record_login("ann", "203.0.113.9", ok=False, policy=policy)
    assert people.login_wait("ann", "203.0.113.9", policy).delayed
    with pytest.raises(PermissionDenied):
        people.clear_login_failures("ann", actor="ann")
    assert people.clear_login_failures("ann", "203.0.113.9", actor="lena") == 4
    assert not people.login_wait("ann", "203.0.113.9", policy).delayed
    cleared = people.audit(limit=1)[0]
    assert (cleared.actor, cleared.action, cleared.object_id) == ("lena", "login.clear", "ann")
    assert (cleared.before, cleared.after) == ({"failures": 4}, {"client": "203.0.113.9"})
    assert sum(r.action == "login.failed" for r in people.audit("ann")) == 4, "history stays"


@pytest.mark.parametrize("verdict", ["false_positive", "benign_true_positive"])
def test_dismissal_needs_a_reason(people: ReviewStore, verdict: str) -> None:
    for reason in ("", "   "):
        with pytest.raises(ValidationError, match="needs a reason"):
            people.set_verdict("inc-1", verdict, actor="ann", reason=reason, alerts=ALERTS)
    assert people.incident_state("inc-1").status == "open"
    assert people.audit("inc-1") == []


def test_true_positive_and_needs_info_need_no_reason(people: ReviewStore) -> None:
    st = people.set_verdict("inc-1", "needs_info", actor="ann", alerts=ALERTS)
    assert (st.status, st.verdict) == ("open", "needs_info")
    st = people.set_verdict("inc-1", "true_positive", actor="ann", alerts=ALERTS)
    assert (st.status, st.verdict) == ("closed", "true_positive")
    assert people.incident_state("inc-1") == st


def test_unknown_verdict_and_actor_are_refused(people: ReviewStore) -> None:
    with pytest.raises(ValidationError):
        people.set_verdict("inc-1", "dismissed", actor="ann", reason="x")
    with pytest.raises(PermissionDenied):
        people.set_verdict("inc-1", "true_positive", actor="ghost")
    with pytest.raises(ValidationError):
        people.set_verdict("", "true_positive", actor="ann")


def test_untouched_incident_is_open(store: ReviewStore) -> None:
    st = store.incident_state("inc-never")
    assert (st.status, st.verdict, st.assignee, st.updated_at) == ("open", None, None, None)
    assert store.states() == {}


def test_verdict_is_audited_with_before_and_after(people: ReviewStore) -> None:
    people.set_verdict("inc-1", "needs_info", actor="ann", alerts=ALERTS)
    people.set_verdict("inc-1", "false_positive", actor="lena", reason="backup job", alerts=ALERTS)
    last, first = people.audit("inc-1")
    assert (first.actor, first.action, first.before) == ("ann", "verdict", None)
    assert first.after is not None and first.after["verdict"] == "needs_info"
    assert (last.actor, last.object_type, last.object_id) == ("lena", "incident", "inc-1")
    assert last.before is not None and last.before["verdict"] == "needs_info"
    assert last.after is not None and last.after["reason"] == "backup job"
    assert last.after["alerts"] == ["a1", "a2", "a3"]
    assert last.at.tzinfo is not None and last.at >= first.at
    assert [v[0] for v in people.verdict_history("inc-1")] == ["needs_info", "false_positive"]


def test_labels_and_precision_follow_the_latest_verdict(people: ReviewStore) -> None:
    people.set_verdict("inc-1", "false_positive", actor="ann", reason="scanner", alerts=ALERTS[:2])
    people.set_verdict("inc-2", "true_positive", actor="ann", alerts=[("a3", "password_spray")])
    people.set_verdict(
        "inc-3", "benign_true_positive", actor="ann", reason="pentest", alerts=[("a4", "brute_force")]
    )
    people.set_verdict("inc-4", "needs_info", actor="ann", alerts=[("a5", "brute_force")])
    assert people.alert_labels() == {"a1": False, "a2": False, "a3": True, "a4": True, "a5": None}
    counts = people.detector_verdicts()["brute_force"]
    assert (counts.tp, counts.fp, counts.btp, counts.needs_info) == (0, 2, 1, 1)
    est = people.detector_precision("brute_force")
    assert est.n == 3 and est.value == pytest.approx(1 / 3)
    assert (est.low, est.high) == pytest.approx(wilson(1, 3))
    # A reviewer changes their mind: the latest verdict wins, one count per alert.
    people.set_verdict("inc-1", "true_positive", actor="lena", alerts=ALERTS[:2])
    assert people.alert_labels()["a1"] is True
    assert people.detector_precision("brute_force").value == pytest.approx(1.0)
    none = people.detector_precision("never_reviewed")
    assert (none.value, none.low, none.high, none.n) == (None, None, None, 0)


def test_only_a_lead_changes_thresholds_owners_and_the_floor(people: ReviewStore) -> None:
    with pytest.raises(PermissionDenied):
        people.set_threshold("brute_force", 0.8, actor="ann")
    with pytest.raises(PermissionDenied):
        people.set_owner("brute_force", "ann", actor="ann")
    with pytest.raises(PermissionDenied):
        people.set_precision_floor(0.5, actor="ann")
    with pytest.raises(PermissionDenied):
        people.set_threshold("brute_force", 0.8, actor="ghost")
    assert people.detector_settings() == {} and people.precision_floor() is None
    assert people.audit("brute_force") == []
    people.set_threshold("brute_force", 0.8, actor="lena")
    people.set_owner("brute_force", "ann", actor="lena")
    people.set_precision_floor(0.6, actor="lena")
    s = people.detector_settings()["brute_force"]
    assert (s.threshold, s.owner) == (0.8, "ann")
    assert people.precision_floor() == 0.6
    owner, threshold = people.audit("brute_force")
    assert threshold.before is None and threshold.after == {"threshold": 0.8, "owner": None}
    assert owner.before == {"threshold": 0.8, "owner": None}
    assert owner.after == {"threshold": 0.8, "owner": "ann"}
    people.set_threshold("brute_force", None, actor="lena")
    assert people.detector_settings()["brute_force"].threshold is None


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), "high"])
def test_thresholds_must_be_scores(people: ReviewStore, value: object) -> None:
    with pytest.raises(ValidationError):
        people.set_threshold("brute_force", value, actor="lena")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        people.set_precision_floor(value, actor="lena")  # type: ignore[arg-type]


def test_assign_and_comment(people: ReviewStore) -> None:
    st = people.assign("inc-1", "ann", actor="lena")
    assert (st.status, st.assignee) == ("open", "ann")
    with pytest.raises(ValidationError):
        people.assign("inc-1", "ghost", actor="lena")
    text = "<script>alert(1)</script> \"><img onerror=x> '; DROP TABLE audit; --"
    c = people.comment("inc-1", text, actor="ann")
    assert people.comments("inc-1") == [c] and c.text == text
    with pytest.raises(ValidationError):
        people.comment("inc-1", "  ", actor="ann")
    people.set_verdict("inc-1", "true_positive", actor="ann")
    assert people.incident_state("inc-1").assignee == "ann"  # a verdict keeps the assignee
    assert [r.action for r in people.audit("inc-1")] == ["verdict", "comment", "assign"]
    assert people.states()["inc-1"].verdict == "true_positive"


def test_audit_has_no_update_or_delete_api(store: ReviewStore) -> None:
    names = [n for n in dir(store) if not n.startswith("_")]
    assert not [n for n in names if any(w in n for w in ("delete", "remove", "purge", "truncate", "edit"))]


@pytest.mark.parametrize("table", ["audit", "verdicts", "verdict_alerts"])
def test_database_refuses_to_rewrite_history(people: ReviewStore, table: str) -> None:
    people.set_verdict("inc-1", "false_positive", actor="ann", reason="noise", alerts=ALERTS)
    before = len(people.audit())
    for sql in (f"UPDATE {table} SET " + ("actor = 'x'" if table != "verdict_alerts" else "detector_id = 'x'"),
                f"DELETE FROM {table}"):  # fmt: skip
        with pytest.raises(DBAPIError, match="append-only"), people.engine.begin() as c:
            c.execute(sa.text(sql))
    assert len(people.audit()) == before
    assert people.alert_labels()["a1"] is False


def test_audit_filters_and_limits(people: ReviewStore) -> None:
    for i in range(5):
        people.comment(f"inc-{i % 2}", f"note {i}", actor="ann")
    assert len(people.audit("inc-0")) == 3
    newest = people.audit(limit=2)
    assert [r.after["text"] for r in newest if r.after] == ["note 4", "note 3"]


def test_integrity_check_is_clean(people: ReviewStore) -> None:
    people.set_verdict("inc-1", "true_positive", actor="ann", alerts=ALERTS)
    assert people.integrity_check() == []


def test_for_workspace_defaults_to_sqlite_in_the_workspace(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("BLUEBENCH_DB", raising=False)
    with ReviewStore.for_workspace(tmp_path / "ws") as s:
        assert s.dialect == "sqlite"
    assert (tmp_path / "ws" / "review.db").exists()


def test_bad_urls_say_what_is_wrong(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BluebenchError, match="unsupported database"):
        ReviewStore("mysql://u:secret@h/db")
    with pytest.raises(BluebenchError) as info:
        ReviewStore("postgresql://u:secret@127.0.0.1:1/db?connect_timeout=2")
    assert "secret" not in str(info.value)
