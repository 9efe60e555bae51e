"""Per-key request limits of the emulator: at most N requests in any 60-second window."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable


class SlidingWindowLimit:
    """Counts accepted requests per key over the last ``period`` seconds (clock injected).

    Supercycle does not document how it counts; a sliding window is the strictest
    reading of "N requests per minute", so a client that passes here passes there.
    """

    def __init__(self, limit: int | None, clock: Callable[[], float], period: float = 60.0) -> None:
        self.limit = limit
        self.period = period
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> int | None:
        """Record a request for ``key``; return None, or whole seconds to wait if over."""
        if self.limit is None:
            return None
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.period:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(1, math.ceil(hits[0] + self.period - now))
        hits.append(now)
        return None

    def reset(self) -> None:
        self._hits.clear()
