"""A small in-process rate limiter for login and token endpoints.

Fixed windows per key (client address, username, token). Each server process counts on its own, so
with N workers an attacker gets at most N times the limit; the per-account lock-out in the
database is what bounds password guessing across processes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    limit: int
    window_seconds: float
    _hits: dict[str, tuple[float, int]] = field(default_factory=dict)

    def allow(self, key: str) -> bool:
        """Count one attempt for ``key``; False once it is over the limit in the current window."""
        now = time.monotonic()
        start, count = self._hits.get(key, (now, 0))
        if now - start >= self.window_seconds:
            start, count = now, 0
        count += 1
        if len(self._hits) > 50_000:
            self._hits.clear()
        self._hits[key] = (start, count)
        return count <= self.limit

    def blocked(self, key: str) -> bool:
        """Whether ``key`` has used up its attempts in the current window (without counting one)."""
        return self.remaining(key) <= 0

    def remaining(self, key: str) -> int:
        """Attempts ``key`` has left in the current window."""
        start, count = self._hits.get(key, (0.0, 0))
        if count and time.monotonic() - start >= self.window_seconds:
            count = 0
        return max(0, self.limit - count)

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)
