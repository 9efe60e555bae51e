"""The order pull: every marketplace order, once, however the polls overlap.

Each cycle reads OR11 by ``start_update_date`` from the stored watermark minus
``order_overlap_seconds`` (Mirakl itself also subtracts a safety delta), walks every
page, and deduplicates by ``order_id`` (the newest ``last_updated_date`` wins). The
watermark then moves to the newest ``last_updated_date`` seen, never beyond the cycle's
start, so a restart after downtime backfills from where it stopped. A full sweep of
every open order runs on the first cycle of a marketplace (orders accepted before the
hub, by hand or by a previous connector, are found at once) and then every
``order_full_sweep_hours``, so an order the date window missed is still found.

It stores each order (``marketplace_orders``) and returns which orders need an import
(waiting acceptance, not decided yet) and which need a follow-up (their state changed
after the hub decided, an incident opened, or the marketplace decided without us).

A change to follow is noted on the order (``followup_pending``) until its follow-up is
done, and every pull starts it again meanwhile (``PullResult.retried``): the stored
state has moved on, so the change is never seen again. Before (issue 10, the soak), a
follow-up whose retries ran out was lost: shop orders never marked paid, cancelled
orders whose Supercycle item stayed sold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.domain.marketplace_order import OrderState
from mirakl_sync.domain.orders import (
    HubStatus,
    MarketplaceOrder,
    StoredOrder,
    acceptance_deadline,
)
from mirakl_sync.services.ports import ExceptionLog, MarketplaceOrders, OrderRepository

WATERMARK_FLOW = "orders"
SWEEP_FLOW = "orders-sweep"
#: When each marketplace's last pull succeeded (the watermark moves only with orders).
PULLED_FLOW = "orders-pulled"
#: How late a pull may be beyond its period before intake counts as stopped: a pull
#: waits for its OR11 slot and can take a while on a large backlog.
STALE_PULL_GRACE_SECONDS = 120.0
#: The follow-up of an order accepted while Shopify was down: its shop order is made.
SHOP_ORDER_CHANGE = "shop-order"


@dataclass(frozen=True)
class PullSettings:
    marketplace: str
    overlap_seconds: float
    acceptance_window_hours: float
    full_sweep_hours: float


@dataclass
class PullResult:
    #: Orders to import (decide and accept/refuse), oldest first.
    imports: list[str] = field(default_factory=list)
    #: Order id -> a key naming what changed (so a follow-up runs once per change).
    followups: dict[str, str] = field(default_factory=dict)
    #: Of ``followups``, those an earlier pull found and that are not done yet.
    retried: set[str] = field(default_factory=set)
    #: Orders read (after deduplication) and of those, never seen before.
    seen: int = 0
    new: int = 0
    swept: bool = False


def followup_change(previous: StoredOrder, order: MarketplaceOrder) -> str | None:
    """What a follow-up must bring the hub in line with, between the order as stored
    (``previous``) and as just read; None when nothing changed that the hub follows."""
    status = previous.hub_status
    if status in (HubStatus.NEW, HubStatus.WAITING):
        if order.state not in (OrderState.WAITING_ACCEPTANCE, OrderState.STAGING):
            return order.state
        return None
    if status in (HubStatus.ACCEPTED, HubStatus.SHIPPING):
        if previous.progress.shop_order_pending:
            return SHOP_ORDER_CHANGE
        key = order.state + (":incident" if order.has_incident else "")
        before = previous.order.state + (":incident" if previous.order.has_incident else "")
        if key != before:
            return key
    return None


def note_followup(
    repository: OrderRepository, previous: StoredOrder, order: MarketplaceOrder, now: datetime
) -> str | None:
    """The change between the order as stored (``previous``) and as just stored
    (``order``), noted on the order for its follow-up (``followup_pending``) until it is
    done; None when there is nothing to follow. Whoever stores a newer state than the
    pulls saw calls it, or the change is never seen again."""
    change = followup_change(previous, order)
    if change is not None and change != SHOP_ORDER_CHANGE:  # kept in the order's progress
        repository.mark_followup(order.marketplace, order.order_id, change, now)
    return change


async def pull_orders(
    marketplace: MarketplaceOrders,
    repository: OrderRepository,
    settings: PullSettings,
    *,
    now: datetime,
    full_sweep: bool | None = None,
) -> PullResult:
    """One pull cycle of one marketplace (see the module docstring)."""
    code = settings.marketplace
    result = PullResult()
    watermark_text = repository.cursor(WATERMARK_FLOW, code)
    watermark = datetime.fromisoformat(watermark_text) if watermark_text else None
    since = None
    if watermark is not None:
        since = watermark - timedelta(seconds=settings.overlap_seconds)
    else:
        # First cycle: anything older than the acceptance window is decided already;
        # the full sweep below (run on this first cycle) finds the older orders still open.
        since = now - timedelta(hours=settings.acceptance_window_hours)
    sweep_text = repository.cursor(SWEEP_FLOW, code)
    if full_sweep is None:
        # The first cycle on a marketplace sweeps at once: orders a previous connector
        # accepted (SHIPPING, awaiting debit) may have changed last long before the
        # window, and they still have to ship (``services.order_adoption`` links them to
        # their shop orders). Then every ``full_sweep_hours``.
        since_sweep = None if sweep_text is None else now - datetime.fromisoformat(sweep_text)
        full_sweep = since_sweep is None or since_sweep >= timedelta(
            hours=settings.full_sweep_hours
        )
    latest: dict[str, MarketplaceOrder] = {}

    def keep(order: MarketplaceOrder) -> None:
        known = latest.get(order.order_id)
        if known is None or order.last_updated_at >= known.last_updated_at:
            latest[order.order_id] = order

    # On a first cycle that sweeps, the sweep alone covers the window: every order still
    # awaiting acceptance is open. Skipping the window's read spares an OR11 slot (one a
    # minute), so a first ``sync orders --once`` does not wait a minute for the sweep.
    sweep_only = watermark is None and full_sweep
    if not sweep_only:
        async for order in marketplace.updated_since(since):
            keep(order)
    if full_sweep:
        async for order in marketplace.open_orders():
            keep(order)
        result.swept = True
    newest = watermark
    for order in sorted(latest.values(), key=lambda o: (o.created_at, o.order_id)):
        deadline = acceptance_deadline(order.created_at, settings.acceptance_window_hours)
        previous = repository.record_pulled(order, deadline=deadline, now=now)
        result.seen += 1
        if newest is None or order.last_updated_at > newest:
            newest = order.last_updated_at
        if previous is None:
            result.new += 1
            if order.state == OrderState.WAITING_ACCEPTANCE:
                result.imports.append(order.order_id)
            continue
        change = note_followup(repository, previous, order, now)
        if change is not None:
            result.followups[order.order_id] = change
        elif order.state == OrderState.WAITING_ACCEPTANCE and previous.hub_status in (
            HubStatus.NEW,
            HubStatus.WAITING,
        ):
            result.imports.append(order.order_id)
    # Orders held up (unmapped SKU, Shopify down) are retried every cycle even when
    # Mirakl has nothing new about them.
    for stored in repository.with_status(code, [HubStatus.NEW, HubStatus.WAITING]):
        oid = stored.order.order_id
        fresh = oid not in result.imports and oid not in result.followups
        if stored.order.state == OrderState.WAITING_ACCEPTANCE and fresh:
            result.imports.append(oid)
    for stored in repository.with_status(code, [HubStatus.ACCEPTED]):
        if stored.progress.shop_order_pending:
            result.followups.setdefault(stored.order.order_id, SHOP_ORDER_CHANGE)
    for oid, change in repository.pending_followups(code).items():
        if oid not in result.followups:
            result.followups[oid] = change
            result.retried.add(oid)
    if sweep_only:
        # Every open order as of this cycle is seen; what changes after it is read by the
        # next cycle from here (minus the overlap), not from the oldest open order's date.
        newest = now
    if newest is not None:
        repository.set_cursor(WATERMARK_FLOW, code, min(newest, now).isoformat(), now)
    if full_sweep:
        repository.set_cursor(SWEEP_FLOW, code, now.isoformat(), now)
    repository.set_cursor(PULLED_FLOW, code, now.isoformat(), now)
    return result


def stale_pull_report(marketplace: str, *, last: datetime | None) -> ExceptionReport:
    since = "never" if last is None else f"last at {last:%Y-%m-%d %H:%M:%S} UTC"
    return ExceptionReport(
        type=ExceptionType.ORDER_PULL_STALE,
        owner=OwnerTeam.OPS,
        severity=Severity.CRITICAL,
        marketplace=marketplace,
        entity_type="marketplace",
        entity_id=marketplace,
        message=f"orders are not being pulled from {marketplace} (successful pull: {since}); "
        "new orders wait unaccepted and the marketplace refuses them when their window "
        "ends. See 'Orders stopped arriving' in docs/operations.md: check that "
        "`mirakl-sync run` is alive (status page, workers), then `mirakl-sync doctor`",
    )


def check_pull_staleness(
    repository: OrderRepository,
    exceptions: ExceptionLog,
    *,
    marketplace: str,
    period_seconds: float,
    now: datetime,
    watching_since: datetime,
    grace_seconds: float = STALE_PULL_GRACE_SECONDS,
) -> bool:
    """Record ``order_pull_stale`` (critical, ops) when the last successful pull of
    ``marketplace`` is older than its period plus the grace, and resolve it once a pull
    succeeds again. ``watching_since`` stands in for a pull never recorded (a fresh
    database), so a hub is not alarmed before its first pull could have run. Returns
    whether the pull is stale."""
    text = repository.cursor(PULLED_FLOW, marketplace)
    last = datetime.fromisoformat(text) if text else None
    reference = last if last is not None else watching_since
    report = stale_pull_report(marketplace, last=last)
    if now - reference > timedelta(seconds=period_seconds + grace_seconds):
        exceptions.record(report, now)
        return True
    exceptions.resolve(report.fingerprint, now)
    return False
