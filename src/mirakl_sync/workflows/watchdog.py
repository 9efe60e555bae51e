"""The watchdog: hands the unfinished work of a dead executor to the living.

DBOS recovers a process's PENDING workflows only when a process with the SAME executor
ID launches again. A host that dies and stays dead keeps its workflows PENDING forever,
and they keep holding their queue's concurrency slots, so the work queued behind them
stalls too (engine.md §3.3). Every engine process therefore runs this watchdog:

1. every few seconds it looks for executors whose heartbeat is older than
   ``heartbeat_timeout_seconds`` (status ``alive``; or ``stopped`` but still holding
   PENDING workflows, e.g. a shutdown that did not wait for them);
2. it claims each one with ONE conditional ``UPDATE ... SET status='dead'``; only the
   process whose update changed the row proceeds, so two survivors never both take over;
3. the winner re-enqueues that executor's PENDING workflows on their own queues
   (:meth:`Engine.hand_over`), which also frees the slots they held.

Residual risk, by design: if the claimer itself dies between steps 2 and 3 (a few
milliseconds), the work stays PENDING until that executor ID is started again or an
operator resumes the workflows by hand.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from mirakl_sync.adapters.store.tables import executors
from mirakl_sync.services.ports import Clock
from mirakl_sync.workflows.heartbeat import ALIVE, DEAD, STOPPED

logger = logging.getLogger(__name__)


class WorkRecoverer(Protocol):
    """What the watchdog needs from the engine (``Engine`` satisfies it)."""

    def pending_workflow_ids(self, executor_id: str) -> list[str]:
        """The executor's workflows still PENDING."""
        ...

    def hand_over(self, executor_id: str) -> list[str]:
        """Re-enqueue the executor's PENDING workflows; return their IDs."""
        ...


@dataclass(frozen=True)
class Takeover:
    """One dead executor claimed by this process, and the workflows it handed on."""

    executor_id: str
    workflow_ids: Sequence[str]


def stale_executors(
    store: sa.Engine, *, now: float, timeout_seconds: float, exclude: str | None = None
) -> list[tuple[str, str]]:
    """``(executor_id, status)`` of alive or stopped executors silent for over the timeout."""
    cutoff = now - timeout_seconds
    query = (
        sa.select(executors.c.executor_id, executors.c.status)
        .where(executors.c.status.in_([ALIVE, STOPPED]))
        .where(executors.c.heartbeat_at < cutoff)
        .order_by(executors.c.executor_id)
    )
    if exclude is not None:
        query = query.where(executors.c.executor_id != exclude)
    with store.connect() as connection:
        return [(row.executor_id, row.status) for row in connection.execute(query)]


def claim_dead_executor(
    store: sa.Engine, executor_id: str, *, cutoff: float, from_status: str = ALIVE
) -> bool:
    """Atomically mark a silent executor ``dead``; True only for the one caller that did.

    The WHERE clause repeats the staleness test, so an executor that beat again since it
    was read as stale (or that someone else claimed) is left alone.
    """
    statement = (
        sa.update(executors)
        .where(executors.c.executor_id == executor_id)
        .where(executors.c.status == from_status)
        .where(executors.c.heartbeat_at < cutoff)
        .values(status=DEAD)
    )
    with store.begin() as connection:
        return connection.execute(statement).rowcount == 1


class Watchdog:
    """Sweeps for dead executors every ``interval_seconds`` on a daemon thread."""

    def __init__(
        self,
        store: sa.Engine,
        recoverer: WorkRecoverer,
        *,
        own_executor_id: str,
        timeout_seconds: float,
        interval_seconds: float,
        clock: Clock = time.time,
    ) -> None:
        self._store = store
        self._recoverer = recoverer
        self._own = own_executor_id
        self._timeout = timeout_seconds
        self._interval = interval_seconds
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self) -> list[Takeover]:
        """One pass: claim every newly dead executor and hand its work on."""
        now = self._clock()
        cutoff = now - self._timeout
        takeovers: list[Takeover] = []
        candidates = stale_executors(
            self._store, now=now, timeout_seconds=self._timeout, exclude=self._own
        )
        for executor_id, status in candidates:
            if status == STOPPED and not self._recoverer.pending_workflow_ids(executor_id):
                continue  # a clean exit with nothing left: leave it "stopped"
            if not claim_dead_executor(self._store, executor_id, cutoff=cutoff, from_status=status):
                continue  # another survivor won the claim, or it came back to life
            handed = self._recoverer.hand_over(executor_id)
            logger.warning(
                "executor %s silent for over %.0f s: marked dead, %d workflow(s) handed on",
                executor_id,
                self._timeout,
                len(handed),
            )
            takeovers.append(Takeover(executor_id, tuple(handed)))
        return takeovers

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.sweep()
            except Exception:
                # Keep watching: a failed sweep is retried at the next interval.
                logger.warning("watchdog sweep failed", exc_info=True)
