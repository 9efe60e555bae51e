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
:func:`configure` (called by :func:`register` in a hub process, by tests and by
``sync orders --once`` with their own transports), never from import time.

``MIRAKL_SYNC_CRASH_AFTER_STEP=N`` makes an import ``os._exit`` right after step N
(crash tests only).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from mirakl_sync.adapters.mirakl.marketplace import MiraklMarketplace
from mirakl_sync.adapters.shopify.mapping import ShopOrderOptions
from mirakl_sync.adapters.shopify.shop import ShopifyShop
from mirakl_sync.adapters.store.orders import SqlOrderRepository
from mirakl_sync.adapters.store.stock_ledger import SqlStockLedger
from mirakl_sync.adapters.supercycle.inventory import SupercycleInventory
from mirakl_sync.bootstrap import Hub, Transports, bootstrap
from mirakl_sync.config import MarketplaceSettings, Settings
from mirakl_sync.domain.orders import Action
from mirakl_sync.errors import RetryableError
from mirakl_sync.services.order_followup import follow_up
from mirakl_sync.services.order_import import (
    Bindings,
    MarketRules,
    OrderServices,
    Outcome,
    create_shop_order,
    decide_and_hold,
    mark_items_sold,
    resolve_lines,
    send_decision,
)
from mirakl_sync.services.order_pull import PullResult, PullSettings, pull_orders
from mirakl_sync.workflows.engine import (
    TERMINAL_STATES,
    Engine,
    Schedule,
    WorkflowRun,
    enqueue,
    step,
    workflow,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Where order imports and follow-ups run (any worker).
ORDER_QUEUE = "orders"
PULL_QUEUE_PREFIX = "orders-pull:"
IMPORT_WORKFLOW = "mirakl_sync.order_import"
FOLLOWUP_WORKFLOW = "mirakl_sync.order_followup"
PULL_WORKFLOW = "mirakl_sync.order_pull"
SCHEDULED_PULL_WORKFLOW = "mirakl_sync.order_pull_scheduled"
CRASH_ENV = "MIRAKL_SYNC_CRASH_AFTER_STEP"
QUEUE_POLL_SECONDS = 0.1
#: Follow-ups (paid, shipped, cancelled) queue behind every import, whichever pull
#: enqueued them first: an import has an acceptance deadline, a follow-up has none.
FOLLOWUP_PRIORITY = 10


# --------------------------------------------------------------------------- dependencies


@dataclass
class OrdersRuntime:
    settings: Settings
    hub: Hub
    engine: Engine | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


_RUNTIME: list[OrdersRuntime] = []


def configure(
    settings: Settings,
    *,
    transports: Transports | None = None,
    engine: Engine | None = None,
    clock: Callable[[], datetime] | None = None,
) -> OrdersRuntime:
    """Give the order workflows of this process their settings and systems."""
    close_runtime()
    runtime = OrdersRuntime(settings, bootstrap(settings, transports=transports), engine)
    if clock is not None:
        runtime.clock = clock
    _RUNTIME.append(runtime)
    return runtime


def close_runtime() -> None:
    while _RUNTIME:
        _RUNTIME.pop().hub.close()


def _runtime() -> OrdersRuntime:
    if not _RUNTIME:
        raise RuntimeError(
            "the order workflows are not configured in this process; the runtime calls "
            "mirakl_sync.workflows.orders.register (or configure) after launch"
        )
    return _RUNTIME[-1]


def market_rules(market: MarketplaceSettings) -> MarketRules:
    return MarketRules(
        code=market.code,
        name=market.display_name,
        acceptance_window_hours=market.acceptance_window_hours,
        partial_acceptance=market.partial_acceptance,
        accept_when_shop_down=market.accept_when_shop_down,
        accept_when_shop_down_minutes=market.accept_when_shop_down_minutes,
    )


@asynccontextmanager
async def order_services(marketplace: str) -> AsyncIterator[OrderServices]:
    """The services of one marketplace's orders, with clients closed on the way out."""
    runtime = _runtime()
    settings = runtime.settings
    market = settings.marketplace(marketplace)
    hub = runtime.hub
    mirakl = hub.mirakl(market)
    shopify = hub.shopify()
    supercycle = hub.supercycle()
    try:
        options = ShopOrderOptions(
            source_name=settings.shopify.source_name,
            marketplace_name=market.display_name,
            shipping_methods=dict(market.shipping_methods),
            default_shipping_method=market.default_shipping_method,
        )
        yield OrderServices(
            rules=market_rules(market),
            repository=SqlOrderRepository(hub.store.engine),
            ledger=SqlStockLedger(hub.store.engine),
            exceptions=hub.store.exception_log,
            marketplace=MiraklMarketplace(mirakl, market.code),
            shop=ShopifyShop(shopify, options=options, locations=settings.shopify.locations),
            items=None
            if supercycle is None
            else SupercycleInventory(
                supercycle,
                require_ready=settings.supercycle.require_ready if settings.supercycle else False,
            ),
            clock=runtime.clock,
        )
    finally:
        await mirakl.aclose()
        await shopify.aclose()
        if supercycle is not None:
            await supercycle.aclose()


def _run(marketplace: str, work: Callable[[OrderServices], Coroutine[Any, Any, T]]) -> T:
    async def main() -> T:
        async with order_services(marketplace) as services:
            return await work(services)

    return asyncio.run(main())


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetryableError)


def _crash_point(step_number: int) -> None:
    if os.environ.get(CRASH_ENV) == str(step_number):
        os._exit(17)


# --------------------------------------------------------------------------- import steps


@step(name="orders.resolve_lines", retries=2, interval_seconds=0.5, should_retry=_retryable)
def resolve_step(marketplace: str, order_id: str) -> Bindings:
    return _run(marketplace, lambda s: resolve_lines(s, order_id))


@step(name="orders.decide_and_hold", retries=2, interval_seconds=0.5, should_retry=_retryable)
def decide_step(marketplace: str, order_id: str, bindings: Bindings) -> Outcome:
    return _run(marketplace, lambda s: decide_and_hold(s, order_id, bindings))


@step(name="orders.shop_order", retries=2, interval_seconds=0.5, should_retry=_retryable)
def shop_order_step(marketplace: str, order_id: str, bindings: Bindings) -> str:
    return _run(marketplace, lambda s: create_shop_order(s, order_id, bindings))


@step(name="orders.items_sold", retries=3, interval_seconds=0.5, should_retry=_retryable)
def items_step(marketplace: str, order_id: str, bindings: Bindings) -> int:
    return _run(marketplace, lambda s: mark_items_sold(s, order_id, bindings))


@step(name="orders.send_decision", retries=3, interval_seconds=1.0, should_retry=_retryable)
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


@step(name="orders.follow_up", retries=3, interval_seconds=1.0, should_retry=_retryable)
def followup_step(marketplace: str, order_id: str) -> str:
    return str(_run(marketplace, lambda s: follow_up(s, order_id)).value)


@workflow(name=FOLLOWUP_WORKFLOW)
def followup_order(marketplace: str, order_id: str, change: str) -> str:
    return followup_step(marketplace, order_id)


# --------------------------------------------------------------------------- pull


def pull_settings(market: MarketplaceSettings) -> PullSettings:
    return PullSettings(
        marketplace=market.code,
        overlap_seconds=market.effective_order_overlap_seconds,
        acceptance_window_hours=market.acceptance_window_hours,
        full_sweep_hours=market.order_full_sweep_hours,
    )


@step(name="orders.pull", retries=2, interval_seconds=1.0, should_retry=_retryable)
def pull_step(marketplace: str) -> PullResult:
    runtime = _runtime()
    market = runtime.settings.marketplace(marketplace)

    async def work(services: OrderServices) -> PullResult:
        return await pull_orders(
            services.marketplace,
            services.repository,
            pull_settings(market),
            now=runtime.clock(),
        )

    return _run(marketplace, work)


def import_workflow_id(marketplace: str, order_id: str) -> str:
    return f"order:{marketplace}:{order_id}"


@step(name="orders.plan")
def plan_step(marketplace: str, result: PullResult, cycle: str) -> list[tuple[str, str, str]]:
    """(kind, order id, workflow id) to start: the first import of an order uses its
    plain id, a retry after a finished attempt adds the cycle; an order with an attempt
    still running is left to it."""
    engine = _runtime().engine
    plan: list[tuple[str, str, str]] = []
    for order_id in result.imports:
        base = import_workflow_id(marketplace, order_id)
        runs = (
            []
            if engine is None
            else engine.list_workflows(workflow_id_prefix=base, load_output=False)
        )
        if any(run.status not in TERMINAL_STATES for run in runs):
            continue
        plan.append(("import", order_id, base if not runs else f"{base}@{cycle}"))
    for order_id, change in result.followups.items():
        suffix = f"@{cycle}" if change == "shop-order" else ""
        plan.append(
            ("followup", order_id, f"order-followup:{marketplace}:{order_id}:{change}{suffix}")
        )
    return plan


@workflow(name=PULL_WORKFLOW)
def pull_marketplace(marketplace: str, cycle: str, wait: bool = False) -> dict[str, Any]:
    """One pull cycle of one marketplace; ``wait`` runs the started workflows to the end."""
    result = pull_step(marketplace)
    runs: list[WorkflowRun[str]] = []
    for kind, order_id, workflow_id in plan_step(marketplace, result, cycle):
        if kind == "import":
            runs.append(
                enqueue(ORDER_QUEUE, import_order, marketplace, order_id, workflow_id=workflow_id)
            )
        else:
            runs.append(
                enqueue(
                    ORDER_QUEUE,
                    followup_order,
                    marketplace,
                    order_id,
                    workflow_id.rsplit(":", 1)[-1],
                    workflow_id=workflow_id,
                    priority=FOLLOWUP_PRIORITY,
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


@workflow(name=SCHEDULED_PULL_WORKFLOW)
def scheduled_pull(scheduled_time: datetime, context: Any) -> dict[str, Any]:
    marketplace = str(context)
    return pull_marketplace(marketplace, scheduled_time.strftime("%Y%m%dT%H%M%S"))


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


def register(engine: Engine, settings: Settings) -> None:
    """Queues and one pull schedule per marketplace (called by the runtime after launch)."""
    configure(settings, engine=engine)
    # An order passes both queues on its way in (pull, then import): each poll interval
    # is up to that much latency before acceptance, and each poll is a small write
    # transaction on the system database.
    engine.register_queue(
        ORDER_QUEUE,
        worker_concurrency=settings.engine.worker_concurrency,
        polling_interval_seconds=QUEUE_POLL_SECONDS,
    )
    for market in settings.marketplaces:
        engine.register_queue(
            PULL_QUEUE_PREFIX + market.code,
            concurrency=1,
            worker_concurrency=1,
            polling_interval_seconds=QUEUE_POLL_SECONDS,
        )
    engine.apply_schedules(
        [
            Schedule(
                name=f"orders-pull-{market.code}",
                workflow_fn=scheduled_pull,
                cron=cron_every(
                    market.order_poll_seconds, slot=index, slots=len(settings.marketplaces)
                ),
                queue_name=PULL_QUEUE_PREFIX + market.code,
                context=market.code,
            )
            for index, market in enumerate(settings.marketplaces)
        ]
    )


# --------------------------------------------------------------------------- one cycle


def run_orders_once(
    settings: Settings,
    *,
    transports: Transports | None = None,
    executor_id: str | None = None,
) -> list[dict[str, Any]]:
    """``mirakl-sync sync orders --once``: one pull of every marketplace, and every order
    workflow it starts run to completion.

    Orders that became exceptions are a normal outcome. The cycle "could not run" when
    the store is not set up or a marketplace could not be pulled (Mirakl unreachable,
    wrong key): the others are still pulled, then ``MiraklSyncError`` names the failures.
    Shopify being down is not such a failure: its orders wait, with exceptions for ops.
    """
    import sqlalchemy as sa

    from mirakl_sync.adapters.store.tables import marketplace_orders
    from mirakl_sync.errors import ConfigError, MiraklSyncError
    from mirakl_sync.workflows.engine import engine_config_from_settings, start_workflow

    if not settings.marketplaces:
        raise ConfigError("no [[marketplaces]] configured: there is nothing to pull")
    runtime = configure(settings, transports=transports)
    try:
        if not sa.inspect(runtime.hub.store.engine).has_table(marketplace_orders.name):
            raise ConfigError(
                f"{settings.database_url}: the hub's tables are missing; "
                "run `mirakl-sync db upgrade` first"
            )
        engine = Engine(engine_config_from_settings(settings, executor_id=executor_id))
        runtime.engine = engine
        try:
            engine.launch()
            engine.register_queue(
                ORDER_QUEUE,
                worker_concurrency=settings.engine.worker_concurrency,
                polling_interval_seconds=0.1,
            )
            # Work this executor left unfinished (a crash) was resumed by launch: finish it
            # first, so "once" means every order it touched is done.
            for info in engine.list_workflows(
                status="PENDING", executor_id=engine.executor_id, load_output=False
            ):
                try:
                    engine.retrieve(info.workflow_id).result()
                except Exception:  # recorded on that workflow; the pull below retries it
                    logger.warning("resumed workflow %s failed", info.workflow_id)
            cycle = runtime.clock().strftime("%Y%m%dT%H%M%S%f")
            reports: list[dict[str, Any]] = []
            failures: list[str] = []
            for market in settings.marketplaces:
                run = start_workflow(
                    pull_marketplace,
                    market.code,
                    cycle,
                    True,
                    workflow_id=f"order-pull:{market.code}:once-{cycle}",
                )
                try:
                    reports.append(run.result())
                except Exception as exc:
                    failures.append(f"{market.code}: {exc}")
            for report in reports:
                logger.info("orders pulled: %s", report)
            if failures:
                raise MiraklSyncError("the order pull could not run on " + "; ".join(failures))
            return reports
        finally:
            engine.destroy()
    finally:
        close_runtime()


def run_orders_cli(settings: Settings) -> None:
    """The ``sync orders --once`` runner: one line per marketplace on stdout."""
    for report in run_orders_once(settings):
        print(
            f"{report['marketplace']}: {report['seen']} orders read, {report['new']} new, "
            f"{report['started']} workflows run {report['outcomes']}",
            flush=True,
        )
