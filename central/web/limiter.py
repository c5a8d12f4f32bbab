"""Sign-in attempt limits, per user name and per client address.

A pure core: every call takes ``now`` (seconds, monotonic) and the caller owns
the clock. Failed attempts are kept in a sliding window; a success clears the
user's count but not the address's (one address guessing many users is the
attack the address limit is for). State lives in memory: a restart forgets it,
and several central processes each keep their own, which multiplies the limit
by the number of processes and is documented as such (docs/web.md).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class _Window:
    limit: int
    period_s: float
    failures: dict[str, deque[float]] = field(default_factory=dict)

    def _trim(self, key: str, now: float) -> deque[float]:
        times = self.failures.setdefault(key, deque())
        while times and times[0] <= now - self.period_s:
            times.popleft()
        if not times:
            del self.failures[key]
            return deque()
        return times

    def retry_after(self, key: str, now: float) -> float:
        times = self._trim(key, now)
        if len(times) < self.limit:
            return 0.0
        return times[-self.limit] + self.period_s - now

    def fail(self, key: str, now: float) -> None:
        self._trim(key, now)
        self.failures.setdefault(key, deque()).append(now)


class AttemptLimiter:
    """Refuses sign-in attempts after too many failures.

    :param int per_user: failures allowed per user name within ``period_s``.
    :param int per_address: failures allowed per client address within ``period_s``.
    :param float period_s: the sliding window, in seconds.
    """

    def __init__(self, per_user: int = 5, per_address: int = 20, period_s: float = 900.0) -> None:
        self._users = _Window(per_user, period_s)
        self._addresses = _Window(per_address, period_s)

    def retry_after(self, user: str, address: str, now: float) -> float:
        """Seconds until an attempt is allowed again; 0 when it is allowed now."""
        return max(
            self._users.retry_after(user.lower(), now),
            self._addresses.retry_after(address, now),
        )

    def failed(self, user: str, address: str, now: float) -> None:
        """Count one failed attempt against both the user name and the address."""
        self._users.fail(user.lower(), now)
        self._addresses.fail(address, now)

    def succeeded(self, user: str) -> None:
        """Forget the user's failures after a correct password."""
        self._users.failures.pop(user.lower(), None)
