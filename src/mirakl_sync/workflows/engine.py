"""The durable engine: a small facade over DBOS Transact 3.4.0, the only module importing ``dbos``.

Everything else in the hub sees plain functions and three types:

* decorators and in-flow calls, usable from any flow module:
  :func:`workflow`, :func:`step`, :func:`durable_sleep`, :func:`enqueue`,
  :func:`start_workflow`, :func:`current_executor_id`, :func:`current_workflow_id`
  (``async def`` flows use :func:`durable_sleep_async`, :func:`enqueue_async`,
  :func:`start_workflow_async`; :func:`workflow` and :func:`step` decorate both kinds);
* :class:`Engine`, the in-process engine (one per process: DBOS is a process-global
  singleton): ``launch``, ``register_queue``, ``apply_schedules``, ``list_workflows``,
  ``list_steps``, ``resume_workflows``, ``hand_over`` and ``destroy``;
* :class:`EngineClient`, for processes that inspect or enqueue work without running it
  (CLI, dashboard, tests): it talks only to the engine's system database.

Facts this module relies on (verified on 3.4.0, see shared/reference/engine.md): the 2.x
``Queue(...)`` constructor and ``@DBOS.scheduled`` are gone (use ``register_queue`` and
``apply_schedules``); inside a running event loop the sync calls raise, so async code must
use the ``*_async`` variants; a workflow ID is the idempotency key (a second start with the
same ID attaches to the first run); steps run at least once.

System database. PostgreSQL: ``engine.system_database_url`` or else ``database_url``
itself; DBOS keeps its tables in its own ``dbos`` schema next to ours. SQLite: a sibling
file ``<stem>-engine.db`` next to the store file, so two subsystems never fight over one
SQLite write lock. On Python 3.11 DBOS stores SQLite timestamps with whole-second
resolution (engine.md §3.4), so rate-limiter periods must stay large (a minute, not a
second) in embedded mode; PostgreSQL is exact.

Testing. DBOS is a singleton, so a test builds one :class:`Engine` at a time and always
tears it down: ``with Engine(config) as engine: ...`` launches and, on exit, calls
:meth:`Engine.destroy` (``DBOS.destroy()``, keeping the registry of decorated functions so
module-level flows stay registered). Give each test its own SQLite file (the ``tmp_path``
fixture) or PostgreSQL database; then no ``reset_system_database`` is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import os
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Literal, ParamSpec, TypedDict, TypeVar

import sqlalchemy as sa
from dbos import (
    DBOS,
    DBOSClient,
    DBOSConfig,
    EnqueueOptions,
    ScheduleInput,
    SetEnqueueOptions,
    SetWorkflowID,
    StepInfo,
    WorkflowHandle,
    WorkflowHandleAsync,
    WorkflowStatus,
)

from mirakl_sync.adapters.store.database import create_engine_system_database
from mirakl_sync.config import Settings
from mirakl_sync.errors import ConfigError

R = TypeVar("R")
P = ParamSpec("P")

#: The application name every process of the hub shares: DBOS scopes queues, schedules
#: and recovery by it.
APP_NAME = "mirakl-sync"
#: The namespace of a ``sync <flow> --once`` run. DBOS lists queues and schedules, and
#: dequeues workflows, only for the process's own application (and unclaimed rows), so a
#: one-off run under this name never takes a hub's queued or scheduled work, nor runs a
#: hub's schedules, while workflow IDs (the idempotency keys) stay shared by both.
#:
#: But queue, schedule and version NAMES are global to the system database: the first
#: application to register one owns it, and another registering the same name fails
#: ("Queue 'orders' is already registered by application ..."; DBOS 3.4.0,
#: ``SystemDatabase._resolve_row_owner``). So a ``--once`` run registers only queues of
#: its own (:func:`once_queue`), applies no schedule, and its version cannot clash
#: (:func:`pinned_version` names the application). Why a namespace rather than
#: the hub's name with ``DBOS.listen_queues``: a DBOS process always runs its
#: application's schedules and always dequeues the internal queue (where unqueued
#: scheduled ticks such as the shipments poll land), so under the hub's name a
#: ``sync orders --once`` would fire and run the hub's schedules.
ONCE_APP_NAME = "mirakl-sync-once"
#: How :func:`once_queue` marks a queue name as the ``--once`` namespace's.
ONCE_QUEUE_PREFIX = "once:"


#: The version of the hub's workflows, pinned (DBOS's "patching" strategy, not its
#: "versioning" one). DBOS dequeues and recovers only workflows of the process's own
#: version; left to itself it hashes the flow code, so ANY change of that code (every
#: release, and every edit while a soak ran) stranded what the previous code had queued
#: or left running: order imports, cancellations, dispatches and refunds stayed ENQUEUED
#: for good, silently (seen in the soak: 7 workflows, among them an order import, a
#: cancellation and a refund, from the minute the code changed). A self-hosted hub
#: never keeps the old release running to drain them. So every release shares this
#: version and recovers what the one before it left; a release that changes the steps
#: of a workflow keeps the old path for workflows already started (a new step name
#: behind a flag in the input, or a new workflow name), and bumps this only if it
#: cannot, saying "drain before upgrading" in its notes.
WORKFLOW_VERSION = "1"


def pinned_version(application_name: str) -> str:
    """The version one application registers: version names are global to the system
    database, so the hub's and the ``--once`` namespace's must differ (see above)."""
    return f"{application_name}/{WORKFLOW_VERSION}"


def once_queue(name: str) -> str:
    """The ``--once`` namespace's own queue for the hub's queue ``name``."""
    return ONCE_QUEUE_PREFIX + name


#: Workflow states, as DBOS names them.
PENDING = "PENDING"
ENQUEUED = "ENQUEUED"
SUCCESS = "SUCCESS"
ERROR = "ERROR"
CANCELLED = "CANCELLED"
TERMINAL_STATES = frozenset({SUCCESS, ERROR, CANCELLED, "MAX_RECOVERY_ATTEMPTS_EXCEEDED"})


class RateLimit(TypedDict):
    """At most ``limit`` workflow starts within any rolling window of ``period`` seconds."""

    limit: int
    period: float


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class EngineConfig:
    """What the engine needs; build it with :func:`engine_config_from_settings`."""

    system_database_url: str
    executor_id: str
    worker_concurrency: int = 8
    #: ``None``: :func:`pinned_version` of the application (see :data:`WORKFLOW_VERSION`).
    application_version: str | None = None
    log_level: str = "WARNING"
    #: How soon schedules created at run time are noticed (DBOS default 30 s).
    scheduler_polling_interval_seconds: float = 30.0
    #: :data:`APP_NAME` for the hub's processes, :data:`ONCE_APP_NAME` for ``--once`` runs.
    application_name: str = APP_NAME


def default_executor_id() -> str:
    """``<hostname>-<pid>``: unique per process, but NOT stable across restarts.

    Give long-lived workers a stable ``engine.executor_id`` (or ``--executor-id``) so a
    restarted process recovers its own unfinished work at launch.
    """
    return f"{socket.gethostname()}-{os.getpid()}"


def system_database_url_for(settings: Settings) -> str:
    """Where the engine keeps its state (see the module docstring for the rules)."""
    if settings.engine.system_database_url:
        return settings.engine.system_database_url
    if settings.is_postgres:
        return settings.database_url
    url = sa.make_url(settings.database_url)
    if not url.database or url.database == ":memory:":
        raise ConfigError(
            "database_url: an in-memory SQLite database cannot hold durable workflows; "
            "use a file such as sqlite:///./mirakl-sync.db"
        )
    store = Path(url.database)
    sibling = store.with_name(f"{store.stem}-engine{store.suffix or '.db'}")
    return url.set(database=str(sibling)).render_as_string(hide_password=False)


def engine_config_from_settings(
    settings: Settings, *, executor_id: str | None = None
) -> EngineConfig:
    """``executor_id`` (e.g. from ``--executor-id``) wins over the config file's."""
    return EngineConfig(
        system_database_url=system_database_url_for(settings),
        executor_id=executor_id or settings.engine.executor_id or default_executor_id(),
        worker_concurrency=settings.engine.worker_concurrency,
        # DBOS at INFO logs every launch detail and a Conductor advert; the hub's own
        # logs say what matters, so DBOS speaks up only for warnings unless debugging.
        log_level="DEBUG" if settings.logging.level == "DEBUG" else "WARNING",
    )


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class WorkflowInfo:
    """One workflow run as the engine recorded it."""

    workflow_id: str
    name: str
    status: str
    executor_id: str | None
    queue_name: str | None
    created_at_ms: int | None
    updated_at_ms: int | None
    output: Any = None
    error: str | None = None
    parent_workflow_id: str | None = None
    app_version: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATES


@dataclass(frozen=True)
class StepRecord:
    """One checkpointed operation of a workflow (a step, a sleep, a child start...)."""

    step_id: int
    name: str
    output: Any = None
    error: str | None = None
    child_workflow_id: str | None = None


def _info(status: WorkflowStatus) -> WorkflowInfo:
    return WorkflowInfo(
        workflow_id=status.workflow_id,
        name=status.name,
        status=str(status.status),
        executor_id=status.executor_id,
        queue_name=status.queue_name,
        created_at_ms=status.created_at,
        updated_at_ms=status.updated_at,
        output=status.output,
        error=None if status.error is None else repr(status.error),
        parent_workflow_id=status.parent_workflow_id,
        app_version=status.app_version,
    )


def _step(info: StepInfo) -> StepRecord:
    error = info["error"]
    return StepRecord(
        step_id=info["function_id"],
        name=info["function_name"],
        output=info["output"],
        error=None if error is None else repr(error),
        child_workflow_id=info["child_workflow_id"],
    )


def cron_every(seconds: float, *, slot: int = 0, slots: int = 1) -> str:
    """A 6-field cron firing about every ``seconds`` (rounded to what cron can say).

    ``slot`` of ``slots`` staggers schedules of the same period: marketplace ``slot``
    fires ``slot / slots`` of a period after the first. The pulls of three marketplaces
    on the default 60 s then land 20 s apart, and their orders reach the shared queue as
    three small batches instead of one large one (each decided sooner).
    """
    whole = max(1, round(seconds))
    if whole < 60:
        divisor = max(d for d in range(1, 61) if 60 % d == 0 and d <= whole)
        offset = (slot * divisor) // max(1, slots)
        return f"*/{divisor} * * * * *" if offset == 0 else f"{offset}-59/{divisor} * * * * *"
    minutes = max(1, round(whole / 60))
    second = (slot * 60) // max(1, slots) if minutes == 1 else 0
    if minutes < 60:
        divisor = max(d for d in range(1, 61) if 60 % d == 0 and d <= minutes)
        return f"{second} */{divisor} * * * *"
    return "0 0 * * * *"


@dataclass(frozen=True)
class Schedule:
    """A cron schedule (6 fields allowed: seconds first) that starts ``workflow_fn``.

    ``workflow_fn`` must be a :func:`workflow` taking ``(scheduled_time: datetime,
    context: Any)``. Each tick fires once across all processes (deduplicated in the
    database).
    """

    name: str
    workflow_fn: Callable[..., Any]
    cron: str
    queue_name: str | None = None
    context: Any = None
    timezone: str | None = None
    automatic_backfill: bool = False


class WorkflowRun(Generic[R]):
    """A started or enqueued workflow. Inside a workflow, :meth:`result` is durable."""

    def __init__(self, handle: WorkflowHandle[R]) -> None:
        self._handle = handle

    @property
    def workflow_id(self) -> str:
        return self._handle.get_workflow_id()

    def result(self) -> R:
        """Wait for the workflow to finish and return its output (re-raises its error)."""
        return self._handle.get_result()

    def status(self) -> WorkflowInfo:
        return _info(self._handle.get_status())


class WorkflowRunAsync(Generic[R]):
    """An ``async`` workflow started or enqueued from a coroutine."""

    def __init__(self, handle: WorkflowHandleAsync[R]) -> None:
        self._handle = handle

    @property
    def workflow_id(self) -> str:
        return self._handle.get_workflow_id()

    async def result(self) -> R:
        """Wait for the workflow to finish and return its output (re-raises its error)."""
        return await self._handle.get_result()


# --------------------------------------------------------------------------- the drain gate


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


# --------------------------------------------------------------------------- flow-side API


def workflow(
    *, name: str | None = None, max_recovery_attempts: int = 100
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a durable workflow: it resumes from its last checkpoint after a crash.

    Give every workflow an explicit, stable ``name``: it is how another process (or a
    newer release) finds the function to resume. Its body must be deterministic; all
    I/O belongs in :func:`step` functions.
    """
    decorator: Callable[[Callable[P, R]], Callable[P, R]] = DBOS.workflow(
        name=name, max_recovery_attempts=max_recovery_attempts
    )
    return decorator


def step_failure(exc: BaseException) -> str:
    """What a step raised: the last error of its attempts when its retries ran out (the
    engine wraps them), else the error itself; one line, for an exception's message."""
    attempts = getattr(exc, "errors", None)
    if isinstance(attempts, list) and attempts and isinstance(attempts[-1], BaseException):
        last = attempts[-1]
        return f"{type(last).__name__}: {last}, after {len(attempts)} attempts"
    return f"{type(exc).__name__}: {exc}"


def step(
    *,
    name: str | None = None,
    retries: int = 0,
    interval_seconds: float = 1.0,
    backoff_rate: float = 2.0,
    should_retry: Callable[[BaseException], bool] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a step: its result is checkpointed, so a resumed workflow skips it.

    A step runs AT LEAST once (a crash after it ran but before its checkpoint committed
    runs it again), so every external write needs its own idempotency guard.
    ``retries`` extra attempts follow exponential backoff; to honour a server's
    Retry-After, catch the error in the workflow and :func:`durable_sleep` instead.
    """
    dbos_step: Callable[[Callable[P, R]], Callable[P, R]] = DBOS.step(
        name=name,
        retries_allowed=retries > 0,
        max_attempts=retries + 1,
        interval_seconds=interval_seconds,
        backoff_rate=backoff_rate,
        should_retry=should_retry,
    )

    def decorator(fn: Callable[P, R]) -> Callable[P, R]:
        # The gate sits outside DBOS's wrapper: a step held at a closed gate has not
        # begun as far as the engine knows, and a step let through is counted until its
        # checkpoint is written.
        return _gated(dbos_step(fn))

    return decorator


def durable_sleep(seconds: float) -> None:
    """Sleep inside a workflow; the wake-up time is stored, so a resumed run does not restart it."""
    # A workflow about to sleep parks at a closed gate. The sleep itself is not counted
    # as in flight (a day's sleep must not hold a drain): its wake-up time is stored
    # first, and after it the workflow's next operation meets the gate.
    with _GATE.operation():
        pass
    DBOS.sleep(seconds)


async def durable_sleep_async(seconds: float) -> None:
    """:func:`durable_sleep` for ``async`` workflows (the sync one raises in an event loop)."""
    _GATE.leave_async(await _GATE.enter_async())  # parks at a closed gate, as the sync one
    await DBOS.sleep_async(seconds)


def current_executor_id() -> str:
    """The executor ID of this process (meaningful once an :class:`Engine` exists)."""
    executor_id: str = DBOS.executor_id
    return executor_id


def current_workflow_id() -> str | None:
    """The ID of the workflow this code runs in, or ``None`` outside a workflow."""
    workflow_id: str | None = DBOS.workflow_id
    return workflow_id


def start_workflow(
    fn: Callable[..., R], *args: Any, workflow_id: str | None = None, **kwargs: Any
) -> WorkflowRun[R]:
    """Start ``fn`` in the background in this process.

    ``workflow_id`` is the idempotency key: starting it again returns the existing run
    (and, once it has finished, its stored result) instead of running anything twice.
    """
    with (
        _GATE.operation(),
        SetWorkflowID(workflow_id) if workflow_id else contextlib.nullcontext(),
    ):
        return WorkflowRun(DBOS.start_workflow(fn, *args, **kwargs))


def enqueue(
    queue: str,
    fn: Callable[..., R],
    *args: Any,
    workflow_id: str | None = None,
    deduplication_id: str | None = None,
    partition_key: str | None = None,
    priority: int | None = None,
    if_active: Literal["reject", "attach"] = "reject",
    **kwargs: Any,
) -> WorkflowRun[R]:
    """Put ``fn(*args)`` on ``queue``; any process listening to the queue may run it.

    ``workflow_id`` is the idempotency key; ``deduplication_id`` additionally keeps a
    second workflow with that ID off the queue while one is *active* (ENQUEUED or
    PENDING; the ID is free again once it finishes; not allowed on partitioned queues):
    ``if_active="reject"`` raises, ``"attach"`` enqueues nothing and returns the run
    already holding the ID, so a queue holds at most one of a kind (one pull per
    marketplace, issue 10). ``partition_key`` is required on a queue with a
    ``partition_limiter``. ``priority`` (1 and up; lower first) lets it wait behind work
    enqueued without one, which goes first. Callable from inside a workflow, where the
    enqueue itself is checkpointed (an attach too, so a replay attaches to the same run).
    """
    with contextlib.ExitStack() as stack:
        stack.enter_context(_GATE.operation())
        if workflow_id:
            stack.enter_context(SetWorkflowID(workflow_id))
        if deduplication_id or partition_key or priority is not None:
            stack.enter_context(
                SetEnqueueOptions(
                    deduplication_id=deduplication_id,
                    queue_partition_key=partition_key,
                    priority=priority,
                    duplication_policy="return-existing" if if_active == "attach" else None,
                )
            )
        return WorkflowRun(DBOS.enqueue_workflow(queue, fn, *args, **kwargs))


async def start_workflow_async(
    fn: Callable[..., Coroutine[Any, Any, R]],
    *args: Any,
    workflow_id: str | None = None,
    **kwargs: Any,
) -> WorkflowRunAsync[R]:
    """:func:`start_workflow` for an ``async def`` workflow, from a coroutine."""
    token = await _GATE.enter_async()
    try:
        with SetWorkflowID(workflow_id) if workflow_id else contextlib.nullcontext():
            return WorkflowRunAsync(await DBOS.start_workflow_async(fn, *args, **kwargs))
    finally:
        _GATE.leave_async(token)


async def enqueue_async(
    queue: str,
    fn: Callable[..., Coroutine[Any, Any, R]],
    *args: Any,
    workflow_id: str | None = None,
    deduplication_id: str | None = None,
    partition_key: str | None = None,
    **kwargs: Any,
) -> WorkflowRunAsync[R]:
    """:func:`enqueue` for an ``async def`` workflow, from a coroutine."""
    token = await _GATE.enter_async()
    with contextlib.ExitStack() as stack:
        stack.callback(_GATE.leave_async, token)
        if workflow_id:
            stack.enter_context(SetWorkflowID(workflow_id))
        if deduplication_id or partition_key:
            stack.enter_context(
                SetEnqueueOptions(
                    deduplication_id=deduplication_id, queue_partition_key=partition_key
                )
            )
        return WorkflowRunAsync(await DBOS.enqueue_workflow_async(queue, fn, *args, **kwargs))


# --------------------------------------------------------------------------- in-process engine


class _RetryWithoutTraceback(logging.Filter):
    """DBOS logs every automatic step retry as a warning WITH the error's traceback.
    A retried step is routine (a 500, a timeout: the clients already log each failed call
    in one line), and under faults the tracebacks buried everything else and read as
    crashes (a stop during a retry printed one). Keep the warning, in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).startswith("Step being automatically retried"):
            error = record.exc_info[1]
            record.msg = f"{record.msg}: {type(error).__name__}: {error}"
            record.exc_info = None
            record.exc_text = None
        return True


_RETRY_FILTER = _RetryWithoutTraceback()

_ACTIVE: list[Engine] = []  # at most one: DBOS is a process-global singleton


def _list_kwargs(
    *,
    status: str | Sequence[str] | None,
    executor_id: str | Sequence[str] | None,
    name: str | Sequence[str] | None,
    queue_name: str | Sequence[str] | None,
    workflow_ids: Sequence[str] | None,
    workflow_id_prefix: str | None,
    parent_workflow_id: str | None,
    load_output: bool,
) -> dict[str, Any]:
    def many(value: str | Sequence[str] | None) -> str | list[str] | None:
        return value if value is None or isinstance(value, str) else list(value)

    return {
        "status": many(status),
        "executor_id": many(executor_id),
        "name": many(name),
        "queue_name": many(queue_name),
        "workflow_ids": None if workflow_ids is None else list(workflow_ids),
        "workflow_id_prefix": workflow_id_prefix,
        "parent_workflow_id": parent_workflow_id,
        "load_input": False,
        "load_output": load_output,
    }


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
            logging.getLogger(__name__).warning(
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


# --------------------------------------------------------------------------- out-of-process client


class EngineClient:
    """Enqueue and inspect workflows from a process that does not run them.

    It needs the system database to exist already (a worker or ``mirakl-sync run`` has
    launched once). Workflows are addressed by their registered ``name``.
    """

    def __init__(self, system_database_url: str) -> None:
        self._client = DBOSClient(
            system_database_url=system_database_url, application_name=APP_NAME
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineClient:
        return cls(system_database_url_for(settings))

    def close(self) -> None:
        self._client.destroy()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def enqueue(
        self,
        queue: str,
        workflow_name: str,
        *args: Any,
        workflow_id: str | None = None,
        deduplication_id: str | None = None,
        partition_key: str | None = None,
    ) -> str:
        """Enqueue the registered workflow ``workflow_name``; returns its workflow ID."""
        options: EnqueueOptions = {"queue_name": queue, "workflow_name": workflow_name}
        if workflow_id:
            options["workflow_id"] = workflow_id
        if deduplication_id:
            options["deduplication_id"] = deduplication_id
        if partition_key:
            options["queue_partition_key"] = partition_key
        handle: Any = self._client.enqueue(options, *args)
        workflow_id_out: str = handle.get_workflow_id()
        return workflow_id_out

    def status(self, workflow_id: str) -> WorkflowInfo | None:
        found = self.list_workflows(workflow_ids=[workflow_id])
        return found[0] if found else None

    def wait(
        self, workflow_id: str, *, timeout_seconds: float, poll_seconds: float = 0.2
    ) -> WorkflowInfo:
        """Poll until the workflow is finished; raise ``TimeoutError`` saying where it is."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            info = self.status(workflow_id)
            if info is not None and info.is_terminal:
                return info
            if time.monotonic() >= deadline:
                where = "unknown" if info is None else f"{info.status} on {info.executor_id}"
                raise TimeoutError(
                    f"workflow {workflow_id} not finished after {timeout_seconds:.0f} s "
                    f"(now {where}); is a worker running (mirakl-sync worker)?"
                )
            time.sleep(poll_seconds)

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
    ) -> list[WorkflowInfo]:
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
        return [_info(status) for status in self._client.list_workflows(**kwargs)]

    def list_steps(self, workflow_id: str) -> list[StepRecord]:
        return [_step(info) for info in self._client.list_workflow_steps(workflow_id)]

    def resume_workflows(self, workflow_ids: Sequence[str], queue: str | None) -> None:
        if workflow_ids:
            self._client.resume_workflows(list(workflow_ids), queue_name=queue)


__all__ = [
    "APP_NAME",
    "CANCELLED",
    "ENQUEUED",
    "ERROR",
    "ONCE_APP_NAME",
    "ONCE_QUEUE_PREFIX",
    "PENDING",
    "SUCCESS",
    "TERMINAL_STATES",
    "DrainReport",
    "Engine",
    "EngineClient",
    "EngineConfig",
    "RateLimit",
    "Schedule",
    "StepRecord",
    "WorkflowInfo",
    "WorkflowRun",
    "WorkflowRunAsync",
    "current_executor_id",
    "current_workflow_id",
    "default_executor_id",
    "durable_sleep",
    "durable_sleep_async",
    "engine_config_from_settings",
    "enqueue",
    "enqueue_async",
    "once_queue",
    "start_workflow",
    "start_workflow_async",
    "step",
    "system_database_url_for",
    "workflow",
]
