"""Heartbeats: each engine process keeps its row in the ``executors`` table fresh.

The row says who the process is (hostname, pid, role), when it started, and when it
was last heard from (``heartbeat_at``, epoch seconds). The watchdog of every other
process reads it to decide whether this one died. A clean shutdown marks the row
``stopped``; a process that restarts under the same executor ID flips its row back to
``alive`` (even from ``dead``: DBOS recovers its remaining work at launch).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from mirakl_sync.adapters.process_identity import process_space
from mirakl_sync.adapters.store.tables import executors
from mirakl_sync.services.ports import Clock

logger = logging.getLogger(__name__)

ALIVE = "alive"
STOPPED = "stopped"
DEAD = "dead"


def heartbeat_interval(timeout_seconds: float) -> float:
    """Beat three times per timeout, so one late beat never looks like a death."""
    return max(0.2, timeout_seconds / 3)


class Heartbeat:
    """Upserts this executor's row now and every ``interval_seconds`` on a daemon thread."""

    def __init__(
        self,
        store: sa.Engine,
        executor_id: str,
        *,
        role: str,
        interval_seconds: float,
        clock: Clock = time.time,
        space: str | None = None,
    ) -> None:
        self._store = store
        self.executor_id = executor_id
        self._role = role
        #: This process's PID space (``process_space()`` unless a test gives one).
        self._space = space if space is not None else process_space()
        self._interval = interval_seconds
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self) -> None:
        """Write the row as ``alive`` with a fresh ``started_at``."""
        values = {
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "process_space": self._space,
            "role": self._role,
            "started_at": datetime.now(UTC),
            "heartbeat_at": self._clock(),
            "status": ALIVE,
        }
        with self._store.begin() as connection:
            previous = connection.execute(
                sa.select(executors.c.status).where(executors.c.executor_id == self.executor_id)
            ).scalar_one_or_none()
            if previous is None:
                try:
                    connection.execute(
                        sa.insert(executors).values(executor_id=self.executor_id, **values)
                    )
                    return
                except IntegrityError:
                    # Another process registered under the same ID at the same moment:
                    # two processes sharing one executor ID is a configuration error.
                    raise RuntimeError(
                        f"executor {self.executor_id!r} registered twice at once; give "
                        "every process its own engine.executor_id / --executor-id"
                    ) from None
            connection.execute(
                sa.update(executors)
                .where(executors.c.executor_id == self.executor_id)
                .values(**values)
            )
        if previous == DEAD:
            logger.info(
                "executor %s was marked dead; back alive (its remaining work is recovered "
                "at launch)",
                self.executor_id,
            )

    def beat(self) -> None:
        """Refresh ``heartbeat_at`` (and insist on ``alive``)."""
        with self._store.begin() as connection:
            previous = connection.execute(
                sa.select(executors.c.status).where(executors.c.executor_id == self.executor_id)
            ).scalar_one_or_none()
            if previous is not None:
                connection.execute(
                    sa.update(executors)
                    .where(executors.c.executor_id == self.executor_id)
                    .values(heartbeat_at=self._clock(), status=ALIVE)
                )
        if previous is None:
            # Someone deleted the row (e.g. an operator cleaning up): write it again.
            self.register()
        elif previous == DEAD:
            logger.warning(
                "executor %s was declared dead by another process (its heartbeat was late "
                "by more than the timeout) and its unfinished workflows were handed on; "
                "some steps may run twice. Check the database's latency or raise "
                "engine.heartbeat_timeout_seconds",
                self.executor_id,
            )

    def mark(self, status: str) -> None:
        with self._store.begin() as connection:
            connection.execute(
                sa.update(executors)
                .where(executors.c.executor_id == self.executor_id)
                .values(status=status, heartbeat_at=self._clock())
            )

    def start(self) -> None:
        self.register()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{self.executor_id}", daemon=True
        )
        self._thread.start()

    def stop(self, *, status: str = STOPPED) -> None:
        """Stop beating and record ``status`` (``stopped`` on a clean shutdown)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        try:
            self.mark(status)
        except sa.exc.SQLAlchemyError:
            logger.warning("could not mark executor %s %s", self.executor_id, status)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.beat()
            except Exception:
                # A database blip must not kill the thread: the next beat retries, and a
                # long outage shows up to the others as a stale heartbeat, as it should.
                logger.warning("heartbeat of %s failed", self.executor_id, exc_info=True)


def live_executors(
    store: sa.Engine, *, now: float, timeout_seconds: float
) -> list[tuple[str, str, float, str, int]]:
    """``(executor_id, role, seconds since its last beat, hostname, pid)`` of every
    process that beat within the timeout and did not say it stopped."""
    query = (
        sa.select(
            executors.c.executor_id,
            executors.c.role,
            executors.c.heartbeat_at,
            executors.c.hostname,
            executors.c.pid,
        )
        .where(executors.c.status == ALIVE)
        .where(executors.c.heartbeat_at >= now - timeout_seconds)
        .order_by(executors.c.executor_id)
    )
    with store.connect() as connection:
        return [
            (row.executor_id, row.role, max(0.0, now - row.heartbeat_at), row.hostname, row.pid)
            for row in connection.execute(query)
        ]
