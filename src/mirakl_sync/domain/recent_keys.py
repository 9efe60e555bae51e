"""A bounded memory of keys seen lately (webhook event ids): the oldest are forgotten
first, and none is kept longer than its time to live, so it never grows without bound."""

from __future__ import annotations

from collections import OrderedDict


class RecentKeys:
    """Keys seen within ``ttl_seconds``, at most ``max_keys`` of them (oldest dropped)."""

    def __init__(self, *, max_keys: int, ttl_seconds: float) -> None:
        if max_keys <= 0 or ttl_seconds <= 0:
            raise ValueError("max_keys and ttl_seconds must be positive")
        self._max = max_keys
        self._ttl = ttl_seconds
        self._seen: OrderedDict[str, float] = OrderedDict()

    def seen(self, key: str, now: float) -> bool:
        """Whether ``key`` was seen lately; remembers it from ``now`` if not."""
        self._forget(now)
        if key in self._seen:
            return True
        self._seen[key] = now
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return False

    def __len__(self) -> int:
        return len(self._seen)

    def _forget(self, now: float) -> None:
        while self._seen:
            key, at = next(iter(self._seen.items()))
            if now - at < self._ttl:
                return
            del self._seen[key]
