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
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

from mirakl_sync.config import MarketplaceSettings, Settings
from mirakl_sync.domain.orders import Action
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
    pull_orders,
)
from mirakl_sync.workflows.engine import (
    ONCE_APP_NAME,
    ONCE_QUEUE_PREFIX,
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
from mirakl_sync.workflows.flow_context import FlowContext, flow_context
from mirakl_sync.workflows.heartbeat import (
    live_executors,
)
from mirakl_sync.workflows.pull_monitor import start_pull_monitor
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
