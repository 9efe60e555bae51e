"""The in-process engine, :class:`Engine`: launch, drain and destroy, queues and schedules,
inspection and recovery (at most one per process: DBOS is a process-global singleton)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from dbos import DBOS, DBOSConfig, ScheduleInput

from mirakl_sync.adapters.store.database import create_engine_system_database
from mirakl_sync.workflows.engine.config import (
    APP_NAME,
    ONCE_APP_NAME,
    EngineConfig,
    once_queue,
    pinned_version,
)
from mirakl_sync.workflows.engine.drain import _GATE, DrainReport
from mirakl_sync.workflows.engine.log_filter import _RETRY_FILTER
from mirakl_sync.workflows.engine.records import (
    ENQUEUED,
    PENDING,
    StepRecord,
    WorkflowInfo,
    WorkflowRun,
    _info,
    _list_kwargs,
    _step,
)
from mirakl_sync.workflows.engine.schedules import RateLimit, Schedule

_ACTIVE: list[Engine] = []  # at most one: DBOS is a process-global singleton


class Engine:
    """The engine inside this process: runs workflows, queues and schedules.

    Build it, import the flow modules (their decorators register the functions),
    :meth:`launch` (runs the system-database migrations, recovers THIS executor's
    unfinished workflows, starts the queue and scheduler threads), then register queues
    and schedules. :meth:`destroy` stops it; the context manager does both.
    """

    def __init__(self, config: EngineConfig) -> None:
        if _ACTIVE:
            raise RuntimeError(
                "an Engine already exists in this process (DBOS is a singleton); "
                "call destroy() on it first"
            )
        self.config = config
        dbos_config: DBOSConfig = {
            "name": config.application_name,
            "system_database_url": config.system_database_url,
            "executor_id": config.executor_id,
            "log_level": config.log_level,
            "scheduler_polling_interval_sec": config.scheduler_polling_interval_seconds,
        }
        dbos_config["application_version"] = config.application_version or pinned_version(
            config.application_name
        )
        self._sqlite_engine: sa.Engine | None = None
        if config.system_database_url.startswith("sqlite"):
            # WAL and a sync per checkpoint instead of per commit: see SQLITE_PRAGMAS.
            self._sqlite_engine = create_engine_system_database(config.system_database_url)
            dbos_config["system_database_engine"] = self._sqlite_engine
        self._dbos = DBOS(config=dbos_config)
        dbos_logger = logging.getLogger("dbos")
        if _RETRY_FILTER not in dbos_logger.filters:
            dbos_logger.addFilter(_RETRY_FILTER)
        _ACTIVE.append(self)
        self._launched = False
        _GATE.closed = False  # a new engine in this process (tests) starts open
        _GATE.ready.set()

    @property
    def executor_id(self) -> str:
        return self.config.executor_id

    @property
    def application_version(self) -> str:
        """The version this process runs and dequeues (set at launch): DBOS takes from a
        queue only workflows of its own version (see :data:`WORKFLOW_VERSION`)."""
        version: str = DBOS.application_version
        return version

    def adopt_other_versions(self) -> list[str]:
        """Take on the unfinished work this application left under another version, so
        it runs here: what a hub before the pinned :data:`WORKFLOW_VERSION` queued (DBOS
        had hashed its code), or what a release that bumped it left. Its PENDING
        workflows of this executor (the process that ran them is this one, restarted)
        go back on their queues, then every ENQUEUED one of this application takes this
        version, from its last checkpoint like any recovery (steps are idempotent).
        Returns the workflow IDs adopted. Called at launch and after each hand-over (the
        watchdog's resume keeps a workflow's version)."""
        sys_db = self._dbos._sys_db
        ws = sys_db.tables.workflow_status
        mine = self.application_version
        # Only rows this application claimed: an unclaimed one (an out-of-process client's
        # enqueue) belongs to every application, and the ``--once`` namespace taking it
        # onto its version would keep it from the hub.
        elsewhere = sa.and_(
            ws.c.application_name == self.config.application_name,
            ws.c.application_version.is_not(None),
            ws.c.application_version != mine,
        )
        with sys_db.engine.begin() as connection:
            left_running = connection.execute(
                sa.select(ws.c.workflow_uuid, ws.c.queue_name).where(
                    elsewhere, ws.c.status == PENDING, ws.c.executor_id == self.executor_id
                )
            ).all()
        by_queue: dict[str | None, list[str]] = defaultdict(list)
        for workflow_id, queue in left_running:
            by_queue[queue].append(workflow_id)
        for queue, ids in by_queue.items():
            self.resume_workflows(ids, queue)
        with sys_db.engine.begin() as connection:
            adopted = [
                row[0]
                for row in connection.execute(
                    sa.update(ws)
                    .where(elsewhere, ws.c.status == ENQUEUED)
                    .values(application_version=mine)
                    .returning(ws.c.workflow_uuid)
                )
            ]
        if adopted:
            # The package's logger, as before the engine became a package.
            logging.getLogger("mirakl_sync.workflows.engine").warning(
                "took on %d unfinished workflow(s) another version of the hub left "
                "(e.g. %s); they run here from their last checkpoint",
                len(adopted),
                adopted[0],
            )
        return adopted

    def cancel_workflows(self, workflow_ids: Sequence[str]) -> None:
        """Mark unfinished workflows CANCELLED (which also frees their queue slots and
        deduplication IDs). For work that is safe to drop and start afresh only."""
        if workflow_ids:
            DBOS.cancel_workflows(list(workflow_ids))

    def launch(self, *, hold_steps: bool = False) -> None:
        """Start the engine: it resumes this executor's unfinished work and dequeues.

        ``hold_steps``: every step waits until :meth:`release_steps`, so work resumed or
        dequeued at launch does not run before the process has registered its flows
        (their configuration). Before (issue 10), such steps raised "not configured in
        this process" and their workflows failed.
        """
        if hold_steps:
            _GATE.ready.clear()
        DBOS.launch()
        self._launched = True
        self.adopt_other_versions()

    def release_steps(self) -> None:
        """Let the steps held since :meth:`launch` run (the flows are registered)."""
        _GATE.ready.set()

    def destroy(self, *, wait_seconds: int = 0) -> None:
        """Stop the engine; workflows still running stay PENDING for recovery.

        ``wait_seconds`` lets running workflows finish first. Safe to call twice.
        """
        if self in _ACTIVE:
            DBOS.destroy(workflow_completion_timeout_sec=wait_seconds)
            _ACTIVE.remove(self)
        if self._sqlite_engine is not None:
            self._sqlite_engine.dispose()  # DBOS leaves an engine it was given open
        self._launched = False

    shutdown = destroy

    def drain(self, timeout_seconds: float) -> DrainReport:
        """Stop taking work and let what is in flight finish, for a process about to exit.

        1. No more dequeuing nor schedule ticks here: DBOS's queue and scheduler threads
           are told to stop (the same stop events :meth:`destroy` sets first; DBOS 3.4.0
           keeps them in ``background_thread_stop_events``).
        2. The drain gate closes: a workflow reaching its next step, sleep, enqueue or
           start parks there, at its last checkpoint.
        3. Steps in flight get ``timeout_seconds`` to finish and write their checkpoint.
        4. This executor's PENDING workflows, except those whose step is still running,
           go back ENQUEUED on their queues, so the next process (or another worker)
           continues them at once rather than after the heartbeat timeout.

        The engine is NOT destroyed: parked and still-running threads would then reach a
        system database that is gone ("System database accessed before DBOS was
        launched", issue 10). The caller ends the process (``os._exit``); a step still
        running then is cut off like a crash, its workflow PENDING for the next start.
        """
        for event in list(self._dbos.background_thread_stop_events):
            event.set()
        _GATE.close()
        clean = _GATE.wait_idle(timeout_seconds)
        busy = _GATE.busy_workflows()
        pending = [info for info in self._pending(self.executor_id) if info.workflow_id not in busy]
        by_queue: dict[str | None, list[str]] = defaultdict(list)
        for info in pending:
            by_queue[info.queue_name].append(info.workflow_id)
        for queue, ids in by_queue.items():
            self.resume_workflows(ids, queue)
        return DrainReport(
            clean=clean,
            still_running=_GATE.in_flight(),
            busy=tuple(sorted(busy)),
            handed_back=tuple(info.workflow_id for info in pending),
        )

    def __enter__(self) -> Engine:
        try:
            self.launch()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.destroy()

    # -- queues and schedules (after launch)

    def register_queue(
        self,
        name: str,
        *,
        concurrency: int | None = None,
        worker_concurrency: int | None = None,
        limiter: RateLimit | None = None,
        partition_limiter: RateLimit | None = None,
        polling_interval_seconds: float = 1.0,
    ) -> None:
        """Create or update queue ``name`` in the system database.

        ``concurrency`` caps running workflows across all processes; ``worker_concurrency``
        per process (default: ``engine.worker_concurrency``); ``limiter`` caps starts per
        rolling window; ``partition_limiter`` does so per partition key (one per
        marketplace). The configuration is shared by every process of the hub.
        """
        DBOS.register_queue(
            name,
            global_concurrency=concurrency,
            worker_concurrency=(
                worker_concurrency
                if worker_concurrency is not None
                else self.config.worker_concurrency
            ),
            limiter=limiter,
            partition_limiter=partition_limiter,
            polling_interval_sec=polling_interval_seconds,
        )

    def reclaim_queue(self, name: str, *, from_application: str) -> bool:
        """Take back queue ``name`` from a registration ``from_application`` holds.

        For a registration known to be stale only: releases before the fix of issue 9
        let a ``--once`` run register the hub's ``orders`` queue, after which no hub
        could start. The row is deleted so :meth:`register_queue` can take the name;
        work that namespace still had ENQUEUED on it moves to its own queue
        (:func:`once_queue`), where the next ``--once`` run finds it. True if reclaimed.
        """
        held = [
            queue
            for queue in DBOS.list_queues(application_name=from_application)
            if queue.name == name and queue.application_name == from_application
        ]
        if not held:
            return False
        waiting = [
            status.workflow_id
            for status in DBOS.list_workflows(
                status=ENQUEUED,
                queue_name=name,
                application_name=from_application,
                load_input=False,
                load_output=False,
            )
            if status.application_name == from_application
        ]
        DBOS.delete_queue(name)
        self.resume_workflows(waiting, once_queue(name))
        return True

    def apply_schedules(self, schedules: Sequence[Schedule]) -> None:
        """Atomically create or replace these schedules."""
        entries: list[ScheduleInput] = []
        for schedule in schedules:
            entry: ScheduleInput = {
                "schedule_name": schedule.name,
                "workflow_fn": schedule.workflow_fn,
                "schedule": schedule.cron,
                "automatic_backfill": schedule.automatic_backfill,
            }
            if schedule.context is not None:
                entry["context"] = schedule.context
            if schedule.queue_name is not None:
                entry["queue_name"] = schedule.queue_name
            if schedule.timezone is not None:
                entry["cron_timezone"] = schedule.timezone
            entries.append(entry)
        DBOS.apply_schedules(entries)

    def trigger_schedule(self, name: str) -> str:
        """Fire schedule ``name`` now, as its cron would (operators' "pull now", tests);
        returns the workflow ID of that tick."""
        return DBOS.trigger_schedule(name).get_workflow_id()

    # -- inspection and recovery

    def list_workflows(
        self,
        *,
        status: str | Sequence[str] | None = None,
        executor_id: str | Sequence[str] | None = None,
        name: str | Sequence[str] | None = None,
        queue_name: str | Sequence[str] | None = None,
        workflow_ids: Sequence[str] | None = None,
        workflow_id_prefix: str | None = None,
        parent_workflow_id: str | None = None,
        load_output: bool = True,
        every_namespace: bool = False,
    ) -> list[WorkflowInfo]:
        """Workflows of this process's application, or with ``every_namespace`` those of
        the hub's and the ``--once`` namespace both (a listing by prefix is otherwise
        scoped to this application: a hub would not see the attempts of a ``--once``)."""
        kwargs = _list_kwargs(
            status=status,
            executor_id=executor_id,
            name=name,
            queue_name=queue_name,
            workflow_ids=workflow_ids,
            workflow_id_prefix=workflow_id_prefix,
            parent_workflow_id=parent_workflow_id,
            load_output=load_output,
        )
        if every_namespace:
            kwargs["application_name"] = [APP_NAME, ONCE_APP_NAME]
        return [_info(status) for status in DBOS.list_workflows(**kwargs)]

    def list_steps(self, workflow_id: str) -> list[StepRecord]:
        return [_step(info) for info in DBOS.list_workflow_steps(workflow_id)]

    def retrieve(self, workflow_id: str) -> WorkflowRun[Any]:
        """The run of an existing workflow (e.g. one being recovered), to wait on it."""
        return WorkflowRun(DBOS.retrieve_workflow(workflow_id))

    def resume_workflows(self, workflow_ids: Sequence[str], queue: str | None) -> None:
        """Put unfinished workflows back on ``queue`` (``None``: the engine's internal
        queue) so any live process continues them from their last checkpoint."""
        if workflow_ids:
            DBOS.resume_workflows(list(workflow_ids), queue_name=queue)

    def pending_workflow_ids(self, executor_id: str) -> list[str]:
        return [w.workflow_id for w in self._pending(executor_id)]

    def hand_over(self, executor_id: str) -> list[str]:
        """Give a dead executor's PENDING workflows to the living ("Fix B", engine.md §3.3).

        Each goes back, as ENQUEUED, on the queue it came from, which also frees the
        concurrency slots it held, so the work queued behind it starts too. Returns the
        workflow IDs handed over. Only call this for an executor known to be dead (the
        watchdog claims it first): a live one would run the same workflow concurrently.
        """
        by_queue: dict[str | None, list[str]] = defaultdict(list)
        for info in self._pending(executor_id):
            by_queue[info.queue_name].append(info.workflow_id)
        for queue, ids in by_queue.items():
            self.resume_workflows(ids, queue)
        if by_queue:
            self.adopt_other_versions()
        return [wid for ids in by_queue.values() for wid in ids]

    def _pending(self, executor_id: str) -> list[WorkflowInfo]:
        return self.list_workflows(status=PENDING, executor_id=executor_id, load_output=False)
