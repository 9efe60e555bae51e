"""Dispatch, cancellation and refund workflows, keyed by their source.

* ``mirakl_sync.dispatch_fulfilment`` (id ``dispatch:<fulfilment source>``): tracking
  (or ST01), then OR24, each a durable step; an order waiting for its debit is retried
  after a durable sleep. A crash between OR23 and OR24 resumes with OR24 only.
* ``mirakl_sync.refund_source`` (id ``refund:<source key>``): OR28 once (see
  ``services.refunds``), then follows ``refund_state`` through OR11 until REFUNDED.
* ``mirakl_sync.cancel_order`` (id ``cancel:<marketplace>:<order>``).
* Schedules ``shipments-poll`` / ``refunds-poll`` run the polling safety nets: the
  fulfilments, refunds and cancellations of every shop order changed since the flow's
  cursor, shipped or not (``services.shop_feed``), fulfilled Supercycle cycles
  (``services.cycle_feed``) and Supercycle returns. Every write they make re-reads Mirakl
  first or is keyed by its source, so nothing is sent twice.
* ``run_shipments_once`` / ``run_refunds_once``: one such pass for
  ``mirakl-sync sync shipments|refunds --once``.

``handle_shopify_webhook(topic, payload, headers)`` is the web receiver's callback: it
dedupes by ``X-Shopify-Event-Id`` and starts the right workflow.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog

from mirakl_sync.adapters.mirakl.dispatch_api import MiraklDispatchApi
from mirakl_sync.adapters.shopify.dispatch_api import ShopifyDispatchApi
from mirakl_sync.adapters.store.call_budget import SqlClaims
from mirakl_sync.adapters.store.dispatch import SqlBindings, SqlCursors, SqlMarketplaceOrderIndex
from mirakl_sync.adapters.store.stock_ledger import SqlStockLedger
from mirakl_sync.adapters.supercycle.returns_api import SupercycleReturnsApi
from mirakl_sync.bootstrap import Hub, bootstrap
from mirakl_sync.config import Settings
from mirakl_sync.domain.exceptions import OwnerTeam
from mirakl_sync.services.cancellations import CancellationService
from mirakl_sync.services.cycle_feed import cycle_fulfilments
from mirakl_sync.services.dispatch import (
    RETRY_SHIPMENTS,
    DispatchResult,
    DispatchService,
    DispatchStatus,
    Fulfilment,
)
from mirakl_sync.services.pass_failures import SOURCE_UNREADABLE, PassFailures, PassRecord
from mirakl_sync.services.reference_cache import ReferenceCache
from mirakl_sync.services.refunds import (
    REFUNDED,
    RETRY_REFUNDS,
    RefundService,
    RefundSource,
    RefundStatus,
)
from mirakl_sync.services.return_feed import due_refunds
from mirakl_sync.services.shop_feed import PAGE_SIZE as SHOP_FEED_PAGE_SIZE
from mirakl_sync.services.shop_feed import (
    FeedPass,
    ShopChangeFeed,
    ShopEvents,
    fulfilment_from_shopify,
    split_shop_refund,
)
from mirakl_sync.workflows.adoption import order_adoption
from mirakl_sync.workflows.engine import (
    Engine,
    Schedule,
    durable_sleep,
    start_workflow,
    step,
    workflow,
)

log = structlog.get_logger(__name__)
T = TypeVar("T")

QUEUE = "dispatch"
#: Seconds between tries while an order waits for its debit, and how many tries.
WAIT_SECONDS = 60.0
WAIT_TRIES = 24 * 60
#: Seconds between refund_state reads, and how many.
FOLLOW_SECONDS = 300.0
FOLLOW_TRIES = 12 * 24
#: Shop orders per page of the safety-net poll (``services.shop_feed``; tests shrink it).
SHOP_PAGE_SIZE = SHOP_FEED_PAGE_SIZE
#: Fulfilled cycles are read from the last pass minus this overlap (a cycle updated
#: while a pass ran is read again; dispatch ships nothing twice).
CYCLES_OVERLAP = timedelta(hours=1)
#: Changed return orders are read from the last pass minus this overlap (as cycles).
RETURNS_OVERLAP = timedelta(hours=1)
#: How far back the first pass reads fulfilled cycles.
CYCLES_FIRST_LOOKBACK = timedelta(days=7)
#: Test hook: when this environment variable is set, the process dies (``os._exit``)
#: right after OR23 is checkpointed and before OR24, so the crash test kills a real
#: worker at the one point that matters. Never set it in production.
CRASH_AFTER_TRACKING_ENV = "MIRAKL_SYNC_TEST_CRASH_AFTER_OR23"


@dataclass
class _Config:
    settings: Settings | None = None
    hub_factory: Callable[[Settings], Hub] = bootstrap
    #: Built once per configuration: its database engine and pool serve every step and
    #: webhook of this process (a hub per call leaked pools and cost a connect each).
    hub: Hub | None = None
    wait_seconds: float = WAIT_SECONDS
    follow_seconds: float = FOLLOW_SECONDS
    #: The hub's clock for the kits of this process (tests on a fake clock set theirs).
    clock: Callable[[], float] = time.time


_CONFIG = _Config()


def configure(
    settings: Settings,
    *,
    hub_factory: Callable[[Settings], Hub] | None = None,
    wait_seconds: float | None = None,
    follow_seconds: float | None = None,
    clock: Callable[[], float] | None = None,
) -> None:
    """Set what the workflows of this process use (``register`` calls it; tests too)."""
    _CONFIG.settings = settings
    if clock is not None:
        _CONFIG.clock = clock
    if _CONFIG.hub is not None:
        _CONFIG.hub.close()
        _CONFIG.hub = None
    if hub_factory is not None:
        _CONFIG.hub_factory = hub_factory
    if wait_seconds is not None:
        _CONFIG.wait_seconds = wait_seconds
    if follow_seconds is not None:
        _CONFIG.follow_seconds = follow_seconds


@dataclass
class Kit:
    """The services of this area, over one hub's clients (open for one cycle)."""

    hub: Hub
    dispatch: DispatchService
    refunds: RefundService
    cancellations: CancellationService
    shop: ShopifyDispatchApi
    index: SqlMarketplaceOrderIndex
    bindings: SqlBindings
    clock: Callable[[], float] = time.time


@asynccontextmanager
async def open_kit(hub: Hub, clock: Callable[[], float] = time.time) -> AsyncIterator[Kit]:
    settings = hub.settings
    engine = hub.store.engine
    clients: dict[str, MiraklDispatchApi] = {}
    shopify = hub.shopify()
    # Claims: one SH21/RE01 request at a time across steps and processes (issue 9).
    references = ReferenceCache(SqlCursors(engine), clock, claims=SqlClaims(engine))

    def api(code: str) -> MiraklDispatchApi:
        if code not in clients:
            clients[code] = MiraklDispatchApi(hub.mirakl(settings.marketplace(code)), code)
        return clients[code]

    index = SqlMarketplaceOrderIndex(engine)
    bindings = SqlBindings(engine)
    shop = ShopifyDispatchApi(shopify)
    log_ = hub.store.exception_log
    try:
        yield Kit(
            hub=hub,
            dispatch=DispatchService(settings, api, index, log_, references, clock, shop),
            refunds=RefundService(settings, api, bindings, log_, references, clock),
            # The ledger: a cancelled line's hold goes back to the pool.
            cancellations=CancellationService(
                settings, api, log_, references, clock, SqlStockLedger(engine)
            ),
            shop=shop,
            index=index,
            bindings=bindings,
            clock=clock,
        )
    finally:
        for c in clients.values():
            await c.aclose()
        await shopify.aclose()


def _hub() -> Hub:
    settings = _CONFIG.settings
    if settings is None:
        raise RuntimeError("workflows.dispatch.configure(settings) was not called")
    if _CONFIG.hub is None:
        _CONFIG.hub = _CONFIG.hub_factory(settings)
    return _CONFIG.hub


def _run(body: Callable[[Kit], Coroutine[Any, Any, T]]) -> T:
    hub = _hub()

    async def main() -> T:
        async with open_kit(hub, _CONFIG.clock) as kit:
            return await body(kit)

    return asyncio.run(main())


# --------------------------------------------------------------------------- dispatch


@step(name="mirakl_sync.dispatch.tracking", retries=5, interval_seconds=5.0)
def tracking_step(fulfilment: dict[str, Any]) -> dict[str, Any]:
    f = Fulfilment(**fulfilment)
    return asdict(_run(lambda kit: kit.dispatch.tracking_phase(f)))


@step(name="mirakl_sync.dispatch.ship", retries=5, interval_seconds=5.0)
def ship_step(fulfilment: dict[str, Any], marketplace: str, order_id: str) -> dict[str, Any]:
    f = Fulfilment(**fulfilment)
    return asdict(_run(lambda kit: kit.dispatch.ship_phase(f, marketplace, order_id)))


@workflow(name="mirakl_sync.dispatch_fulfilment")
def dispatch_fulfilment(fulfilment: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for _ in range(WAIT_TRIES):
        result = tracking_step(fulfilment)
        if result["status"] == DispatchStatus.TRACKING_SENT:
            if os.environ.get(CRASH_AFTER_TRACKING_ENV):
                os._exit(86)
            for _ in range(WAIT_TRIES):
                result = ship_step(fulfilment, result["marketplace"], result["order_id"])
                if result["status"] != DispatchStatus.WAITING:
                    return result
                durable_sleep(_CONFIG.wait_seconds)
            return result
        if result["status"] != DispatchStatus.WAITING:
            return result
        durable_sleep(_CONFIG.wait_seconds)
    return result


def start_dispatch(f: Fulfilment) -> str:
    workflow_id = f"dispatch:{f.source_id}"
    start_workflow(dispatch_fulfilment, asdict(f), workflow_id=workflow_id)
    return workflow_id


# --------------------------------------------------------------------------- refunds


@step(name="mirakl_sync.refund.send", retries=5, interval_seconds=10.0)
def refund_step(source: dict[str, Any]) -> dict[str, Any]:
    s = RefundSource(**source)
    r = _run(lambda kit: kit.refunds.refund(s))
    return {"status": r.status.value, "refund_ids": list(r.refund_ids), "detail": r.detail}


@step(name="mirakl_sync.refund.states", retries=3, interval_seconds=10.0)
def refund_states_step(marketplace: str, order_id: str, ids: list[str]) -> dict[str, str]:
    return _run(lambda kit: kit.refunds.refund_states(marketplace, order_id, tuple(ids)))


@workflow(name="mirakl_sync.refund_source")
def refund_source(source: dict[str, Any]) -> dict[str, Any]:
    result = refund_step(source)
    if result["status"] not in (RefundStatus.SENT, RefundStatus.ALREADY_SENT):
        return result
    states: dict[str, str] = {}
    for _ in range(FOLLOW_TRIES):
        states = refund_states_step(source["marketplace"], source["order_id"], result["refund_ids"])
        if states and all(v == REFUNDED for v in states.values()):
            break
        durable_sleep(_CONFIG.follow_seconds)
    return {**result, "refund_states": states}


def start_refund(source: RefundSource) -> str:
    workflow_id = f"refund:{source.key}"
    start_workflow(refund_source, asdict(source), workflow_id=workflow_id)
    return workflow_id


# --------------------------------------------------------------------------- cancellations


@step(name="mirakl_sync.cancel.send", retries=5, interval_seconds=10.0)
def cancel_step(marketplace: str, order_id: str, skus: dict[str, int] | None) -> dict[str, Any]:
    async def body(kit: Kit) -> Any:
        if skus:
            return await kit.cancellations.cancel_skus(marketplace, order_id, skus)
        return await kit.cancellations.cancel_order(marketplace, order_id)

    return asdict(_run(body))


@workflow(name="mirakl_sync.cancel_order")
def cancel_order(marketplace: str, order_id: str, skus: dict[str, int] | None) -> dict[str, Any]:
    return cancel_step(marketplace, order_id, skus)


# --------------------------------------------------------------------------- polling


def shop_feed(kit: Kit) -> ShopChangeFeed:
    """The shop's changed orders since a flow's cursor (see ``services.shop_feed``)."""
    return ShopChangeFeed(
        kit.shop,
        kit.index,
        SqlCursors(kit.hub.store.engine),
        kit.clock,
        page_size=SHOP_PAGE_SIZE,
        # Orders accepted before the hub are linked on the way (issue 9).
        adoption=order_adoption(kit.hub, kit.shop, kit.clock),
    )


def _log_pass(scope: str, done: FeedPass) -> None:
    if done.complete:
        log.info("shop_feed.pass", scope=scope, pages=done.pages, orders=done.orders)
    else:
        log.warning(
            "shop_feed.pass_stopped",
            scope=scope,
            pages=done.pages,
            orders=done.orders,
            error=done.error,
            advice="the next pass resumes from the last page handled",
        )


async def collect_cycle_fulfilments(kit: Kit) -> list[Fulfilment]:
    """Fulfilled Supercycle cycles of marketplace orders, since the last pass."""
    supercycle = kit.hub.supercycle()
    if supercycle is None:
        return []
    cursors = SqlCursors(kit.hub.store.engine)
    now = datetime.fromtimestamp(kit.clock(), UTC)
    last = cursors.get("dispatch-cycles", "supercycle")
    since = datetime.fromisoformat(last) - CYCLES_OVERLAP if last else now - CYCLES_FIRST_LOOKBACK
    try:
        found = await cycle_fulfilments(SupercycleReturnsApi(supercycle), kit.index, since)
    finally:
        await supercycle.aclose()
    cursors.put("dispatch-cycles", "supercycle", now.isoformat(), now)
    return found


async def refund_supercycle_returns(
    kit: Kit, send: Callable[[RefundSource], Awaitable[str]] | None = None
) -> list[str]:
    """Refunds for Supercycle return lines due per the trigger: every return order on the
    first pass, then those changed since the last pass (minus an overlap); the cursor
    moves only once every refund of the pass was handled (a refund that failed is an
    exception the next passes retry, see ``services.pass_failures``). ``send`` sends one
    refund source and returns its status (default: ``RefundService.refund_in_pass``)."""
    supercycle = kit.hub.supercycle()
    if supercycle is None:
        return []
    cursors = SqlCursors(kit.hub.store.engine)
    now = datetime.fromtimestamp(kit.clock(), UTC)
    last = cursors.get("refunds-returns", "supercycle")
    since = datetime.fromisoformat(last) - RETURNS_OVERLAP if last else None
    try:
        sources = await due_refunds(
            SupercycleReturnsApi(supercycle), kit.index, kit.hub.settings.refunds, since
        )
    finally:
        await supercycle.aclose()

    async def in_pass(source: RefundSource) -> str:
        return (await kit.refunds.refund_in_pass(source)).status.value

    out = [await (send or in_pass)(source) for source in sources]
    cursors.put("refunds-returns", "supercycle", now.isoformat(), now)
    return out


def _source(name: str, scope: str, what: str, retry: str) -> PassRecord:
    """A source a pass reads, as the exception recorded when it does not answer."""
    return PassRecord(
        type=SOURCE_UNREADABLE,
        owner=OwnerTeam.OPS,
        doing=f"reading {what} for the {scope} pass (its cursor stays: the next pass reads "
        "it again)",
        retry=retry,
        entity_type="source",
        entity_id=f"{name}:{scope}",
    )


def _shop_feed_read(kit: Kit, scope: str, done: FeedPass, retry: str) -> None:
    """Log the shop feed's pass; record (or resolve) its source exception."""
    _log_pass(scope, done)
    failures = PassFailures(kit.hub.store.exception_log, kit.clock)
    item = _source("shopify-changes", scope, "the shop's changed orders (Shopify)", retry)
    if done.failure is not None:
        failures.failed(item, done.failure)
    elif done.complete:
        failures.succeeded(item)


async def _read_source(
    kit: Kit, item: PassRecord, read: Callable[[], Awaitable[list[T]]]
) -> list[T]:
    """``read()``, or nothing when the source does not answer (an exception for ops, and
    the pass carries on with the rest)."""
    outcome = await PassFailures(kit.hub.store.exception_log, kit.clock).attempt(item, read)
    return [] if isinstance(outcome, str) else outcome


def run_shipments_cycle(settings: Settings) -> list[DispatchResult]:
    """One polling pass: the fulfilments of every shop order changed since the last pass
    (page by page, see ``services.shop_feed``) and fulfilled Supercycle cycles, ST01 in
    batches; whole-order cancellations seen in the shop on the way; then the records of
    earlier passes that failed and are due again (``services.pass_failures``). A record
    that fails is an exception for ops and does not stop the others."""
    configure(settings)

    async def body(kit: Kit) -> list[DispatchResult]:
        results: list[DispatchResult] = []
        shipped: set[str] = set()
        cancelled: set[tuple[str, str]] = set()

        async def cancel(marketplace: str, order_id: str) -> None:
            if (marketplace, order_id) not in cancelled:
                cancelled.add((marketplace, order_id))
                await kit.cancellations.cancel_in_pass(marketplace, order_id)

        async def ship(fulfilments: list[Fulfilment]) -> None:
            fresh = list(
                {f.source_id: f for f in fulfilments if f.source_id not in shipped}.values()
            )
            shipped.update(f.source_id for f in fresh)
            if fresh:
                results.extend(await kit.dispatch.dispatch_many(fresh))

        async def page(events: ShopEvents) -> None:
            for marketplace, order_id in events.order_cancels:
                await cancel(marketplace, order_id)
            await ship(events.fulfilments)

        done = await shop_feed(kit).run("shipments", page)
        _shop_feed_read(kit, "shipments", done, RETRY_SHIPMENTS)
        cycles = _source(
            "supercycle-cycles", "shipments", "fulfilled Supercycle cycles", RETRY_SHIPMENTS
        )
        await ship(await _read_source(kit, cycles, lambda: collect_cycle_fulfilments(kit)))
        for marketplace, order_id, _ in kit.cancellations.due_retries(lines=False):
            await cancel(marketplace, order_id)
        await ship(kit.dispatch.due_retries())
        return results

    return _run(body)


def run_refunds_cycle(settings: Settings) -> list[str]:
    """One polling pass: refunds (and refunded unfulfilled units, OR30) of every shop order
    changed since the last pass, shipped or not; then Supercycle returns per the trigger;
    then the records of earlier passes that failed and are due again. A record that fails
    is an exception (finance for refunds, ops for cancellations) and does not stop the
    others."""
    configure(settings)

    async def body(kit: Kit) -> list[str]:
        out: list[str] = []
        refunded: set[str] = set()
        cancelled: set[tuple[str, str, str]] = set()

        async def cancel(marketplace: str, order_id: str, skus: dict[str, int]) -> None:
            key = (marketplace, order_id, repr(sorted(skus.items())))
            if key not in cancelled:
                cancelled.add(key)
                await kit.cancellations.cancel_in_pass(marketplace, order_id, skus)

        async def refund(source: RefundSource) -> str:
            if source.key in refunded:
                return "already_handled"
            refunded.add(source.key)
            status = (await kit.refunds.refund_in_pass(source)).status.value
            out.append(status)
            return status

        async def page(events: ShopEvents) -> None:
            for marketplace, order_id, skus in events.line_cancels:
                await cancel(marketplace, order_id, skus)
            for source in events.refunds:
                await refund(source)

        done = await shop_feed(kit).run("refunds", page)
        _shop_feed_read(kit, "refunds", done, RETRY_REFUNDS)
        returns = _source("supercycle-returns", "refunds", "Supercycle returns", RETRY_REFUNDS)
        await _read_source(kit, returns, lambda: refund_supercycle_returns(kit, refund))
        for marketplace, order_id, skus in kit.cancellations.due_retries(lines=True):
            await cancel(marketplace, order_id, skus or {})
        for source in kit.refunds.due_retries():
            await refund(source)
        return out

    return _run(body)


def _summary(what: str, statuses: list[str]) -> str:
    counts = Counter(statuses)
    detail = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return f"{what}: {len(statuses)} checked" + (f" ({detail})" if detail else "")


def run_shipments_once(settings: Settings) -> None:
    """``mirakl-sync sync shipments --once``: one full pass, done when it returns.

    The pass does its work itself (no workflow is left running): shipments sent,
    cancellations sent, exceptions recorded. Prints a one-line summary.
    """
    results = run_shipments_cycle(settings)
    print(_summary("shipments", [r.status.value for r in results]))


def run_refunds_once(settings: Settings) -> None:
    """``mirakl-sync sync refunds --once``: one full pass (Shopify refunds, line
    cancellations, Supercycle returns per the trigger); prints a one-line summary.

    ``refund_state`` is followed by the scheduled workflows, not by this one pass.
    """
    print(_summary("refund sources", run_refunds_cycle(settings)))


@workflow(name="mirakl_sync.shipments_poll")
def shipments_poll(scheduled_time: datetime, context: Any) -> int:
    return len(_poll_step("shipments"))


@workflow(name="mirakl_sync.refunds_poll")
def refunds_poll(scheduled_time: datetime, context: Any) -> int:
    return len(_poll_step("refunds"))


@step(name="mirakl_sync.dispatch.poll")
def _poll_step(kind: str) -> list[str]:
    settings = _CONFIG.settings
    assert settings is not None
    if kind == "shipments":
        return [r.status.value for r in run_shipments_cycle(settings)]
    return run_refunds_cycle(settings)


# --------------------------------------------------------------------------- webhooks

_SEEN_EVENTS: dict[str, float] = {}


def handle_shopify_webhook(
    topic: str, payload: dict[str, Any], headers: dict[str, str]
) -> str | None:
    """Start the workflow for a Shopify webhook; returns its workflow id (None: ignored).

    Duplicates (same ``X-Shopify-Event-Id``) are dropped here, and the workflow id is the
    source id, so a duplicate that gets through still runs nothing twice.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    event_id = lowered.get("x-shopify-event-id")
    if event_id:
        if event_id in _SEEN_EVENTS:
            return None
        _SEEN_EVENTS[event_id] = time.time()
    settings = _CONFIG.settings
    if settings is None:
        return None
    index = SqlMarketplaceOrderIndex(_hub().store.engine)
    order_id = str(payload.get("order_id") or payload.get("id") or "")
    if topic == "fulfillments/create":
        return start_dispatch(fulfilment_from_shopify(order_id, payload))
    ref = index.by_shopify_order(order_id)
    if ref is None:
        return None
    if topic == "refunds/create":
        source, cancelled = split_shop_refund(ref.marketplace, ref.order_id, payload)
        if cancelled:
            start_workflow(
                cancel_order,
                ref.marketplace,
                ref.order_id,
                cancelled,
                workflow_id=f"cancel:{ref.marketplace}:{ref.order_id}:{payload.get('id')}",
            )
        return start_refund(source) if source else None
    if topic == "orders/cancelled":
        workflow_id = f"cancel:{ref.marketplace}:{ref.order_id}"
        start_workflow(cancel_order, ref.marketplace, ref.order_id, None, workflow_id=workflow_id)
        return workflow_id
    return None


# --------------------------------------------------------------------------- registration


def register(engine: Engine, settings: Settings) -> None:
    """Configure the workflows and schedule the polling safety nets (every 5 minutes)."""
    configure(settings)
    engine.register_queue(QUEUE, worker_concurrency=settings.engine.worker_concurrency)
    engine.apply_schedules(
        [
            Schedule("shipments-poll", shipments_poll, "0 */5 * * * *"),
            Schedule("refunds-poll", refunds_poll, "30 */5 * * * *"),
        ]
    )


def doctor_unmapped_carriers(hub: Hub) -> list[str]:
    """Carrier names seen in open ``carrier_unmapped`` exceptions (for ``doctor``)."""
    names = {
        str(record.details.get("carrier"))
        for record in hub.store.exception_log.list(limit=1000)
        if record.type == "carrier_unmapped" and record.details.get("carrier") is not None
    }
    return sorted(names)
