"""How long a login must wait after failures: per account and client, growing exponentially.

A hard block after N failures lets anyone lock a lead out by typing wrong passwords for
the lead's name. Here failures are counted for one account *from one client* (since that
pair's last success), so a guesser slows down only itself: past ``free`` failures each
next attempt waits twice as long, up to ``max_s``. Failures from one client over *all*
accounts (spraying) are counted too, with a larger allowance. The client is the address
the server saw, which is a forwarded one only behind a proxy the user named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bluebench.review.models import LoginAttemptRow


@dataclass(frozen=True)
class LoginPolicy:
    """When failed logins start to cost time, and how much."""

    free: int = 5  # failures of one account from one client before the first delay
    free_client: int = 20  # failures from one client, any account, before the first delay
    base_s: float = 1.0  # the first delay; every further failure doubles it ...
    max_s: float = 900.0  # ... up to this
    window_s: int = 86_400  # failures older than this are forgotten

    def delay(self, failures: int, free: int) -> float:
        """Seconds the next attempt waits after the last of ``failures``: 0 below ``free``."""
        if failures < free:
            return 0.0
        return float(min(self.max_s, self.base_s * 2 ** min(failures - free, 64)))


@dataclass(frozen=True)
class LoginWait:
    """Where one account and client stand: failures counted and seconds before the next try."""

    failures: int  # this account from this client
    client_failures: int  # this client, any account
    wait_s: float  # 0 when an attempt is heard now

    @property
    def delayed(self) -> bool:
        return self.wait_s > 0


def login_wait(s: Session, name: str, client: str, policy: LoginPolicy, now: datetime) -> LoginWait:
    """The failures that count for (``name``, ``client``) at ``now`` and the wait they impose."""
    since = now - timedelta(seconds=policy.window_s)
    last_ok = s.scalar(
        select(func.max(LoginAttemptRow.at)).where(
            LoginAttemptRow.ok.is_(True), LoginAttemptRow.name == name, LoginAttemptRow.client == client
        )
    )
    pair_from = max(since, last_ok) if last_ok is not None else since
    pair_n, pair_last = s.execute(
        select(func.count(), func.max(LoginAttemptRow.at)).where(
            LoginAttemptRow.ok.is_(False),
            LoginAttemptRow.name == name,
            LoginAttemptRow.client == client,
            LoginAttemptRow.at > pair_from,
        )
    ).one()
    client_n, client_last = s.execute(
        select(func.count(), func.max(LoginAttemptRow.at)).where(
            LoginAttemptRow.ok.is_(False), LoginAttemptRow.client == client, LoginAttemptRow.at > since
        )
    ).one()
    wait = 0.0
    for n, last, free in ((pair_n, pair_last, policy.free), (client_n, client_last, policy.free_client)):
        if n and last is not None:
            wait = max(wait, policy.delay(int(n), free) - (now - last).total_seconds())
    return LoginWait(int(pair_n or 0), int(client_n or 0), round(max(wait, 0.0), 3))
