"""The order flow as durable workflows: a pull per marketplace, one workflow per order.

- ``mirakl_sync.order_pull`` (one per marketplace per cycle, on the ``orders-pull:<code>``
  queue, one at a time per marketplace): stores what OR11 says and starts the order
  workflows that are due;
- ``mirakl_sync.order_import`` (workflow id ``order:<marketplace>:<order_id>``; a retry of
  a held-up order adds ``@<cycle>``): resolve lines -> decide and hold -> shop order ->
  Supercycle items sold -> OR21, each a checkpointed step over one service function;
- ``mirakl_sync.order_followup`` (``order-followup:<marketplace>:<order_id>:<change>``):
  after the decision (paid, cancelled, incident).

Steps are sync functions that run the async services with ``asyncio.run`` and fresh
clients, so they never share an event loop with the engine. Dependencies come from
the process's flow context (``workflows.flow_context``: set by the runtime, by tests
and by ``sync orders --once`` with their own transports), never from import time.

``MIRAKL_SYNC_CRASH_AFTER_STEP=N`` makes an import ``os._exit`` right after step N
(crash tests only).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from mirakl_sync.adapters.process_identity import process_is_gone
from mirakl_sync.adapters.store.orders import SqlOrderRepository
from mirakl_sync.bootstrap import Transports, bootstrap
from mirakl_sync.config import MarketplaceSettings, Settings
from mirakl_sync.domain.orders import Action
from mirakl_sync.errors import ConfigError, MiraklSyncError
from mirakl_sync.services.order_followup import follow_up, record_followup_failure
from mirakl_sync.services.order_import import (
    Bindings,
    OrderServices,
    Outcome,
    create_shop_order,
    decide_and_hold,
    mark_items_sold,
    resolve_lines,
    send_decision,
)
from mirakl_sync.services.order_pull import (
    SHOP_ORDER_CHANGE,
    PullResult,
    PullSettings,
    check_pull_staleness,
    pull_orders,
)
from mirakl_sync.workflows.engine import (
    ONCE_APP_NAME,
    ONCE_QUEUE_PREFIX,
    PENDING,
    Engine,
    Schedule,
    WorkflowInfo,
    WorkflowRun,
    cron_every,
    enqueue,
    once_queue,
    step,
    step_failure,
    workflow,
)
from mirakl_sync.workflows.flow_context import FlowContext, flow_context, using_flow_context
from mirakl_sync.workflows.heartbeat import (
    Heartbeat,
    heartbeat_interval,
    live_executors,
)
from mirakl_sync.workflows.retry import step_retryable

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Where order imports and follow-ups run (any worker).
ORDER_QUEUE = "orders"
#: Where a ``sync orders --once`` run puts them instead: a queue name belongs to the
#: application that registered it first, so a ``--once`` run (its own namespace) that
#: registered ``orders`` made every later ``mirakl-sync run`` fail at start (see
#: :data:`~mirakl_sync.workflows.engine.ONCE_APP_NAME`).
ONCE_ORDER_QUEUE = once_queue(ORDER_QUEUE)
PULL_QUEUE_PREFIX = "orders-pull:"
IMPORT_WORKFLOW = "mirakl_sync.order_import"
FOLLOWUP_WORKFLOW = "mirakl_sync.order_followup"
PULL_WORKFLOW = "mirakl_sync.order_pull"
SCHEDULED_PULL_WORKFLOW = "mirakl_sync.order_pull_scheduled"
CRASH_ENV = "MIRAKL_SYNC_CRASH_AFTER_STEP"
QUEUE_POLL_SECONDS = 0.1
#: Order imports per configured worker slot (``engine.worker_concurrency``) a process
#: runs at once. An import spends its time waiting on Mirakl, Shopify and Supercycle (a
#: retry's backoff, a slow answer, a hung request until its timeout), not on the CPU; at
#: 8 at once, hangs and retries under faults held every slot and the queue grew.
ORDER_IO_FACTOR = 3
#: Follow-ups (paid, shipped, cancelled) queue behind every import, whichever pull
#: enqueued them first: an import has an acceptance deadline, a follow-up has none.
FOLLOWUP_PRIORITY = 10


# --------------------------------------------------------------------------- dependencies


@asynccontextmanager
async def order_services(
    marketplace: str, *, mirakl_options: dict[str, Any] | None = None
) -> AsyncIterator[OrderServices]:
    """The services of one marketplace's orders (``Hub.order_services``), on the
    process's flow context."""
    context = flow_context()
    async with context.hub.order_services(
        marketplace, clock=context.now, mirakl_options=mirakl_options
    ) as services:
        yield services


def _run(
    marketplace: str,
    work: Callable[[OrderServices], Coroutine[Any, Any, T]],
    *,
    mirakl_options: dict[str, Any] | None = None,
) -> T:
    async def main() -> T:
        async with order_services(marketplace, mirakl_options=mirakl_options) as services:
            return await work(services)

    return asyncio.run(main())


def _pull_retryable(exc: BaseException) -> bool:
    # A --once run reports an unreachable marketplace at once: each retry would wait for
    # the next OR11 slot (one a minute), which made a run take five minutes to say so.
    return step_retryable(exc) and not flow_context().once


def _crash_point(step_number: int) -> None:
    if os.environ.get(CRASH_ENV) == str(step_number):
        os._exit(17)


# --------------------------------------------------------------------------- import steps


@step(name="orders.resolve_lines", retries=2, interval_seconds=0.5)
def resolve_step(marketplace: str, order_id: str) -> Bindings:
    return _run(marketplace, lambda s: resolve_lines(s, order_id))


@step(name="orders.decide_and_hold", retries=2, interval_seconds=0.5)
def decide_step(marketplace: str, order_id: str, bindings: Bindings) -> Outcome:
    return _run(marketplace, lambda s: decide_and_hold(s, order_id, bindings))


@step(name="orders.shop_order", retries=2, interval_seconds=0.5)
def shop_order_step(marketplace: str, order_id: str, bindings: Bindings) -> str:
    return _run(marketplace, lambda s: create_shop_order(s, order_id, bindings))


@step(name="orders.items_sold", retries=3, interval_seconds=0.5)
def items_step(marketplace: str, order_id: str, bindings: Bindings) -> int:
    return _run(marketplace, lambda s: mark_items_sold(s, order_id, bindings))


@step(name="orders.send_decision", retries=3, interval_seconds=1.0)
def decision_step(marketplace: str, order_id: str) -> str:
    return str(_run(marketplace, lambda s: send_decision(s, order_id)).value)


@workflow(name=IMPORT_WORKFLOW)
def import_order(marketplace: str, order_id: str) -> str:
    """One marketplace order: into Shopify and accepted, refused at once, or waiting."""
    bindings = resolve_step(marketplace, order_id)
    _crash_point(1)
    outcome = decide_step(marketplace, order_id, bindings)
    _crash_point(2)
    if outcome.decision.action is Action.WAIT:
        return "waiting"
    shop = shop_order_step(marketplace, order_id, bindings)
    _crash_point(3)
    if shop == "wait":
        return "waiting"
    if any(binding.item_id is not None for binding in bindings.resolved().values()):
        # Only Supercycle items are marked sold; an order of shop variants alone skips
        # the step (and its checkpoint) rather than running it to do nothing.
        items_step(marketplace, order_id, bindings)
    _crash_point(4)
    status = decision_step(marketplace, order_id)
    _crash_point(5)
    return status


@step(name="orders.follow_up", retries=3, interval_seconds=1.0)
def followup_step(marketplace: str, order_id: str) -> str:
    return str(_run(marketplace, lambda s: follow_up(s, order_id)).value)


@step(name="orders.follow_up_failed")
def followup_failed_step(marketplace: str, order_id: str, change: str, reason: str) -> None:
    async def record(services: OrderServices) -> None:
        record_followup_failure(services, order_id, change, reason)

    _run(marketplace, record)


@workflow(name=FOLLOWUP_WORKFLOW)
def followup_order(marketplace: str, order_id: str, change: str) -> str:
    """Bring the hub's side of one order in line with the marketplace's change. One whose
    retries run out is an ops exception, and stays pending on the order: the next pulls
    start it again until it is done (``services.order_pull``)."""
    try:
        return followup_step(marketplace, order_id)
    except Exception as exc:  # the step's error, as checkpointed: replayed the same
        followup_failed_step(marketplace, order_id, change.split("@", 1)[0], step_failure(exc))
        return "retry"


# --------------------------------------------------------------------------- pull


def pull_settings(market: MarketplaceSettings) -> PullSettings:
    return PullSettings(
        marketplace=market.code,
        overlap_seconds=market.effective_order_overlap_seconds,
        acceptance_window_hours=market.acceptance_window_hours,
        full_sweep_hours=market.order_full_sweep_hours,
    )


@step(name="orders.pull", retries=2, interval_seconds=1.0, should_retry=_pull_retryable)
def pull_step(marketplace: str) -> PullResult:
    context = flow_context()
    market = context.settings.marketplace(marketplace)

    async def work(services: OrderServices) -> PullResult:
        return await pull_orders(
            services.marketplace,
            services.repository,
            pull_settings(market),
            now=context.now(),
        )

    return _run(marketplace, work, mirakl_options={"max_retries": 0} if context.once else None)


def import_workflow_id(marketplace: str, order_id: str) -> str:
    return f"order:{marketplace}:{order_id}"


@step(name="orders.plan")
def plan_step(marketplace: str, result: PullResult, cycle: str) -> list[tuple[str, str, str]]:
    """(kind, order id, workflow id) to start: the first import of an order uses its
    plain id, a retry after a finished attempt adds the cycle; an order with an attempt
    still running is left to it.

    Attempts of both namespaces count: a hub that saw only its own would reuse the plain
    id of an order a ``--once`` run already tried, and so get back that finished run
    instead of a new attempt (a workflow ID names one run whatever its namespace)."""
    context = flow_context()
    engine = context.engine
    plan: list[tuple[str, str, str]] = []
    alive: set[str] | None = None
    for order_id in result.imports:
        base = import_workflow_id(marketplace, order_id)
        runs = (
            []
            if engine is None
            else engine.list_workflows(
                workflow_id_prefix=base, load_output=False, every_namespace=True
            )
        )
        if any(not run.is_terminal for run in runs) and not context.once and alive is None:
            alive = _live_executor_ids(context)
        if attempts_in_the_way(runs, alive=alive, once=context.once):
            continue
        plan.append(("import", order_id, base if not runs else f"{base}@{cycle}"))
    # A change reported again by every cycle until it is done (the shop order to make, a
    # follow-up that gave up) carries the cycle: a workflow ID names one run, and the
    # finished one would be handed back instead of a new attempt.
    retried: set[str] = getattr(result, "retried", set())  # an older release's pull
    for order_id, change in result.followups.items():
        again = change == SHOP_ORDER_CHANGE or order_id in retried
        suffix = f"@{cycle}" if again else ""
        plan.append(
            ("followup", order_id, f"order-followup:{marketplace}:{order_id}:{change}{suffix}")
        )
    return plan


def _live_executor_ids(context: FlowContext) -> set[str]:
    timeout = context.settings.engine.heartbeat_timeout_seconds
    return {
        executor_id
        for executor_id, *_ in live_executors(
            context.hub.store.engine, now=time.time(), timeout_seconds=timeout
        )
    }


def attempts_in_the_way(
    runs: list[WorkflowInfo], *, alive: set[str] | None, once: bool
) -> list[WorkflowInfo]:
    """The unfinished attempts of an order that a new attempt must leave alone: all of
    them in a ``--once`` run; for the hub, all but those a dead ``--once`` abandoned."""
    unfinished = [run for run in runs if not run.is_terminal]
    if once or alive is None:
        return unfinished
    return [run for run in unfinished if not _abandoned_by_once(run, alive)]


def _abandoned_by_once(run: WorkflowInfo, alive: set[str]) -> bool:
    """An unfinished attempt a ``sync orders --once`` run left when it died.

    The hub cannot resume it (DBOS runs only its own namespace's rows, and the next
    ``--once`` may come days later), yet the order's acceptance deadline runs on. Its
    steps are guarded for a second run (the shop order is looked up by sourceIdentifier
    before it is created, OR21 re-reads the order), so the hub starts a new attempt
    instead of waiting on it; a ``--once`` that later resumes the old one finds the work
    done."""
    from_once = (run.queue_name or "").startswith(ONCE_QUEUE_PREFIX)
    return from_once and run.executor_id not in alive


def order_queue() -> str:
    """The queue this process's pulls put order work on (see :data:`ONCE_ORDER_QUEUE`)."""
    return ONCE_ORDER_QUEUE if flow_context().once else ORDER_QUEUE


@workflow(name=PULL_WORKFLOW)
def pull_marketplace(marketplace: str, cycle: str, wait: bool = False) -> dict[str, Any]:
    """One pull cycle of one marketplace; ``wait`` runs the started workflows to the end."""
    result = pull_step(marketplace)
    queue = order_queue()
    runs: list[WorkflowRun[str]] = []
    for kind, order_id, workflow_id in plan_step(marketplace, result, cycle):
        if kind == "import":
            runs.append(
                enqueue(queue, import_order, marketplace, order_id, workflow_id=workflow_id)
            )
        else:
            change = workflow_id.rsplit(":", 1)[-1]
            runs.append(
                enqueue(
                    queue,
                    followup_order,
                    marketplace,
                    order_id,
                    change,
                    workflow_id=workflow_id,
                    priority=FOLLOWUP_PRIORITY,
                    # One follow-up per order and change on the queue: a "shop-order"
                    # change is reported again by every cycle (its workflow ID carries
                    # the cycle), and under faults hundreds piled up behind the imports.
                    # Distinct changes keep their own follow-up (each reads the order as
                    # stored, so none is lost to a run that started before it).
                    deduplication_id=followup_dedup_id(marketplace, order_id, change),
                    if_active="attach",
                )
            )
    outcomes: dict[str, int] = {}
    if wait:
        for run in runs:
            try:
                outcome = run.result()
            except Exception:  # the failure is recorded on that workflow
                outcome = "error"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {
        "marketplace": marketplace,
        "seen": result.seen,
        "new": result.new,
        "started": len(runs),
        "swept": result.swept,
        "outcomes": outcomes,
    }


def pull_dedup_id(marketplace: str) -> str:
    """The queue deduplication ID every pull of ``marketplace`` shares: at most one is
    queued or running at a time."""
    return f"pull:{marketplace}"


def followup_dedup_id(marketplace: str, order_id: str, change: str) -> str:
    return f"followup:{marketplace}:{order_id}:{change.split('@', 1)[0]}"


def pull_queue(marketplace: str) -> str:
    return PULL_QUEUE_PREFIX + marketplace


def enqueue_pull(marketplace: str, cycle: str) -> WorkflowRun[dict[str, Any]]:
    """Put a pull of ``marketplace`` on its queue unless one is queued or running there
    already; then the run returned is that one (nothing is added)."""
    return enqueue(
        pull_queue(marketplace),
        pull_marketplace,
        marketplace,
        cycle,
        workflow_id=f"order-pull:{marketplace}:{cycle}",
        deduplication_id=pull_dedup_id(marketplace),
        if_active="attach",
    )


@workflow(name=SCHEDULED_PULL_WORKFLOW)
def scheduled_pull(scheduled_time: datetime, context: Any) -> dict[str, Any]:
    """A schedule's tick: a pull of the marketplace, unless its previous pull is still
    queued or running (issue 10: under faults a pull outlasted the period and every tick
    queued one more, 257 to 418 of them). The tick runs on the engine's internal queue
    and only enqueues, so it never waits behind the pull it guards."""
    marketplace = str(context)
    run = enqueue_pull(marketplace, scheduled_time.strftime("%Y%m%dT%H%M%S"))
    return {"marketplace": marketplace, "pull": run.workflow_id}


class PullMonitor:
    """Raises ``order_pull_stale`` when a marketplace's pulls stop succeeding.

    It runs beside the pulls, not in them: a pull stuck PENDING (its process died) or
    never started (no schedule fired) cannot report itself, and intake then stops
    silently while the worker still looks alive (issue 9, failure 6).
    """

    def __init__(self, context: FlowContext, interval_seconds: float) -> None:
        self._context = context
        self._interval = interval_seconds
        self._since = context.now()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> list[str]:
        """One pass over every marketplace; returns the codes whose pull is stale."""
        context = self._context
        repository = SqlOrderRepository(context.hub.store.engine)
        now = context.now()
        return [
            market.code
            for market in context.settings.marketplaces
            if check_pull_staleness(
                repository,
                context.hub.store.exception_log,
                marketplace=market.code,
                period_seconds=market.order_poll_seconds,
                now=now,
                watching_since=self._since,
            )
        ]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="order-pull-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.check()
            except Exception:  # a database blip: the next pass tries again
                logger.warning("order pull staleness check failed", exc_info=True)


def start_pull_monitor(context: FlowContext) -> PullMonitor:
    """The monitor of the context's marketplaces, stopped when the context closes."""
    shortest = min((m.order_poll_seconds for m in context.settings.marketplaces), default=60.0)
    monitor = PullMonitor(context, interval_seconds=min(30.0, max(1.0, shortest)))
    monitor.start()
    context.background.append(monitor)
    return monitor


def order_concurrency(settings: Settings) -> int:
    """How many order workflows one process runs at once (see :data:`ORDER_IO_FACTOR`)."""
    return settings.engine.worker_concurrency * ORDER_IO_FACTOR


def register(engine: Engine, settings: Settings) -> None:
    """Queues and one pull schedule per marketplace (called by the runtime after launch,
    on the flow context it set), and the monitor that says when pulls stop succeeding."""
    context = flow_context()
    if context.engine is None:
        context.engine = engine
    start_pull_monitor(context)
    # An order passes both queues on its way in (pull, then import): each poll interval
    # is up to that much latency before acceptance, and each poll is a small write
    # transaction on the system database.
    if engine.reclaim_queue(ORDER_QUEUE, from_application=ONCE_APP_NAME):
        logger.warning("queue %s taken back from an earlier `sync orders --once`", ORDER_QUEUE)
    engine.register_queue(
        ORDER_QUEUE,
        worker_concurrency=order_concurrency(settings),
        polling_interval_seconds=QUEUE_POLL_SECONDS,
    )
    for market in settings.marketplaces:
        engine.register_queue(
            pull_queue(market.code),
            concurrency=1,
            worker_concurrency=1,
            polling_interval_seconds=QUEUE_POLL_SECONDS,
        )
    engine.apply_schedules(
        [
            # No queue_name: the tick runs on the engine's internal queue and enqueues the
            # pull itself, with the marketplace's deduplication ID (scheduled_pull).
            Schedule(
                name=f"orders-pull-{market.code}",
                workflow_fn=scheduled_pull,
                cron=cron_every(
                    market.order_poll_seconds, slot=index, slots=len(settings.marketplaces)
                ),
                context=market.code,
            )
            for index, market in enumerate(settings.marketplaces)
        ]
    )
    # Pull every marketplace at start rather than at the next tick: after a restart the
    # orders that arrived meanwhile are read at once (issue 10: a median 54 s, at worst
    # 259 s). A pull a previous incarnation left queued or running (recovered at launch,
    # or handed over by the watchdog) is attached to instead.
    cycle = "start-" + context.now().strftime("%Y%m%dT%H%M%S%f")
    for market in settings.marketplaces:
        enqueue_pull(market.code, cycle)


# --------------------------------------------------------------------------- one cycle


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
    from mirakl_sync.adapters.store.tables import marketplace_orders
    from mirakl_sync.workflows.engine import engine_config_from_settings, start_workflow

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
