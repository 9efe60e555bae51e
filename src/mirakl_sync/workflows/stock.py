"""The stock, price and offer flows' schedule: one durable tick, and the webhook receiver.

One tick every ``min(stock_push_seconds)`` runs the cycles
(``services.stock_cycles``) for the marketplaces whose cadence is due: stock first,
incremental unless the reconcile is due; prices and the full offer refresh follow their
own, slower cadences and share one full read. Registered in ``run`` and ``demo`` by
:func:`register`. The ``--once`` runners are in ``entrypoints.stock_once``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from mirakl_sync.adapters.store.offers import SqlOfferStates
from mirakl_sync.adapters.store.stock_changes import SqlStockChanges
from mirakl_sync.config import Settings
from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.errors import RetryableError
from mirakl_sync.services.change_feed import ChangeFeed
from mirakl_sync.services.stock_cycles import (
    drift_cycle,
    incremental_stock_cycle,
    offer_cycle,
    price_cycle,
    stock_cycle,
)
from mirakl_sync.services.stock_services import StockServices
from mirakl_sync.workflows.engine import Engine, Schedule, step, workflow
from mirakl_sync.workflows.flow_context import current_flow_context, flow_context

logger = logging.getLogger(__name__)

STOCK_QUEUE = "stock"
INVENTORY_TOPIC = "inventory_levels/update"


# --------------------------------------------------------------------------- schedules


def _due(flow: str, code: str, every_seconds: float, services: StockServices) -> bool:
    last = services.states.cursor(f"schedule-{flow}", code)
    now = services.clock()
    if last is not None and now - float(last) < every_seconds * 0.95:
        return False
    services.states.set_cursor(
        f"schedule-{flow}", code, repr(now), datetime.fromtimestamp(now, UTC)
    )
    return True


def _tick_delayed(reason: str) -> ExceptionReport:
    return ExceptionReport(
        type=ExceptionType.STOCK_TICK_DELAYED,
        owner=OwnerTeam.OPS,
        severity=Severity.WARNING,
        entity_type="flow",
        entity_id="stock",
        message=f"a stock tick could not run ({reason}); the next tick retries, "
        "and stock changes wait until then",
    )


@step(name="mirakl_sync.stock.cycle_step")
def stock_cycle_step() -> dict[str, Any]:
    """One tick: stock for the due marketplaces first, then prices, offers and drift."""
    context = flow_context()
    settings = context.settings
    hub = context.hub
    # The model of the source outlives the tick's services: the last full read and its
    # patches, kept by the context (empty after a restart: a process's first tick is a
    # full read).
    services = hub.stock_services(model=context.stock_model)
    try:

        async def tick() -> dict[str, Any]:
            done: dict[str, Any] = {}
            markets = settings.marketplaces
            due_stock = [
                m for m in markets if _due("stock", m.code, m.stock_push_seconds, services)
            ]
            due_prices = [
                m for m in markets if _due("prices", m.code, m.price_push_seconds, services)
            ]
            due_offers = [
                m for m in markets if _due("offers", m.code, m.offer_refresh_hours * 3600, services)
            ]
            if not (due_stock or due_prices or due_offers):
                return done
            if not (due_prices or due_offers or services.reconcile_due()):
                # The common tick: stock only, from what changed (no full read).
                report = await incremental_stock_cycle(services, markets=due_stock)
                done["stock"] = {p.marketplace: p.lines for p in report.pushes}
                return done
            # Prices and offers still need the whole catalogue (price changes have no
            # dirty keys yet); the same read serves as the stock reconcile.
            snapshot = await services.snapshot()
            report = await stock_cycle(services, markets=due_stock, snapshot=snapshot)
            done["stock"] = {p.marketplace: p.lines for p in report.pushes}
            done["full_read"] = True
            if due_prices:
                report = await price_cycle(services, markets=due_prices, snapshot=snapshot)
                done["prices"] = {p.marketplace: p.lines for p in report.pushes}
            if due_offers:
                report = await offer_cycle(services, markets=due_offers, snapshot=snapshot)
                done["offers"] = {p.marketplace: p.lines for p in report.pushes}
                drift = await drift_cycle(services, markets=due_offers)
                done["drift"] = {d.marketplace: len(d.mismatches) for d in drift}
            return done

        try:
            done = asyncio.run(tick())
        except RetryableError as exc:
            # Shopify throttled, Supercycle or a marketplace unreachable: nothing is lost
            # (dirty keys stay dirty, pending offers stay pending) and the next tick tries
            # again; ops see it only if it lasts.
            hub.store.exception_log.record(_tick_delayed(str(exc)), datetime.now(UTC))
            return {"skipped": str(exc)}
        hub.store.exception_log.resolve(_tick_delayed("").fingerprint, datetime.now(UTC))
        return done
    finally:
        if services.model is not None:
            context.stock_model = services.model


@workflow(name="mirakl_sync.stock.tick")
def stock_tick(scheduled_time: datetime, context: Any) -> dict[str, Any]:
    return stock_cycle_step()


# --------------------------------------------------------------------------- webhooks


def inventory_webhook_handler(
    store: sa.Engine, *, clock: Callable[[], float] = time.time
) -> Callable[[str, dict[str, Any], dict[str, str]], None]:
    """A web receiver callback marking the webhook's inventory item dirty (one DB write)
    in the hub's ``store``."""
    keys = SqlStockChanges(store)
    states = SqlOfferStates(store)

    def handle(topic: str, payload: dict[str, Any], headers: dict[str, str]) -> None:
        if topic == INVENTORY_TOPIC:
            ChangeFeed(states, keys, clock).note_inventory_webhook(payload)

    return handle


def handle_inventory_webhook(topic: str, payload: dict[str, Any], headers: dict[str, str]) -> None:
    """The web receiver's callback for ``inventory_levels/update``: mark the stock key dirty.

    Quick by design (one upsert; the Shopify read happens in the next stock tick). Other
    topics are ignored. Marking a key twice is harmless, so duplicate deliveries (same
    ``X-Shopify-Event-Id``) need no dedupe. Needs the process's flow context (the
    runtime's), or use :func:`inventory_webhook_handler` with the hub's store.
    """
    if topic != INVENTORY_TOPIC:
        return
    context = current_flow_context()
    if context is None:
        # Not a reason to fail the request (Shopify would retry, then drop the
        # subscription): the reconcile catches the change anyway.
        logger.warning(
            "inventory webhook ignored: no flow context in this process (the runtime "
            "sets it; or use inventory_webhook_handler(hub.store.engine))"
        )
        return
    inventory_webhook_handler(context.hub.store.engine, clock=context.clock)(
        topic, payload, headers
    )


def tick_cron(settings: Settings) -> str:
    """A 6-field cron (seconds first) ticking at the shortest stock cadence."""
    seconds = min((m.stock_push_seconds for m in settings.marketplaces), default=60.0)
    whole = max(1, int(seconds))
    if whole < 60:
        return f"*/{whole} * * * * *"
    return f"0 */{max(1, whole // 60)} * * * *"


def register(engine: Engine, settings: Settings) -> None:
    """Create the stock queue and its schedule (called by the runtime after launch)."""
    # One tick at a time across every process: two overlapping ticks would push twice.
    engine.register_queue(STOCK_QUEUE, concurrency=1, worker_concurrency=1)
    if settings.marketplaces:
        engine.apply_schedules(
            [
                Schedule(
                    name="mirakl_sync.stock.tick",
                    workflow_fn=stock_tick,
                    cron=tick_cron(settings),
                    queue_name=STOCK_QUEUE,
                )
            ]
        )
