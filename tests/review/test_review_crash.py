"""Killing a process in the middle of writing verdicts loses nothing committed and corrupts nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import sqlalchemy as sa

from bluebench.review import ReviewStore

WRITER = textwrap.dedent(
    """
    import sys
    from bluebench.review import ReviewStore

    store = ReviewStore(sys.argv[1])
    i = 0
    while True:
        store.set_verdict(
            f"inc-{i}", "false_positive", actor="ann", reason=f"noise {i}",
            alerts=[(f"a{i}-{k}", "brute_force") for k in range(5)],
        )
        store.comment(f"inc-{i}", f"closed {i}", actor="ann")
        print(i, flush=True)  # reported only after both writes committed
        i += 1
    """
)

# The store fixtures (SQLite and PostgreSQL), shared without a second conftest module.


def test_sigkill_mid_verdict_loses_nothing_committed(store_url: str) -> None:
    with ReviewStore(store_url) as s:
        s.add_user("ann", "analyst-password", "analyst")
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, store_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    reported: list[int] = []
    deadline = time.monotonic() + 120
    while len(reported) < 25 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        reported.append(int(line))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(reported) >= 25, proc.stderr.read() if proc.stderr else ""

    with ReviewStore(store_url) as s:
        assert s.integrity_check() == []
        states = s.states()
        for i in reported:
            st = states[f"inc-{i}"]
            assert (st.status, st.verdict, st.reason) == ("closed", "false_positive", f"noise {i}")
            assert [c.text for c in s.comments(f"inc-{i}")] == [f"closed {i}"]
        # Whatever was committed, reported or not, came with its audit record and its alerts.
        with s.engine.connect() as c:
            verdicts = c.execute(sa.text("SELECT incident_id FROM verdicts")).scalars().all()
            alerts = c.execute(sa.text("SELECT count(*) FROM verdict_alerts")).scalar_one()
        audited = {r.object_id for r in s.audit() if r.action == "verdict"}
        assert set(verdicts) == audited == set(states)
        assert len(verdicts) >= len(reported) and alerts == 5 * len(verdicts)
        labels = s.alert_labels()
        assert len(labels) == alerts and not any(labels.values())
        # The store opens and takes writes again.
        s.set_verdict("inc-after", "true_positive", actor="ann", alerts=[("z", "brute_force")])
        assert s.incident_state("inc-after").status == "closed"
        assert s.integrity_check() == []
