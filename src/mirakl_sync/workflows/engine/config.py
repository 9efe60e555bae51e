"""The engine's configuration: the application namespaces and the pinned workflow
version, :class:`EngineConfig` and how it is built from the settings."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from mirakl_sync.config import Settings
from mirakl_sync.errors import ConfigError

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
    """Where the engine keeps its state (see the package docstring for the rules)."""
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
