"""The safety-net passes' units: what each does, and the pass that chains them.

A pass (see ``workflows.safety_net``) is a chain of small units over the dispatch
services of the process's flow context: the adoption catch-up, one unit per page of the
shop feed, one per other source (Supercycle cycles or returns), the due retries and, for
``--once`` only, the orders of the exceptions a person fixed. :func:`_drive` runs them in
order, whether each is a durable step (a scheduled pass) or a plain call (a direct pass).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionStatus, OwnerTeam
from mirakl_sync.domain.shipments import OrderRef
from mirakl_sync.services.dispatch_types import (
    RETRY_SHIPMENTS,
    Fulfilment,
)
from mirakl_sync.services.pass_failures import (
    OPEN_LIMIT,
    PassFailures,
    PassRecord,
)
from mirakl_sync.services.refunds import RETRY_REFUNDS, RefundSource
from mirakl_sync.services.shop_feed import PAGE_SIZE as SHOP_FEED_PAGE_SIZE
from mirakl_sync.services.shop_feed import ShopChangeFeed, ShopEvents
from mirakl_sync.workflows.engine import (
    step_failure,
)
from mirakl_sync.workflows.flow_context import flow_context

if TYPE_CHECKING:
    from mirakl_sync.bootstrap import DispatchServices

from mirakl_sync.workflows.pass_sources import (
    _RETRY,
    REFUNDS,
    SHIPMENTS,
    _read_source,
    _shop_source,
    _source,
    _unit_record,
    collect_cycle_fulfilments,
    refund_supercycle_returns,
)

log = structlog.get_logger(__name__)
T = TypeVar("T")

#: The scheduled workflows' names, per kind of pass.
POLL_WORKFLOWS = {SHIPMENTS: "mirakl_sync.shipments_poll", REFUNDS: "mirakl_sync.refunds_poll"}
#: Shop orders per page of the safety-net poll (``services.shop_feed``; tests shrink it).
SHOP_PAGE_SIZE = SHOP_FEED_PAGE_SIZE
#: Pages one pass reads at most; a longer backlog goes on in the next pass, from the
#: cursor (10 orders a page: 10,000 changed orders a pass).
MAX_PAGES = 1000
#: Share of the period a scheduled pass may spend reading the shop feed (``_drive``).
FEED_SHARE = 0.5
#: Retries of a unit's step (a fault no service handles) before the pass skips it.
UNIT_RETRIES = 2
UNIT_RETRY_SECONDS = 2.0
#: Test hook: when set to N, the process dies (``os._exit``) right after a scheduled
#: pass's N-th page step is checkpointed, so a test can kill a real worker mid-pass.
#: Never set it in production.
CRASH_AFTER_PAGES_ENV = "MIRAKL_SYNC_TEST_CRASH_AFTER_POLL_PAGES"


# --------------------------------------------------------------------------- the services


def _run(body: Callable[[DispatchServices], Coroutine[Any, Any, T]]) -> T:
    """``body`` over the dispatch services of the process's flow context."""
    return flow_context().run_dispatch(body)


# --------------------------------------------------------------------------- sources


def shop_feed(kit: DispatchServices) -> ShopChangeFeed:
    """The shop's changed orders since a flow's cursor (see ``services.shop_feed``)."""
    # Orders accepted before the hub are linked on the way (issue 9).
    return kit.hub.shop_feed(kit, page_size=SHOP_PAGE_SIZE)


# --------------------------------------------------------------------------- what a unit does


@dataclass
class _Work:
    """What one unit did: results for the pass's summary, and the keys it handled (so a
    later unit of the same pass does not send them again: the pass's own dedupe)."""

    kit: DispatchServices
    handled: set[str]
    results: list[Any] = field(default_factory=list)
    new: list[str] = field(default_factory=list)

    def fresh(self, key: str) -> bool:
        if key in self.handled:
            return False
        self.handled.add(key)
        self.new.append(key)
        return True

    # -- shipments

    async def ship(self, fulfilments: list[Fulfilment], *, report: bool = True) -> None:
        """Dispatch ``fulfilments``; ``report`` False for the refunds pass's shipments
        ahead of a refund (the shipments pass is where shipments are counted)."""
        batch = list({f.source_id: f for f in fulfilments}.values())
        batch = [f for f in batch if self.fresh(f"fulfilment:{f.source_id}")]
        if batch:
            for result in await self.kit.dispatch.dispatch_many(batch):
                if report:
                    self.results.append({**asdict(result), "status": result.status.value})

    async def cancel_order(self, marketplace: str, order_id: str) -> None:
        if self.fresh(f"cancel:{marketplace}:{order_id}"):
            await self.kit.cancellations.cancel_in_pass(marketplace, order_id)

    # -- refunds

    async def cancel_lines(self, marketplace: str, order_id: str, skus: dict[str, int]) -> None:
        if self.fresh(f"cancel:{marketplace}:{order_id}:{sorted(skus.items())!r}"):
            await self.kit.cancellations.cancel_in_pass(marketplace, order_id, skus)

    async def refund(self, source: RefundSource) -> str:
        if not self.fresh(f"refund:{source.key}"):
            return "already_handled"
        status = (await self.kit.refunds.refund_in_pass(source)).status.value
        self.results.append(status)
        return status

    async def events(self, kind: str, events: ShopEvents) -> None:
        """Send what ``events`` ask; if that raises, nothing of it counts as handled (so
        its records are tried again, alone or in a later unit)."""
        handled, new, results = set(self.handled), len(self.new), len(self.results)
        try:
            await self._events(kind, events)
        except Exception:
            self.handled = handled
            del self.new[new:], self.results[results:]
            raise

    async def _events(self, kind: str, events: ShopEvents) -> None:
        if kind == SHIPMENTS:
            for marketplace, order_id in events.order_cancels:
                await self.cancel_order(marketplace, order_id)
            await self.ship(events.fulfilments)
            return
        for marketplace, order_id, skus in events.line_cancels:
            await self.cancel_lines(marketplace, order_id, skus)
        # A refund made after a fulfilment: the shipment first (once: the shipments
        # pass then finds it handled), so Mirakl sees it shipped, then refunded; refunded
        # first, its lines were no longer shippable and the order stayed SHIPPING.
        await self.ship(events.fulfilments_before(events.refunds), report=False)
        for source in events.refunds:
            await self.refund(source)

    def out(self, **extra: Any) -> dict[str, Any]:
        return {"results": self.results, "handled": self.new, **extra}


# --------------------------------------------------------------------------- units


async def catch_up_unit(kit: DispatchServices, kind: str, handled: list[str]) -> dict[str, Any]:
    """Orders adopted since the last pass, read once (``services.order_adoption``)."""
    work = _Work(kit, set(handled))
    await shop_feed(kit).catch_up(kind, lambda events: work.events(kind, events))
    return work.out(at=kit.clock())


async def start_unit(kit: DispatchServices, kind: str) -> str | None:
    """Where this pass reads the shop feed from (fixed for all its pages)."""
    return shop_feed(kit).start(kind)


async def page_unit(
    kit: DispatchServices, kind: str, since: str, after: str | None, handled: list[str]
) -> dict[str, Any]:
    """One page of the shop feed: its events sent, then the cursor moved past it. A page
    Shopify does not answer is an ops exception (``poll_source_unreadable``), resolved by
    the next pass that reads the feed to its end."""
    began = kit.clock()
    work = _Work(kit, set(handled))
    failures = PassFailures(kit.hub.store.exception_log, kit.clock)

    async def isolate(order: dict[str, Any], ref: OrderRef, exc: Exception) -> None:
        shop_order_id = str(order["id"])
        work.fresh(f"isolated:{shop_order_id}")  # the retries unit leaves it to the next pass
        failures.crashed(_order_record(kind, shop_order_id, ref), f"{type(exc).__name__}: {exc}")

    page = await shop_feed(kit).page(
        kind, since, after, lambda ev: work.events(kind, ev), isolate=isolate
    )
    if page.failure is not None:
        failures.failed(_shop_source(kind), page.failure)
    elif page.last:
        failures.succeeded(_shop_source(kind))
    return work.out(
        after=page.after,
        last=page.last,
        orders=page.orders,
        failed=None if page.failure is None else str(page.failure),
        advanced=page.advanced,
        skipped=page.skipped,
        # When the page began and was done (epoch seconds): the workflow bounds its feed
        # by them, and as a step's output they are replayed unchanged after a restart.
        began=began,
        at=kit.clock(),
    )


async def source_unit(kit: DispatchServices, kind: str, handled: list[str]) -> dict[str, Any]:
    """The pass's other source: fulfilled Supercycle cycles (shipments) or Supercycle
    returns per the trigger (refunds); one that does not answer is an ops exception."""
    work = _Work(kit, set(handled))
    if kind == SHIPMENTS:
        item = _source("supercycle-cycles", kind, "fulfilled Supercycle cycles", RETRY_SHIPMENTS)
        await work.ship(await _read_source(kit, item, lambda: collect_cycle_fulfilments(kit)))
    else:
        item = _source("supercycle-returns", kind, "Supercycle returns", RETRY_REFUNDS)
        await _read_source(kit, item, lambda: refund_supercycle_returns(kit, work.refund))
    return work.out()


async def retries_unit(kit: DispatchServices, kind: str, handled: list[str]) -> dict[str, Any]:
    """The records of earlier passes that failed and are due again, except those this
    pass already tried; the shop orders a page could not handle, read again."""
    work = _Work(kit, set(handled))
    await _retry_orders(kit, kind, work)
    if kind == SHIPMENTS:
        for marketplace, order_id, _ in kit.cancellations.due_retries(lines=False):
            await work.cancel_order(marketplace, order_id)
        await work.ship(kit.dispatch.due_retries())
    else:
        for marketplace, order_id, skus in kit.cancellations.due_retries(lines=True):
            await work.cancel_lines(marketplace, order_id, skus or {})
        for source in kit.refunds.due_retries():
            await work.refund(source)
    return work.out()


async def recheck_unit(kit: DispatchServices, kind: str, handled: list[str]) -> dict[str, Any]:
    """``sync shipments|refunds --once`` after a person fixed something (the command only:
    the scheduled passes and ``run_*_cycle`` leave these exceptions to a person). The shop
    orders of the open exceptions whose remedy is this very command (a carrier added to
    the map, a refund reason set) are read again and handled. The feed alone would not: it
    re-reads only its overlap, and skips there what a pass handled. Kept records
    (failures, waits) are the retries unit's."""
    work = _Work(kit, set(handled))
    feed = shop_feed(kit)
    shop_orders: list[str] = []
    for record in kit.hub.store.exception_log.list(status=ExceptionStatus.OPEN, limit=OPEN_LIMIT):
        details = record.details
        if details.get("retry") != _RETRY[kind] or isinstance(details.get("record"), dict):
            continue
        shop_order = details.get("shopify_order_id")
        if not shop_order and record.marketplace:
            ref = kit.index.by_order_id(
                record.marketplace, str(details.get("order_id") or record.entity_id)
            )
            shop_order = ref.shopify_order_id if ref is not None else None
        if shop_order:
            shop_orders.append(str(shop_order))
    for shop_order_id in dict.fromkeys(shop_orders):
        found = await feed.reread(shop_order_id)
        if found is None:
            continue
        events = ShopEvents()
        events.add(*found)
        await work.events(kind, events)
    return work.out()


def _order_record(kind: str, shop_order_id: str, ref: OrderRef) -> PassRecord:
    """A shop order whose events a page could not handle, kept for a retry."""
    return PassRecord(
        type=ExceptionType.POLL_ORDER_FAILED,
        owner=OwnerTeam.OPS,
        doing=f"the {kind} events of shop order {shop_order_id} (order {ref.order_id})",
        retry=_RETRY[kind],
        entity_type="shop_order",
        entity_id=f"{kind}:{shop_order_id}",
        marketplace=ref.marketplace,
        order_id=ref.order_id,
        record={"kind": kind, "shopify_order_id": shop_order_id},
    )


async def _retry_orders(kit: DispatchServices, kind: str, work: _Work) -> None:
    """Read again each shop order a page of this kind of pass could not handle, and
    handle its events (the feed's cursor has moved past it)."""
    failures = PassFailures(kit.hub.store.exception_log, kit.clock)
    feed = shop_feed(kit)
    for record in failures.due(ExceptionType.POLL_ORDER_FAILED, OwnerTeam.OPS):
        if record.get("kind") != kind:
            continue
        shop_order_id = str(record["shopify_order_id"])
        if f"isolated:{shop_order_id}" in work.handled:
            continue  # it failed in this very pass: the next one tries it again
        found = await feed.reread(shop_order_id)
        if found is None:  # no longer a marketplace order of the hub: nothing to send
            continue
        order, ref = found
        item = _order_record(kind, shop_order_id, ref)
        events = ShopEvents()
        events.add(order, ref)
        try:
            await work.events(kind, events)
        except Exception as exc:  # still failing: it stays kept, the next pass tries again
            failures.crashed(item, f"{type(exc).__name__}: {exc}")
        else:
            failures.succeeded(item)


async def unit_failed(kit: DispatchServices, kind: str, name: str, label: str, error: str) -> None:
    item = _unit_record(kind, name, label)
    PassFailures(kit.hub.store.exception_log, kit.clock).crashed(item, error)


async def pass_done(kit: DispatchServices, kind: str, summary: dict[str, Any]) -> None:
    """The pass's log line; the ``poll_step_failed`` exceptions of units that went
    through this time are resolved."""
    failures = PassFailures(kit.hub.store.exception_log, kit.clock)
    open_ = failures.open_entities(
        ExceptionType.POLL_STEP_FAILED, OwnerTeam.OPS
    )  # one read, not 5 writes
    ran = [n for n in _UNIT_NAMES if n != "recheck" or summary.get("rechecked")]
    for name in ran:
        if name not in summary["failed_units"] and f"{kind}:{name}" in open_:
            failures.succeeded(_unit_record(kind, name))
    event = "safety_net.pass" if summary["complete"] else "safety_net.pass_incomplete"
    log.info(event, **{k: v for k, v in summary.items() if k != "results"})


# --------------------------------------------------------------------------- the pass


#: How a pass runs a unit: a durable step (scheduled passes) or a direct call (``--once``).
Call = Callable[..., Any]


def _drive(
    kind: str,
    call: Call,
    *,
    crash_after_pages: int = 0,
    feed_seconds: float = math.inf,
    recheck: bool = False,
) -> dict[str, Any]:
    """The units of one pass, in order; ``call(name, *args)`` runs unit ``name``. Must
    stay deterministic (it is a workflow's body): all I/O is in the units, and the feed's
    time bound is read from the units' outputs (replayed as they were after a restart).

    ``feed_seconds`` bounds the shop feed: once its pages took that long (each page's own
    time, from its step's start to its end: the downtime of a restart mid-pass is not
    counted) and the last one moved the cursor on, the pass reads no further page (the
    next pass goes on from there) and runs the Supercycle source and the due retries.
    Before (issue 10, the soak), a pass under faults read a growing feed for minutes,
    every later tick skipped behind it, and the due retries (shipments waiting for a
    debit) at its end never ran."""
    results: list[Any] = []
    handled: list[str] = []
    failed: list[str] = []

    def unit(name: str, label: str, *args: Any) -> Any:
        try:
            out = call(name, kind, *args)
        except Exception as exc:
            failed.append(name)
            call("unit_failed", kind, name, label, step_failure(exc))
            return None
        if isinstance(out, dict):
            results.extend(out.get("results", []))
            handled.extend(out.get("handled", []))
        return out

    caught_up = unit("catch_up", "the catch-up of adopted orders", list(handled))
    previous = caught_up.get("at") if isinstance(caught_up, dict) else None
    spent = 0.0  # seconds the feed's pages took (their steps' own time)
    since = unit("start", "the start of the shop feed")
    pages = orders = unchanged = 0
    # Complete: the feed was read to its last page (or there is nothing to read yet).
    complete = "start" not in failed
    after: str | None = None
    while since is not None:
        if pages >= MAX_PAGES:
            complete = False  # the rest of the backlog: the next pass, from the cursor
            break
        page = unit("page", f"page {pages + 1} of the shop feed", since, after, list(handled))
        pages += 1
        if crash_after_pages and pages >= crash_after_pages:
            os._exit(87)
        if page is None or page["failed"] is not None:
            complete = False  # the cursor stays before this page: the next pass reads it
            break
        orders += page["orders"]
        unchanged += int(page.get("skipped") or 0)
        if page["last"]:
            break
        after = page["after"]
        at = page.get("at")
        if at is not None:
            # The page's own time: a pass resumed after a restart does not count the
            # downtime (a page checkpointed by an older release has no ``began``: the
            # time since the unit before it).
            start = page.get("began", previous)
            spent += at - start if start is not None else 0.0
            previous = at
        # Only a page that moved the cursor on ends the feed early: the overlap re-read
        # at the start of every pass must not use up the bound, or a slow feed would
        # never get past it (each pass would re-read the same pages).
        if page.get("advanced") and spent >= feed_seconds:
            complete = False  # the rest of the feed: the next pass, from the cursor
            break
    unit("source", "the Supercycle source", list(handled))
    unit("retries", "the due retries", list(handled))
    if recheck:  # ``--once``: what people fixed (``recheck_unit``)
        unit("recheck", "the orders of exceptions fixed by hand", list(handled))
    summary = {
        "kind": kind,
        "skipped": False,
        "pages": pages,
        "orders": orders,
        # Orders re-read with nothing new since a pass handled them (``services.shop_feed``).
        "unchanged": unchanged,
        "checked": len(results),
        "complete": complete and not failed,
        "failed_units": failed,
        "rechecked": recheck,
        "results": results,
    }
    try:
        call("pass_done", kind, {**summary, "results": []})
    except Exception:
        log.warning("safety_net.pass_done_failed", kind=kind, exc_info=True)
    return summary


#: The units a pass is made of, by name (``poll_step_failed`` names one).
_UNIT_NAMES = ("catch_up", "start", "page", "source", "retries", "recheck")

_UNITS: dict[str, Callable[..., Coroutine[Any, Any, Any]]] = {
    "catch_up": catch_up_unit,
    "start": start_unit,
    "page": page_unit,
    "source": source_unit,
    "retries": retries_unit,
    "recheck": recheck_unit,
    "unit_failed": unit_failed,
    "pass_done": pass_done,
}
