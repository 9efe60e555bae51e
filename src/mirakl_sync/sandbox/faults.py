"""Helpers shared by the Mirakl, Shopify and Supercycle emulators.

- :class:`FaultInjection` wraps any ASGI app and makes it misbehave on purpose (HTTP 500,
  latency, hangs far beyond any client timeout, and *lost replies*: a write that lands
  but whose answer the client never gets) so retry and idempotency paths get exercised.
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
from dataclasses import dataclass
from typing import Any, Literal

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


#: Methods whose requests change something (a POST to a GraphQL endpoint is a write only
#: when its document is a mutation; see :func:`is_write`).
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_write(method: str, path: str, body: bytes) -> bool:
    """Whether a request changes state: PUT/PATCH/DELETE, and POST except a GraphQL query.

    A GraphQL document (a POST to ``.../graphql.json``) is a write when its first
    operation is a ``mutation``; a ``query`` or the ``{ ... }`` shorthand is a read.
    """
    if method not in WRITE_METHODS:
        return False
    if not path.endswith("graphql.json"):
        return True
    try:
        document = json.loads(body).get("query", "")
    except (ValueError, AttributeError):
        return False  # not a GraphQL request the app can run: nothing lands
    if not isinstance(document, str):
        return False
    # Skip comments and blank lines before the first keyword.
    for line in document.splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            return text.startswith("mutation")
    return False


@dataclass(frozen=True)
class InjectedFault:
    """One request :class:`FaultInjection` made misbehave (a hang is logged as it starts;
    the request then reaches the app anyway, long after its client gave up)."""

    at: float
    method: str
    path: str
    kind: Literal["error", "hang", "lost_reply"]
    #: The request's query string (OR11 by ``order_ids`` is not a pull).
    query: str = ""


#: How many :class:`InjectedFault` records a :class:`FaultInjection` keeps (the newest).
FAULT_LOG_SIZE = 200_000


class FaultInjection:
    """ASGI middleware injecting errors, latency, timeouts and lost replies into HTTP requests.

    ``error_rate`` of requests get a 500 with a JSON ``{"status": 500, "message": ...}`` body
    without reaching the app; ``timeout_rate`` of requests sleep ``timeout_seconds`` (far beyond
    any sane client timeout) before being served; every request waits ``latency_ms`` first.
    ``lost_reply_rate`` of the writes that get through (see :func:`is_write`) are served by the
    app, so their effect lands, and then answered with a 500 instead of the app's answer: the
    client cannot tell it from a write that failed, and a retry must not apply it twice.
    Draws come from a ``random.Random(seed)`` so a run can be replayed (a lost reply is drawn
    only when its rate is above 0, so existing seeds keep their sequences); ``sleep`` is
    injectable. :meth:`set_rates` changes the rates while serving (a soak's drain turns faults
    off); ``lost_replies`` counts the answers lost so far, and ``fault_log`` holds the
    latest faults (:class:`InjectedFault`, stamped by ``clock``) so a soak can tell a slow
    hub from a request that was made to fail.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        error_rate: float = 0.0,
        latency_ms: float = 0.0,
        timeout_rate: float = 0.0,
        timeout_seconds: float = 3600.0,
        lost_reply_rate: float = 0.0,
        seed: int | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.app = app
        self.error_rate = 0.0
        self.timeout_rate = 0.0
        self.lost_reply_rate = 0.0
        self.set_rates(
            error_rate=error_rate, timeout_rate=timeout_rate, lost_reply_rate=lost_reply_rate
        )
        self.latency_ms = latency_ms
        self.timeout_seconds = timeout_seconds
        self.lost_replies = 0
        self.fault_log: deque[InjectedFault] = deque(maxlen=FAULT_LOG_SIZE)
        self._clock = clock
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._sleep = sleep

    def set_rates(
        self,
        *,
        error_rate: float | None = None,
        timeout_rate: float | None = None,
        lost_reply_rate: float | None = None,
    ) -> None:
        """Change the fault rates (None keeps one); requests already hanging keep hanging."""
        rates = {
            "error_rate": self.error_rate if error_rate is None else error_rate,
            "timeout_rate": self.timeout_rate if timeout_rate is None else timeout_rate,
            "lost_reply_rate": self.lost_reply_rate if lost_reply_rate is None else lost_reply_rate,
        }
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        self.error_rate = rates["error_rate"]
        self.timeout_rate = rates["timeout_rate"]
        self.lost_reply_rate = rates["lost_reply_rate"]

    def _draw(self) -> tuple[bool, bool]:
        with self._lock:
            return (
                self._random.random() < self.error_rate,
                self._random.random() < self.timeout_rate,
            )

    def _draw_lost(self) -> bool:
        if self.lost_reply_rate <= 0:
            return False
        with self._lock:
            return self._random.random() < self.lost_reply_rate

    def _note(self, scope: Scope, kind: Literal["error", "hang", "lost_reply"]) -> None:
        if self._clock is not None:
            method, path = str(scope.get("method", "")), str(scope.get("path", ""))
            query = bytes(scope.get("query_string", b"")).decode("latin-1")
            self.fault_log.append(InjectedFault(self._clock(), method, path, kind, query))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fail, hang = self._draw()
        if self.latency_ms > 0:
            await self._sleep(self.latency_ms / 1000.0)
        if hang:
            self._note(scope, "hang")
            await self._sleep(self.timeout_seconds)
        if fail:
            self._note(scope, "error")
            await _send_500(send, "Injected fault: internal error")
            return
        if self.lost_reply_rate <= 0:
            await self.app(scope, receive, send)
            return
        # Read the whole body first: whether this is a write depends on it (GraphQL).
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; let the app see the same
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        lost = is_write(scope.get("method", "GET"), scope.get("path", ""), body) and (
            self._draw_lost()
        )
        if not lost:
            await self.app(scope, replay, send)
            return

        async def swallow(message: Message) -> None:
            return None  # the app's real answer never reaches the client

        await self.app(scope, replay, swallow)
        with self._lock:
            self.lost_replies += 1
        self._note(scope, "lost_reply")
        await _send_500(send, "Injected fault: the write landed, its reply was lost")


async def _send_500(send: Send, message: str) -> None:
    body = json.dumps({"status": 500, "message": message}).encode()
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
