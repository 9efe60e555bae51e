"""``mirakl-sync sync orders --once``: one pull of every marketplace, run to the end.

The cycle runs the order flow's durable workflows (``workflows.orders``) under an engine
of its own, in its own namespace, and prints one line per marketplace; see
:func:`run_orders_once`.
"""

from __future__ import annotations

import logging
import socket
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from mirakl_sync.adapters.process_identity import process_is_gone
from mirakl_sync.adapters.store.tables import marketplace_orders
from mirakl_sync.bootstrap import Transports, bootstrap
from mirakl_sync.config import MarketplaceSettings, Settings
from mirakl_sync.errors import ConfigError, MiraklSyncError
from mirakl_sync.workflows.engine import (
    ONCE_APP_NAME,
    PENDING,
    Engine,
    engine_config_from_settings,
    start_workflow,
)
from mirakl_sync.workflows.flow_context import FlowContext, using_flow_context
from mirakl_sync.workflows.heartbeat import Heartbeat, heartbeat_interval, live_executors
from mirakl_sync.workflows.orders import (
    ONCE_ORDER_QUEUE,
    QUEUE_POLL_SECONDS,
    order_concurrency,
    pull_marketplace,
)

logger = logging.getLogger(__name__)


class EngineBusyError(MiraklSyncError):
    """Another engine process runs on this database: a ``--once`` cycle must not."""


def _refuse_beside_a_running_engine(settings: Settings, store: sa.Engine, own_id: str) -> None:
    """A ``--once`` run refuses when a hub, a worker or another ``--once`` runs on the
    same database.

    A hub's scheduled pulls already do what ``--once`` would, and a second process pulling
    the same marketplace would race it on the watermark and on each order's decision.
    The row of this run's own executor ID left by a run that crashed (its process gone)
    is no obstacle: that is the work this run resumes at launch.
    """
    running = [
        (executor_id, role, age)
        for executor_id, role, age, hostname, pid in live_executors(
            store, now=time.time(), timeout_seconds=settings.engine.heartbeat_timeout_seconds
        )
        if not (executor_id == own_id and process_is_gone(hostname, pid))
    ]
    if running:
        executor_id, role, age = running[0]
        what = "another `sync orders --once`" if role == "once" else f"a {role}"
        raise EngineBusyError(
            f"{what} is running on this database (executor {executor_id}, heard from "
            f"{age:.0f} s ago); its pulls already do this: let them, or stop it first"
        )


def once_executor_id(settings: Settings) -> str:
    """Stable per host (or per configured executor), so a ``--once`` run that crashed is
    resumed by the next one at launch; distinct from the hub's own executor ID."""
    return f"{settings.engine.executor_id or socket.gethostname()}-once"


@dataclass
class OnceReport:
    """What one ``--once`` cycle did: a report per marketplace pulled, a line per failure."""

    reports: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _pull_failure(market: MarketplaceSettings, exc: BaseException) -> str:
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return f"{market.code}: could not pull orders from {market.base_url}: {reason}"


#: How long a ``--once`` run waits, after its own pulls, for work it still owns.
ONCE_DRAIN_SECONDS = 120.0


def run_orders_once(
    settings: Settings,
    *,
    transports: Transports | None = None,
    executor_id: str | None = None,
) -> OnceReport:
    """``mirakl-sync sync orders --once``: one pull of every marketplace, and every order
    workflow it starts run to completion.

    The cycle runs in its own engine namespace (:data:`ONCE_APP_NAME`), so it never takes
    a hub's queued or scheduled work, and refuses when a hub or worker is alive on the
    same database. While it runs it heartbeats like any engine process (role ``once``);
    work it leaves (a crash) is resumed by the next ``--once`` at launch (the executor ID
    is stable, :func:`once_executor_id`).

    Orders that became exceptions are a normal outcome. A marketplace that could not be
    pulled (Mirakl unreachable, wrong key) is one line in ``failures``, and the others are
    still pulled. Shopify being down is not such a failure: its orders wait, with
    exceptions for ops.
    """
    if not settings.marketplaces:
        raise ConfigError("no [[marketplaces]] configured: there is nothing to pull")
    context = FlowContext(settings, bootstrap(settings, transports=transports), once=True)
    # A context of this run's own, over any the process has (a test's): put back after.
    with using_flow_context(context):
        return _pull_once(context, settings, executor_id)


def _pull_once(context: FlowContext, settings: Settings, executor_id: str | None) -> OnceReport:
    store = context.hub.store.engine
    if not sa.inspect(store).has_table(marketplace_orders.name):
        raise ConfigError(
            f"{settings.database_url}: the hub's tables are missing; "
            "run `mirakl-sync db upgrade` first"
        )
    config = engine_config_from_settings(
        settings, executor_id=executor_id or once_executor_id(settings)
    )
    _refuse_beside_a_running_engine(settings, store, config.executor_id)
    config = replace(
        config,
        application_name=ONCE_APP_NAME,
        # The run reports each failure itself, in one line; the engine's own
        # tracebacks of a failed workflow (also recorded on it) only bury that line.
        log_level=config.log_level if config.log_level == "DEBUG" else "CRITICAL",
    )
    heartbeat = Heartbeat(
        store,
        config.executor_id,
        role="once",
        interval_seconds=heartbeat_interval(settings.engine.heartbeat_timeout_seconds),
    )
    engine = Engine(config)
    context.engine = engine
    # Beat before launch: launch resumes this executor's unfinished work.
    heartbeat.start()
    try:
        engine.launch()
        engine.register_queue(
            ONCE_ORDER_QUEUE,
            worker_concurrency=order_concurrency(settings),
            polling_interval_seconds=QUEUE_POLL_SECONDS,
        )
        # Work a crashed earlier run left was resumed by launch: finish it first, so
        # "once" means every order it touched is done.
        _finish_own_work(engine, PENDING)
        cycle = context.now().strftime("%Y%m%dT%H%M%S%f")
        outcome = OnceReport()
        for market in settings.marketplaces:
            run = start_workflow(
                pull_marketplace,
                market.code,
                cycle,
                True,
                workflow_id=f"order-pull:{market.code}:once-{cycle}",
            )
            try:
                outcome.reports.append(run.result())
            except Exception as exc:
                outcome.failures.append(_pull_failure(market, exc))
        _finish_own_work(engine, PENDING)
        for report in outcome.reports:
            logger.debug("orders pulled: %s", report)  # the CLI prints it
        return outcome
    finally:
        engine.destroy()
        heartbeat.stop()


def _finish_own_work(engine: Engine, pending: str) -> None:
    """Wait (bounded) for every workflow still PENDING under this executor."""
    deadline = time.monotonic() + ONCE_DRAIN_SECONDS
    for info in engine.list_workflows(
        status=pending, executor_id=engine.executor_id, load_output=False
    ):
        if time.monotonic() > deadline:
            logger.warning("left %s to the next --once run", info.workflow_id)
            continue
        try:
            engine.retrieve(info.workflow_id).result()
        except Exception:  # recorded on that workflow; the next pull retries it
            logger.warning("workflow %s failed", info.workflow_id)


def run_orders_cli(settings: Settings) -> None:
    """The ``sync orders --once`` runner: one line per marketplace pulled on stdout, one
    line per marketplace that could not be pulled on stderr; "could not run" (exit 3)
    only when no marketplace could be pulled."""
    outcome = run_orders_once(settings)
    for report in outcome.reports:
        print(
            f"{report['marketplace']}: {report['seen']} orders read, {report['new']} new, "
            f"{report['started']} workflows run {report['outcomes']}",
            flush=True,
        )
    failures = list(outcome.failures)
    if failures and not outcome.reports:
        last = failures.pop()
        for line in failures:
            print(f"mirakl-sync: {line}", file=sys.stderr, flush=True)
        raise MiraklSyncError(last)
    for line in failures:
        print(f"mirakl-sync: {line}", file=sys.stderr, flush=True)
