"""Helpers shared by the Mirakl, Shopify and Supercycle emulators.

- :class:`FaultInjection` wraps any ASGI app and makes it misbehave on purpose (HTTP 500,
  latency, hangs far beyond any client timeout) so retry paths get exercised.
- :class:`SlidingWindowLimiter` counts calls per key in a sliding window and says how long
  to wait when a call is over the limit (the ``Retry-After`` of a 429).

Both take an injectable clock / random seed so tests are deterministic.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class FaultInjection:
    """ASGI middleware injecting errors, latency and timeouts into HTTP requests.

    ``error_rate`` of requests get a 500 with a JSON ``{"status": 500, "message": ...}`` body
    without reaching the app; ``timeout_rate`` of requests sleep ``timeout_seconds`` (far beyond
    any sane client timeout) before being served; every request waits ``latency_ms`` first.
    Draws come from a ``random.Random(seed)`` so a run can be replayed; ``sleep`` is injectable.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        error_rate: float = 0.0,
        latency_ms: float = 0.0,
        timeout_rate: float = 0.0,
        timeout_seconds: float = 3600.0,
        seed: int | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        for name, rate in (("error_rate", error_rate), ("timeout_rate", timeout_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        self.app = app
        self.error_rate = error_rate
        self.latency_ms = latency_ms
        self.timeout_rate = timeout_rate
        self.timeout_seconds = timeout_seconds
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._sleep = sleep

    def _draw(self) -> tuple[bool, bool]:
        with self._lock:
            return (
                self._random.random() < self.error_rate,
                self._random.random() < self.timeout_rate,
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fail, hang = self._draw()
        if self.latency_ms > 0:
            await self._sleep(self.latency_ms / 1000.0)
        if hang:
            await self._sleep(self.timeout_seconds)
        if fail:
            body = json.dumps({"status": 500, "message": "Injected fault: internal error"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


class SlidingWindowLimiter:
    """At most ``limit`` calls per ``period`` seconds per key, over a sliding window.

    :meth:`acquire` records the call and returns 0 when it is allowed; otherwise it records
    nothing and returns the seconds until the oldest call in the window leaves it.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, limit: int, period: float) -> float:
        """Take one call of ``key``; return the seconds to wait (0 when allowed)."""
        if period <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            calls = self._calls.setdefault(key, deque())
            while calls and calls[0] <= now - period:
                calls.popleft()
            if len(calls) >= limit:
                return max(calls[len(calls) - limit] + period - now, 0.001)
            calls.append(now)
            return 0.0

    def check_all(self, key: str, budgets: list[tuple[int, float]]) -> float:
        """Take one call against several windows at once (all or none); return the wait."""
        now = self._clock()
        with self._lock:
            waits: list[float] = []
            for limit, period in budgets:
                if period <= 0:
                    continue
                calls = self._calls.setdefault(f"{key}/{limit}/{period:g}", deque())
                while calls and calls[0] <= now - period:
                    calls.popleft()
                if len(calls) >= limit:
                    waits.append(max(calls[len(calls) - limit] + period - now, 0.001))
            if waits:
                return max(waits)
            for limit, period in budgets:
                if period > 0:
                    self._calls[f"{key}/{limit}/{period:g}"].append(now)
            return 0.0

    def reset(self) -> None:
        """Forget every call (e.g. between sandbox scenarios)."""
        with self._lock:
            self._calls.clear()
