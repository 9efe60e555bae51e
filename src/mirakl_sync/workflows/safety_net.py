"""The safety-net passes: what the webhooks may have missed, polled every 5 minutes.

Webhooks carry fulfilments, refunds and cancellations at once, but Shopify does not
guarantee them (and none arrive while the hub is down), so two scheduled passes poll:

* ``shipments-poll``: the fulfilments and whole-order cancellations of every shop order
  changed since the flow's cursor, shipped or not (``services.shop_feed``), fulfilled
  Supercycle cycles (``services.cycle_feed``), then the records of earlier passes that
  failed and are due again (``services.pass_failures``);
* ``refunds-poll``: the refunds and line cancellations of the changed shop orders,
  Supercycle returns per the trigger (``services.return_feed``), then the due retries.

Every write they make re-reads Mirakl first or is keyed by its source, so nothing is sent
twice. ``run_shipments_once`` / ``run_refunds_once`` run one such pass for
``mirakl-sync sync shipments|refunds --once``.

The kit (clients and services over the process's hub) is ``workflows.dispatch``'s; it is
imported inside the functions because ``workflows.dispatch`` imports this module (so every
engine process registers these workflows before it launches).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from mirakl_sync.adapters.store.dispatch import SqlCursors
from mirakl_sync.adapters.supercycle.returns_api import SupercycleReturnsApi
from mirakl_sync.config import Settings
from mirakl_sync.domain.exceptions import OwnerTeam
from mirakl_sync.services.cycle_feed import cycle_fulfilments
from mirakl_sync.services.dispatch import RETRY_SHIPMENTS, DispatchResult, Fulfilment
from mirakl_sync.services.pass_failures import SOURCE_UNREADABLE, PassFailures, PassRecord
from mirakl_sync.services.refunds import RETRY_REFUNDS, RefundSource
from mirakl_sync.services.return_feed import due_refunds
from mirakl_sync.services.shop_feed import PAGE_SIZE as SHOP_FEED_PAGE_SIZE
from mirakl_sync.services.shop_feed import FeedPass, ShopChangeFeed, ShopEvents
from mirakl_sync.workflows.adoption import order_adoption
from mirakl_sync.workflows.engine import Engine, Schedule, step, workflow

if TYPE_CHECKING:
    from mirakl_sync.workflows.dispatch import Kit

log = structlog.get_logger(__name__)
T = TypeVar("T")

#: Shop orders per page of the safety-net poll (``services.shop_feed``; tests shrink it).
SHOP_PAGE_SIZE = SHOP_FEED_PAGE_SIZE
#: Fulfilled cycles are read from the last pass minus this overlap (a cycle updated
#: while a pass ran is read again; dispatch ships nothing twice).
CYCLES_OVERLAP = timedelta(hours=1)
#: Changed return orders are read from the last pass minus this overlap (as cycles).
RETURNS_OVERLAP = timedelta(hours=1)
#: How far back the first pass reads fulfilled cycles.
CYCLES_FIRST_LOOKBACK = timedelta(days=7)


def _run(body: Callable[[Kit], Coroutine[Any, Any, T]]) -> T:
    """``body`` over a kit of the process's hub (``workflows.dispatch``)."""
    from mirakl_sync.workflows import dispatch

    return dispatch._run(body)


def _configure(settings: Settings) -> None:
    from mirakl_sync.workflows import dispatch

    dispatch.configure(settings)


def _settings() -> Settings | None:
    from mirakl_sync.workflows import dispatch

    return dispatch._CONFIG.settings


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

    _configure(settings)

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

    _configure(settings)

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
    settings = _settings()
    assert settings is not None
    if kind == "shipments":
        return [r.status.value for r in run_shipments_cycle(settings)]
    return run_refunds_cycle(settings)


def register(engine: Engine) -> None:
    """Schedule the polling safety nets (every 5 minutes; ``workflows.dispatch.register``)."""
    engine.apply_schedules(
        [
            Schedule("shipments-poll", shipments_poll, "0 */5 * * * *"),
            Schedule("refunds-poll", refunds_poll, "30 */5 * * * *"),
        ]
    )
