"""The durable engine: a small facade over DBOS Transact 3.4.0, the only package importing ``dbos``.

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

Facts this package relies on (verified on 3.4.0, see shared/reference/engine.md): the 2.x
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

Parts (each imports the others directly, never this ``__init__``): ``config``
(namespaces, pinned version, :class:`EngineConfig`), ``records`` (states, workflow and
step records, run handles), ``schedules`` (rate limits, :class:`Schedule`,
:func:`cron_every`), ``drain`` (the drain gate, :class:`DrainReport`), ``flow_api``
(decorators and in-flow calls), ``log_filter``, ``in_process`` (:class:`Engine`) and
``client`` (:class:`EngineClient`). This module only re-exports them.
"""

from __future__ import annotations

from mirakl_sync.workflows.engine.client import EngineClient
from mirakl_sync.workflows.engine.config import (
    APP_NAME,
    ONCE_APP_NAME,
    ONCE_QUEUE_PREFIX,
    WORKFLOW_VERSION,
    EngineConfig,
    default_executor_id,
    engine_config_from_settings,
    once_queue,
    pinned_version,
    system_database_url_for,
)
from mirakl_sync.workflows.engine.drain import DrainReport
from mirakl_sync.workflows.engine.flow_api import (
    current_executor_id,
    current_workflow_id,
    durable_sleep,
    durable_sleep_async,
    enqueue,
    enqueue_async,
    start_workflow,
    start_workflow_async,
    step,
    step_failure,
    workflow,
)
from mirakl_sync.workflows.engine.in_process import Engine
from mirakl_sync.workflows.engine.records import (
    CANCELLED,
    ENQUEUED,
    ERROR,
    PENDING,
    SUCCESS,
    TERMINAL_STATES,
    StepRecord,
    WorkflowInfo,
    WorkflowRun,
    WorkflowRunAsync,
)
from mirakl_sync.workflows.engine.schedules import RateLimit, Schedule, cron_every

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
    "WORKFLOW_VERSION",
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
    "cron_every",
    "current_executor_id",
    "current_workflow_id",
    "default_executor_id",
    "durable_sleep",
    "durable_sleep_async",
    "engine_config_from_settings",
    "enqueue",
    "enqueue_async",
    "once_queue",
    "pinned_version",
    "start_workflow",
    "start_workflow_async",
    "step",
    "step_failure",
    "system_database_url_for",
    "workflow",
]
