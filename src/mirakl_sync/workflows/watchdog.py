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

An executor need not stay silent for the whole timeout when its process is known to be
gone: a row naming this host whose pid no longer runs, and that has missed a beat
(silent for over 1.5 heartbeat intervals), is dead at once. That is the common restart:
a killed ``mirakl-sync run`` comes back under a new executor ID (``<host>-<pid>``), and
its predecessor's PENDING pull would otherwise hold the marketplace's single pull slot
for the timeout (issue 10: a median 54 s before every marketplace was pulled again). The
missed beat guards against two hosts sharing one hostname (containers): a live process
on the other one beats on time, so it is never taken for this host's dead one.

When the row also names this process's own PID space
(``adapters.process_identity.process_space``: the same boot and PID namespace), the pid
check is certain and no beat need be missed: the
restarted process takes its predecessor's work over in its first sweep, at start (the
soak: restarts waited up to 28 s for the missed beat and the next sweep before the
marketplaces were pulled again). The claim then holds only if the row did not beat
since it was read, so a process restarted under the same executor ID is never taken.

Residual risk, by design: if the claimer itself dies between steps 2 and 3 (a few
milliseconds), the work stays PENDING until that executor ID is started again or an
operator resumes the workflows by hand.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from mirakl_sync.adapters.process_identity import process_is_gone, process_space
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


@dataclass(frozen=True)
class ExecutorRow:
    """One process as its heartbeat row describes it."""

    executor_id: str
    status: str
    heartbeat_at: float
    hostname: str
    pid: int
    process_space: str | None = None


def _process_gone(row: ExecutorRow) -> bool:
    return process_is_gone(row.hostname, row.pid)


def silent_executors(
    store: sa.Engine, *, now: float, silent_seconds: float, exclude: str | None = None
) -> list[ExecutorRow]:
    """Alive or stopped executors that have not beaten for over ``silent_seconds``."""
    query = (
        sa.select(
            executors.c.executor_id,
            executors.c.status,
            executors.c.heartbeat_at,
            executors.c.hostname,
            executors.c.pid,
            executors.c.process_space,
        )
        .where(executors.c.status.in_([ALIVE, STOPPED]))
        .where(executors.c.heartbeat_at < now - silent_seconds)
        .order_by(executors.c.executor_id)
    )
    if exclude is not None:
        query = query.where(executors.c.executor_id != exclude)
    with store.connect() as connection:
        return [
            ExecutorRow(
                row.executor_id,
                row.status,
                row.heartbeat_at,
                row.hostname,
                row.pid,
                row.process_space,
            )
            for row in connection.execute(query)
        ]


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
        process_gone: Callable[[ExecutorRow], bool] = _process_gone,
        space: str | None = None,
    ) -> None:
        self._store = store
        self._process_gone = process_gone
        #: This process's PID space: a row in the same space whose pid is gone is dead.
        self._space = space if space is not None else process_space()
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
        takeovers: list[Takeover] = []
        # A missed beat (1.5 intervals), never less than a second, and never more than
        # the timeout itself.
        missed_beat = min(self._timeout, max(1.0, 1.5 * self._interval))
        for row in silent_executors(self._store, now=now, silent_seconds=0.0, exclude=self._own):
            executor_id, status = row.executor_id, row.status
            timed_out = row.heartbeat_at < now - self._timeout
            missed = row.heartbeat_at < now - missed_beat
            certain = self._space is not None and row.process_space == self._space
            if not timed_out and not ((missed or certain) and self._process_gone(row)):
                continue  # late, but it may still be running: wait for the timeout
            if status == STOPPED and not self._recoverer.pending_workflow_ids(executor_id):
                continue  # a clean exit with nothing left: leave it "stopped"
            if timed_out or missed:
                cutoff = now - (self._timeout if timed_out else missed_beat)
            else:
                # Certain, before a missed beat: only if it has not beaten since read
                # (a process restarted under the same ID writes a fresh beat first).
                cutoff = math.nextafter(row.heartbeat_at, math.inf)
            if not claim_dead_executor(self._store, executor_id, cutoff=cutoff, from_status=status):
                continue  # another survivor won the claim, or it came back to life
            handed = self._recoverer.hand_over(executor_id)
            logger.warning(
                "executor %s %s: marked dead, %d workflow(s) handed on",
                executor_id,
                f"silent for over {self._timeout:.0f} s"
                if timed_out
                else f"gone (process {row.pid} on {row.hostname} no longer runs)",
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
        # The first sweep at once: a process that starts is often the restart of one that
        # died, whose work (a marketplace's pull) should not wait an interval more.
        while True:
            try:
                self.sweep()
            except Exception:
                # Keep watching: a failed sweep is retried at the next interval.
                logger.warning("watchdog sweep failed", exc_info=True)
            if self._stop.wait(self._interval):
                return
