"""The drain gate (the one :data:`_GATE` of the process), which counts the engine
operations in flight and holds new ones once a drain began, and :class:`DrainReport`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from dbos import DBOS

R = TypeVar("R")
P = ParamSpec("P")


class _Gate:
    """Counts the engine operations in flight (steps, sleeps, enqueues, starts) and, once
    closed by :meth:`Engine.drain`, keeps new ones from starting.

    A thread that reaches a closed gate parks there for good: the process is about to
    exit, its workflow stays PENDING at its last checkpoint and the next process resumes
    it. Parking (rather than raising) records nothing, so no workflow is marked failed,
    and nothing touches the system database once the drain has begun.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._in_flight: dict[int, str | None] = {}
        self._next = 0
        self._local = threading.local()
        self.closed = False
        #: Cleared while a process launches and registers its flows
        #: (``Engine.launch(hold_steps=True)``): a step waits for it (enqueues and starts
        #: do not: registering a flow enqueues its first pulls).
        self.ready = threading.Event()
        self.ready.set()

    def _enter(self, *, nested: bool = True) -> int | None:
        depth = getattr(self._local, "depth", 0) if nested else 0
        with self._condition:
            # An operation inside one already let through (a step that enqueues) goes on:
            # parking it would keep the outer one in flight for good.
            if self.closed and depth == 0:
                return None
            if nested:
                self._local.depth = depth + 1
            self._next += 1
            self._in_flight[self._next] = DBOS.workflow_id
            return self._next

    def _leave(self, token: int, *, nested: bool = True) -> None:
        if nested:
            self._local.depth = max(0, getattr(self._local, "depth", 1) - 1)
        with self._condition:
            self._in_flight.pop(token, None)
            self._condition.notify_all()

    @contextlib.contextmanager
    def operation(self, *, step: bool = False) -> Iterator[None]:
        if step:
            self.ready.wait()
        token = self._enter()
        if token is None:
            threading.Event().wait()  # parked until the process exits
        assert token is not None
        try:
            yield
        finally:
            self._leave(token)

    async def enter_async(self, *, step: bool = False) -> int:
        if step and not self.ready.is_set():
            await asyncio.to_thread(self.ready.wait)
        # Coroutines share a thread, so an async step is never taken for a nested one.
        token = self._enter(nested=False)
        if token is None:
            await asyncio.Event().wait()  # parked, without blocking the event loop
        assert token is not None
        return token

    def leave_async(self, token: int) -> None:
        self._leave(token, nested=False)

    def close(self) -> None:
        with self._condition:
            self.closed = True

    def wait_idle(self, timeout_seconds: float) -> bool:
        """Wait until no operation is in flight; False if some still are at the deadline."""
        deadline = time.monotonic() + timeout_seconds
        with self._condition:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._condition.wait(left)
            return True

    def busy_workflows(self) -> set[str]:
        with self._condition:
            return {wid for wid in self._in_flight.values() if wid is not None}

    def in_flight(self) -> int:
        with self._condition:
            return len(self._in_flight)


_GATE = _Gate()


def _gated(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` (a DBOS-decorated step), counted by the drain gate and held at a closed one."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            token = await _GATE.enter_async(step=True)
            try:
                return await fn(*args, **kwargs)
            finally:
                _GATE.leave_async(token)

        gated_async: Callable[P, R] = run_async  # type: ignore[assignment]
        return gated_async

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with _GATE.operation(step=True):
            return fn(*args, **kwargs)

    return run


@dataclass(frozen=True)
class DrainReport:
    """What :meth:`Engine.drain` achieved."""

    #: Every operation in flight finished (and was checkpointed) within the bound.
    clean: bool
    #: Operations still running at the deadline (their workflows stay PENDING).
    still_running: int
    #: The workflows those operations belong to.
    busy: tuple[str, ...]
    #: This executor's PENDING workflows put back on their queues for the next process.
    handed_back: tuple[str, ...]
