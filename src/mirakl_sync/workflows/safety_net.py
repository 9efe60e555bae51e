"""The safety-net passes: what the webhooks may have missed, polled every 5 minutes.

(The period is ``[safety_net] poll_seconds``; both passes also run when the hub starts.)

Webhooks carry fulfilments, refunds and cancellations at once, but Shopify does not
guarantee them (and none arrive while the hub is down), so two scheduled passes poll:

* ``shipments-poll``: the fulfilments and whole-order cancellations of every shop order
  changed since the flow's cursor, shipped or not (``services.shop_feed``), fulfilled
  Supercycle cycles (``services.cycle_feed``), then the records of earlier passes that
  failed and are due again (``services.pass_failures``);
* ``refunds-poll``: the refunds and line cancellations of the changed shop orders,
  Supercycle returns per the trigger (``services.return_feed``), then the due retries.

**A pass is a chain of small units, each a durable step** (issue 10): the adoption
catch-up; one unit per page of the shop feed (the feed's cursor moves past each page
handled; an order re-read with nothing new since a pass handled it is skipped); one per
other source (Supercycle cycles or returns); the due retries; and, for ``--once`` only,
the orders of the exceptions a person fixed (``recheck_unit``). So:

* a record that fails is an exception its service records, kept for a later pass; a
  page Shopify does not answer ends the feed for this pass (its cursor stays: the next
  pass reads from there) and the other units still run;
* a unit that raises anything else (a bug, a fault no service handles) is retried by
  its step, then recorded as ``poll_step_failed`` and skipped: the pass carries on and
  ends cleanly (a page skipped so leaves the cursor before it, so the next pass reads it
  again);
* a pass killed mid-way resumes from its last finished unit (DBOS replays the finished
  steps' results, the cursor is in the store): a kill costs one unit's retry;
* at most one pass of each kind runs: a tick that finds an older pass of its kind still
  queued or running (a slow pass, or one resumed after a restart) ends at once,
  ``skipped``, so passes never pile up behind one another.

Every write the units make re-reads Mirakl first or is keyed by its source (OR28 bound
per refund source, dispatch re-reads the order, OR29/OR30 re-read it), so a unit run
twice sends nothing twice. ``run_shipments_once`` / ``run_refunds_once`` run the same
units in order, directly (no engine), for ``mirakl-sync sync shipments|refunds --once``.

The units run over the dispatch services of the process's flow context
(``workflows.flow_context``). A pass never replaces the context (closing the hub other
steps use): ``run_*_cycle`` with other settings than the context's builds a context of its
own for that pass and closes only that one.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from mirakl_sync.bootstrap import bootstrap
from mirakl_sync.config import SafetyNetSettings, Settings
from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionStatus, OwnerTeam
from mirakl_sync.domain.shipments import OrderRef
from mirakl_sync.services.cycle_feed import cycle_fulfilments
from mirakl_sync.services.dispatch_types import (
    RETRY_SHIPMENTS,
    DispatchResult,
    DispatchStatus,
    Fulfilment,
)
from mirakl_sync.services.pass_failures import (
    OPEN_LIMIT,
    PassFailures,
    PassRecord,
)
from mirakl_sync.services.refunds import RETRY_REFUNDS, RefundSource
from mirakl_sync.services.return_feed import due_refunds
from mirakl_sync.services.shop_feed import PAGE_SIZE as SHOP_FEED_PAGE_SIZE
from mirakl_sync.services.shop_feed import ShopChangeFeed, ShopEvents
from mirakl_sync.workflows.engine import (
    ENQUEUED,
    PENDING,
    Engine,
    Schedule,
    cron_every,
    current_workflow_id,
    step,
    step_failure,
    workflow,
)
from mirakl_sync.workflows.flow_context import FlowContext, current_flow_context, flow_context

if TYPE_CHECKING:
    from mirakl_sync.bootstrap import DispatchServices

log = structlog.get_logger(__name__)
T = TypeVar("T")

SHIPMENTS = "shipments"
REFUNDS = "refunds"
#: The scheduled workflows' names, per kind of pass.
POLL_WORKFLOWS = {SHIPMENTS: "mirakl_sync.shipments_poll", REFUNDS: "mirakl_sync.refunds_poll"}
_RETRY = {SHIPMENTS: RETRY_SHIPMENTS, REFUNDS: RETRY_REFUNDS}
#: Shop orders per page of the safety-net poll (``services.shop_feed``; tests shrink it).
SHOP_PAGE_SIZE = SHOP_FEED_PAGE_SIZE
#: Pages one pass reads at most; a longer backlog goes on in the next pass, from the
#: cursor (10 orders a page: 10,000 changed orders a pass).
MAX_PAGES = 1000
#: Share of the period a scheduled pass may spend reading the shop feed (``_drive``).
FEED_SHARE = 0.5
#: Fulfilled cycles are read from the last pass minus this overlap (a cycle updated
#: while a pass ran is read again; dispatch ships nothing twice).
CYCLES_OVERLAP = timedelta(hours=1)
#: Changed return orders are read from the last pass minus this overlap (as cycles).
RETURNS_OVERLAP = timedelta(hours=1)
#: How far back the first pass reads fulfilled cycles.
CYCLES_FIRST_LOOKBACK = timedelta(days=7)
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


async def collect_cycle_fulfilments(kit: DispatchServices) -> list[Fulfilment]:
    """Fulfilled Supercycle cycles of marketplace orders, since the last pass."""
    if kit.returns is None:
        return []
    cursors = kit.cursors
    now = datetime.fromtimestamp(kit.clock(), UTC)
    last = cursors.get("dispatch-cycles", "supercycle")
    since = datetime.fromisoformat(last) - CYCLES_OVERLAP if last else now - CYCLES_FIRST_LOOKBACK
    found = await cycle_fulfilments(kit.returns, kit.index, since)
    cursors.put("dispatch-cycles", "supercycle", now.isoformat(), now)
    return found


async def refund_supercycle_returns(
    kit: DispatchServices, send: Callable[[RefundSource], Awaitable[str]] | None = None
) -> list[str]:
    """Refunds for Supercycle return lines due per the trigger: every return order on the
    first pass, then those changed since the last pass (minus an overlap); the cursor
    moves only once every refund of the pass was handled (a refund that failed is an
    exception the next passes retry, see ``services.pass_failures``). ``send`` sends one
    refund source and returns its status (default: ``RefundService.refund_in_pass``)."""
    if kit.returns is None:
        return []
    cursors = kit.cursors
    now = datetime.fromtimestamp(kit.clock(), UTC)
    last = cursors.get("refunds-returns", "supercycle")
    since = datetime.fromisoformat(last) - RETURNS_OVERLAP if last else None
    sources = await due_refunds(kit.returns, kit.index, kit.hub.settings.refunds, since)

    async def in_pass(source: RefundSource) -> str:
        return (await kit.refunds.refund_in_pass(source)).status.value

    out = [await (send or in_pass)(source) for source in sources]
    cursors.put("refunds-returns", "supercycle", now.isoformat(), now)
    return out


def _source(name: str, scope: str, what: str, retry: str) -> PassRecord:
    """A source a pass reads, as the exception recorded when it does not answer."""
    return PassRecord(
        type=ExceptionType.POLL_SOURCE_UNREADABLE,
        owner=OwnerTeam.OPS,
        doing=f"reading {what} for the {scope} pass (its cursor stays: the next pass reads "
        "it again)",
        retry=retry,
        entity_type="source",
        entity_id=f"{name}:{scope}",
    )


def _shop_source(kind: str) -> PassRecord:
    return _source("shopify-changes", kind, "the shop's changed orders (Shopify)", _RETRY[kind])


def _unit_record(kind: str, name: str, label: str = "") -> PassRecord:
    """A unit of a pass, as the exception recorded when it raised (``poll_step_failed``);
    one exception per kind and unit (every page shares one)."""
    return PassRecord(
        type=ExceptionType.POLL_STEP_FAILED,
        owner=OwnerTeam.OPS,
        doing=f"{label or name} of the {kind} pass",
        retry=_RETRY[kind],
        entity_type="poll",
        entity_id=f"{kind}:{name}",
    )


async def _read_source(
    kit: DispatchServices, item: PassRecord, read: Callable[[], Awaitable[list[T]]]
) -> list[T]:
    """``read()``, or nothing when the source does not answer (an exception for ops, and
    the pass carries on with the rest)."""
    outcome = await PassFailures(kit.hub.store.exception_log, kit.clock).attempt(item, read)
    return [] if isinstance(outcome, str) else outcome


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


# --------------------------------------------------------------------------- scheduled passes


def _step_of(name: str, *, retries: int = UNIT_RETRIES) -> Callable[..., Any]:
    @step(name=f"mirakl_sync.poll.{name}", retries=retries, interval_seconds=UNIT_RETRY_SECONDS)
    def run_unit(kind: str, *args: Any) -> Any:
        return _run(lambda kit: _UNITS[name](kit, kind, *args))

    return run_unit


_STEPS: dict[str, Callable[..., Any]] = {
    name: _step_of(name, retries=0 if name in ("unit_failed", "pass_done") else UNIT_RETRIES)
    for name in _UNITS
}


#: The engine of this process (``register``): the claim reads its workflow list.
def use_engine(engine: Engine) -> None:
    """The engine whose workflows a pass's claim looks at, on the flow context (the
    runtime's has it; a test that starts passes itself, without their schedules, too)."""
    flow_context().engine = engine


@step(name="mirakl_sync.poll.claim")
def claim_step(kind: str, workflow_id: str) -> bool:
    """Whether this pass may run: no older pass of its kind is queued or running."""
    context = current_flow_context()
    engine = context.engine if context is not None else None
    if engine is None:
        return True
    live = engine.list_workflows(
        status=[PENDING, ENQUEUED], name=POLL_WORKFLOWS[kind], load_output=False
    )
    own = next((w for w in live if w.workflow_id == workflow_id), None)
    mine = own.created_at_ms or 0 if own is not None else None
    # A pass started no later than this one goes on and this one skips. Creation times
    # may have whole-second resolution (SQLite), so two ticks started in the same second
    # would both skip; ticks of one schedule are minutes apart, and a pass resumed after
    # a restart was created long before the tick that finds it.
    older = [
        w.workflow_id
        for w in live
        if w.workflow_id != workflow_id and (mine is None or (w.created_at_ms or 0) <= mine)
    ]
    if older:
        log.info("safety_net.pass_skipped", kind=kind, running=older[0])
    return not older


def _scheduled_pass(kind: str, context: Any) -> dict[str, Any]:
    workflow_id = current_workflow_id() or ""
    if not claim_step(kind, workflow_id):
        return {"kind": kind, "skipped": True, "checked": 0, "complete": False}
    crash = int(os.environ.get(CRASH_AFTER_PAGES_ENV) or 0)
    summary = _drive(
        kind,
        lambda name, *args: _STEPS[name](*args),
        crash_after_pages=crash,
        feed_seconds=_feed_seconds(context),
    )
    # The per-record results stay in the steps' checkpoints; the workflow keeps the counts.
    summary["statuses"] = dict(Counter(_status(r) for r in summary.pop("results")))
    return summary


def feed_seconds_for(poll_seconds: float) -> float:
    """A scheduled pass reads the shop feed for half its period at most (the rest of the
    period is for the other units; ``--once`` passes read it all)."""
    return FEED_SHARE * poll_seconds


def _feed_seconds(context: Any) -> float:
    """The feed bound a pass was scheduled with: its schedule's context, a workflow input,
    so a pass recovered after a restart replays with the bound it started with, even if
    ``poll_seconds`` changed meanwhile (read from the config in the body, a replay could
    stop at another page than the first run did). A tick of a schedule applied by an
    older release carries no bound: such a pass reads the whole feed."""
    if isinstance(context, dict) and isinstance(context.get("feed_seconds"), int | float):
        return float(context["feed_seconds"])
    return math.inf


def _status(result: Any) -> str:
    return str(result["status"]) if isinstance(result, dict) else str(result)


@workflow(name=POLL_WORKFLOWS[SHIPMENTS])
def shipments_poll(scheduled_time: datetime, context: Any) -> dict[str, Any]:
    return _scheduled_pass(SHIPMENTS, context)


@workflow(name=POLL_WORKFLOWS[REFUNDS])
def refunds_poll(scheduled_time: datetime, context: Any) -> dict[str, Any]:
    return _scheduled_pass(REFUNDS, context)


SHIPMENTS_SCHEDULE = "shipments-poll"
REFUNDS_SCHEDULE = "refunds-poll"


def pass_crons(poll_seconds: float) -> tuple[str, str]:
    """The shipments and refunds passes' crons: every ``poll_seconds``, the refunds pass
    half a period later (so the two never start in the same second)."""
    shipments = cron_every(poll_seconds)
    if round(poll_seconds) < 60:
        return shipments, cron_every(poll_seconds, slot=1, slots=2)
    return shipments, "30 " + shipments.split(" ", 1)[1]


def register(engine: Engine, settings: SafetyNetSettings) -> list[str]:
    """Schedule the safety-net passes (``[safety_net] poll_seconds``) and, unless told not
    to, run both at once: webhooks sent while the hub was down had nowhere to land
    (issue 10: fulfilments made just before a kill were sent only at the next 5-minute
    tick). A pass a previous incarnation left running is carried on instead (the new one
    finds it and skips, ``claim_step``). Returns the workflow IDs of the start passes."""
    use_engine(engine)
    shipments_cron, refunds_cron = pass_crons(settings.poll_seconds)
    context = {"feed_seconds": feed_seconds_for(settings.poll_seconds)}
    engine.apply_schedules(
        [
            Schedule(SHIPMENTS_SCHEDULE, shipments_poll, shipments_cron, context=context),
            Schedule(REFUNDS_SCHEDULE, refunds_poll, refunds_cron, context=context),
        ]
    )
    if not settings.pass_at_start:
        return []
    return [engine.trigger_schedule(name) for name in (SHIPMENTS_SCHEDULE, REFUNDS_SCHEDULE)]


# --------------------------------------------------------------------------- direct passes


@contextmanager
def _pass_context(settings: Settings) -> Iterator[FlowContext]:
    """The process's flow context when it holds ``settings``; else a context of this pass
    alone, closed after it (the process's hub, which other steps may be using, is never
    closed by a pass)."""
    context = current_flow_context()
    if context is not None and context.settings == settings:
        yield context
        return
    own = FlowContext(settings, bootstrap(settings))
    try:
        yield own
    finally:
        own.close()


def _direct_pass(kind: str, settings: Settings, *, recheck: bool = False) -> dict[str, Any]:
    """One pass's units called in order on one bundle of services (no engine, nothing
    checkpointed); ``recheck`` for the operator's ``--once`` (``recheck_unit``)."""
    with _pass_context(settings) as context:
        loop = asyncio.new_event_loop()
        try:
            stack = AsyncExitStack()
            services = loop.run_until_complete(
                stack.enter_async_context(context.hub.dispatch_services(context.clock))
            )
            try:
                return _drive(
                    kind,
                    lambda name, *args: loop.run_until_complete(_UNITS[name](services, *args)),
                    recheck=recheck,
                )
            finally:
                loop.run_until_complete(stack.aclose())
        finally:
            loop.close()


def run_shipments_cycle(settings: Settings) -> list[DispatchResult]:
    """One shipments pass (see the module docstring), run directly: every fulfilment it
    checked, in order."""
    return _shipment_results(_direct_pass(SHIPMENTS, settings))


def _shipment_results(summary: dict[str, Any]) -> list[DispatchResult]:
    return [
        DispatchResult(**{**r, "status": DispatchStatus(r["status"])}) for r in summary["results"]
    ]


def run_refunds_cycle(settings: Settings) -> list[str]:
    """One refunds pass, run directly: the status of every refund source it checked."""
    return [str(r) for r in _direct_pass(REFUNDS, settings)["results"]]


def _summary(what: str, statuses: list[str], unchanged: int = 0) -> str:
    counts = Counter(statuses)
    detail = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    line = f"{what}: {len(statuses)} checked" + (f" ({detail})" if detail else "")
    if unchanged:
        orders = "order" if unchanged == 1 else "orders"
        line += f"; {unchanged} shop {orders} read again with nothing new since the last pass"
    return line


def run_shipments_once(settings: Settings) -> None:
    """``mirakl-sync sync shipments --once``: one full pass, done when it returns.

    The pass does its work itself (no workflow is left running): shipments sent,
    cancellations sent, exceptions recorded. Prints a one-line summary.
    """
    summary = _direct_pass(SHIPMENTS, settings, recheck=True)
    statuses = [r.status.value for r in _shipment_results(summary)]
    print(_summary("shipments", statuses, summary["unchanged"]))


def run_refunds_once(settings: Settings) -> None:
    """``mirakl-sync sync refunds --once``: one full pass (Shopify refunds, line
    cancellations, Supercycle returns per the trigger); prints a one-line summary.

    ``refund_state`` is followed by the scheduled workflows, not by this one pass.
    """
    summary = _direct_pass(REFUNDS, settings, recheck=True)
    statuses = [str(r) for r in summary["results"]]
    print(_summary("refund sources", statuses, summary["unchanged"]))
