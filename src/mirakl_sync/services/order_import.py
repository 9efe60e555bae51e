"""Importing one marketplace order: one idempotent function per workflow step.

``resolve_lines`` -> ``decide_and_hold`` -> ``create_shop_order`` -> ``mark_items_sold``
-> ``send_decision``. Each may run twice (a durable step runs at least once), so each
guards its external write: holds are idempotent per line; the shop order is looked up
by ``sourceIdentifier`` before it is created; an item is marked sold only if this order
has not already done so; OR21 is taken by Mirakl only while it still waits for it, so
after a doubt it is sent again and the order is re-read only on ORDER_INVALID_STATE.

Nothing is dropped and nothing is accepted blindly: an unmapped SKU, or Shopify being
unreachable, leaves the order ``waiting`` with an exception for ops showing the
acceptance deadline, escalated as it nears; the next pull cycle retries it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.domain.marketplace_order import OrderState
from mirakl_sync.domain.orders import (
    REFUSED_CANCELLED_IN_SHOP,
    REFUSED_WITH_ORDER,
    Action,
    Decision,
    HubEvent,
    HubStatus,
    IllegalTransition,
    LineBinding,
    LineOutcome,
    MarketplaceOrder,
    StoredOrder,
    TargetSystem,
    acceptance_deadline,
    decide,
    escalation,
    near_deadline,
    next_status,
)
from mirakl_sync.domain.stock_pool import LineHold
from mirakl_sync.errors import PermanentError, RetryableError
from mirakl_sync.services.item_release import ItemRelease
from mirakl_sync.services.order_adoption import ask_feeds_to_read
from mirakl_sync.services.order_pull import note_followup
from mirakl_sync.services.ports import (
    ExceptionLog,
    ItemInventory,
    MarketplaceOrders,
    OrderRepository,
    ShopCatalogue,
    ShopOrders,
    StockLedger,
)
from mirakl_sync.services.shop_cancel_mark import cancelled_in_shop
from mirakl_sync.services.shop_payment import mark_paid_if_debited
from mirakl_sync.services.sku_resolution import resolve_sku
from mirakl_sync.services.stock_source import read_stock

log = structlog.get_logger(__name__)

ORDER_INVALID_STATE = "ORDER_INVALID_STATE"


class Shop(ShopCatalogue, ShopOrders, Protocol):
    """Shopify as the order flow needs it: catalogue and orders."""


@dataclass(frozen=True)
class MarketRules:
    """The marketplace settings the import obeys."""

    code: str
    name: str
    acceptance_window_hours: float
    partial_acceptance: bool
    accept_when_shop_down: bool = False
    accept_when_shop_down_minutes: float = 60.0


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class OrderServices:
    """Everything the order steps use, as ports."""

    rules: MarketRules
    repository: OrderRepository
    ledger: StockLedger
    exceptions: ExceptionLog
    marketplace: MarketplaceOrders
    shop: Shop
    items: ItemInventory | None = None
    clock: Callable[[], datetime] = field(default=_now)

    def stored(self, order_id: str) -> StoredOrder:
        found = self.repository.get(self.rules.code, order_id)
        if found is None:
            raise LookupError(
                f"order {order_id} on {self.rules.code} is not in marketplace_orders; "
                "it is stored by the pull before any import starts"
            )
        return found


@dataclass(frozen=True)
class Bindings:
    """Line id -> binding (None: unmapped). The output of :func:`resolve_lines`."""

    lines: dict[str, LineBinding | None]
    #: Lines whose systems could not be asked (Shopify/Supercycle down).
    unreachable: list[str] = field(default_factory=list)

    def resolved(self) -> dict[str, LineBinding]:
        return {k: v for k, v in self.lines.items() if v is not None}


@dataclass(frozen=True)
class Outcome:
    """What :func:`decide_and_hold` decided."""

    decision: Decision
    lines: dict[str, LineOutcome]


# --------------------------------------------------------------------------- exceptions


def _deadline(services: OrderServices, stored: StoredOrder) -> datetime:
    return stored.acceptance_deadline_at or acceptance_deadline(
        stored.order.created_at, services.rules.acceptance_window_hours
    )


def hold_up(
    services: OrderServices, stored: StoredOrder, reason: str, details: dict[str, object]
) -> None:
    """The order cannot be decided now: mark it waiting and tell ops, with the deadline."""
    now = services.clock()
    deadline = _deadline(services, stored)
    window = timedelta(hours=services.rules.acceptance_window_hours)
    severity = escalation(now, deadline, window)
    left = deadline - now
    services.exceptions.record(
        ExceptionReport(
            type=ExceptionType.ORDER_WAITING,
            owner=OwnerTeam.OPS,
            severity=severity,
            entity_type="order",
            entity_id=stored.order.order_id,
            marketplace=services.rules.code,
            message=(
                f"{services.rules.name} order {stored.order.order_id} waits: {reason}. "
                f"Fix it before {deadline:%Y-%m-%d %H:%M} UTC "
                f"({max(left.total_seconds(), 0) / 3600:.1f} h left) or the marketplace "
                "refuses it; the hub retries every pull cycle."
            ),
            details={"reason": reason, **details},
            deadline_at=deadline,
        ),
        now,
    )
    _move(services, stored, HubEvent.HELD_UP)


def _resolve_order_exceptions(services: OrderServices, order_id: str) -> None:
    services.exceptions.resolve(
        ExceptionReport(
            ExceptionType.ORDER_WAITING,
            OwnerTeam.OPS,
            Severity.INFO,
            "order",
            order_id,
            "",
            marketplace=services.rules.code,
        ).fingerprint,
        services.clock(),
    )


def _move(services: OrderServices, stored: StoredOrder, event: HubEvent) -> HubStatus:
    try:
        status = next_status(stored.hub_status, event)
    except IllegalTransition:
        return stored.hub_status
    services.repository.set_status(
        services.rules.code, stored.order.order_id, status, services.clock()
    )
    return status


# --------------------------------------------------------------------------- steps


async def resolve_lines(services: OrderServices, order_id: str) -> Bindings:
    """Step 1: bind every waiting line to a variant or an item (unmapped -> exception)."""
    stored = services.stored(order_id)
    lines: dict[str, LineBinding | None] = {}
    unreachable: list[str] = []
    for line in stored.order.waiting_lines or stored.order.lines:
        try:
            lines[line.line_id] = await resolve_sku(
                services.rules.code,
                line.offer_sku,
                repository=services.repository,
                shop=services.shop,
                items=services.items,
            )
        except RetryableError:
            lines[line.line_id] = None
            unreachable.append(line.line_id)
            continue
        if lines[line.line_id] is None:
            services.exceptions.record(
                ExceptionReport(
                    type=ExceptionType.UNMAPPED_SKU,
                    owner=OwnerTeam.ECOMMERCE,
                    severity=Severity.ERROR,
                    entity_type="sku",
                    entity_id=line.offer_sku,
                    marketplace=services.rules.code,
                    message=(
                        f"Offer SKU {line.offer_sku} on {services.rules.name} matches no "
                        "Shopify variant SKU nor Supercycle item; add a row to sku_mappings "
                        "(or fix the SKU) so its orders can be accepted."
                    ),
                    details={"order_id": order_id, "line_id": line.line_id},
                    deadline_at=_deadline(services, stored),
                ),
                services.clock(),
            )
    return Bindings(lines, unreachable)


async def decide_and_hold(services: OrderServices, order_id: str, bindings: Bindings) -> Outcome:
    """Step 2: read each line's stock fresh, hold it in the ledger, decide the order.

    A decision once taken is kept (a repeated step returns it unchanged).
    """
    stored = services.stored(order_id)
    if stored.progress.decisions:
        done = stored.progress.decisions
        action = Action.ACCEPT_ALL if all(done.values()) else Action.ACCEPT_SOME
        if not any(done.values()):
            action = Action.REFUSE_ALL
        return Outcome(Decision(action, dict(done)), {})
    now = services.clock()
    outcomes: dict[str, LineOutcome] = {}
    for line in stored.order.waiting_lines or stored.order.lines:
        binding = bindings.lines.get(line.line_id)
        if binding is None:
            outcomes[line.line_id] = (
                LineOutcome.SHOP_UNAVAILABLE
                if line.line_id in bindings.unreachable
                else LineOutcome.UNMAPPED
            )
            continue
        existing = services.ledger.reservation(services.rules.code, line.line_id)
        # When the source was read: a sale another order commits after it is not in it.
        read_at = services.clock()
        try:
            reading = await read_stock(binding, shop=services.shop, items=services.items)
        except RetryableError:
            # The source is down: a line already holding stock keeps it (accept on held
            # stock near the deadline); otherwise nothing can be promised.
            held = existing is not None and existing.status.value != "released"
            outcomes[line.line_id] = LineOutcome.OK if held else LineOutcome.SHOP_UNAVAILABLE
            continue
        hold = services.ledger.hold(
            LineHold(binding.stock_key, services.rules.code, order_id, line.line_id, line.quantity),
            source_available=reading.available,
            now=now,
            read_at=read_at,
        )
        outcomes[line.line_id] = (
            LineOutcome.OK if hold.reservation is not None else reading.shortfall
        )
    decision = decide(outcomes, partial_acceptance=services.rules.partial_acceptance)
    if decision.action is Action.WAIT:
        waiting_on = sorted({o.value for o in outcomes.values() if o is not LineOutcome.OK})
        unmapped = [
            line.offer_sku
            for line in stored.order.lines
            if outcomes.get(line.line_id) is LineOutcome.UNMAPPED
        ]
        reason = (
            f"unmapped SKU {', '.join(unmapped)}"
            if unmapped
            else "Shopify or Supercycle could not be read"
        )
        hold_up(services, stored, reason, {"lines": waiting_on, "unmapped": unmapped})
        return Outcome(decision, outcomes)
    for line_id in decision.refused_line_ids:
        services.ledger.release(services.rules.code, line_id, now)
    progress = stored.progress
    progress.decisions = dict(decision.lines)
    progress.refusals = {
        line_id: REFUSED_WITH_ORDER
        if outcomes.get(line_id) in (None, LineOutcome.OK)
        else str(outcomes[line_id].value)
        for line_id in decision.refused_line_ids
    }
    services.repository.save_progress(services.rules.code, order_id, progress, now)
    return Outcome(decision, outcomes)


async def create_shop_order(services: OrderServices, order_id: str, bindings: Bindings) -> str:
    """Step 3: the standard Shopify order for the accepted lines, exactly once.

    Returns ``created`` (or found), ``none`` (nothing accepted), ``pending`` (Shopify is
    down near the deadline and the marketplace allows accepting first) or ``wait``.
    """
    stored = services.stored(order_id)
    accepted = [k for k, ok in stored.progress.decisions.items() if ok]
    if not accepted:
        return "none"
    if stored.shopify_order_id is None:
        try:
            # Always looked up first, even on a first attempt: an earlier attempt whose
            # answer was lost, ops keying the order by hand, or the connector the shop used
            # before may each have created it already.
            found = await services.shop.find(order_id)
            made_before = found is not None
            if found is None:
                found = await services.shop.create(stored.order, bindings.resolved(), accepted)
        except RetryableError as exc:
            now = services.clock()
            if services.rules.accept_when_shop_down and near_deadline(
                now, _deadline(services, stored), services.rules.accept_when_shop_down_minutes
            ):
                progress = stored.progress
                progress.shop_order_pending = True
                services.repository.save_progress(services.rules.code, order_id, progress, now)
                return "pending"
            hold_up(services, stored, f"Shopify is unreachable ({exc})", {"error": str(exc)})
            return "wait"
        now = services.clock()
        services.repository.set_shop_order(services.rules.code, order_id, found, now)
        if made_before:
            # Made by an earlier attempt whose reply was lost, or that died before this
            # record (minutes ago for a worker left dead): the warehouse may have fulfilled,
            # refunded or cancelled it since, and the passes, not knowing it yet, moved on.
            # Before (issue 10, the PostgreSQL soak), such a fulfilment never shipped.
            ask_feeds_to_read(services.repository, stored.order, found.id, now)
    else:
        # Linked by an earlier attempt of this step that died after the link (or between
        # the link and the ask above: two writes): the feeds may have passed over the
        # shop order while it was unknown, as above. Asked again, at the cost of one
        # catch-up read; a repeat of the step is rare (issue 10, the SQLite soak).
        ask_feeds_to_read(
            services.repository, stored.order, stored.shopify_order_id, services.clock()
        )
    # Paid before the shop order existed (its follow-up had nothing to mark): marked now.
    await mark_paid_if_debited(services.shop, services.stored(order_id))
    _commit_lines(services, order_id, bindings, accepted, TargetSystem.SHOPIFY)
    if stored.progress.shop_order_pending:
        progress = stored.progress
        progress.shop_order_pending = False
        services.repository.save_progress(services.rules.code, order_id, progress, services.clock())
    return "created"


def _commit_lines(
    services: OrderServices,
    order_id: str,
    bindings: Bindings,
    line_ids: list[str],
    system: TargetSystem,
) -> None:
    now = services.clock()
    for line_id in line_ids:
        binding = bindings.lines.get(line_id)
        if binding is not None and binding.system is system:
            services.ledger.commit(services.rules.code, line_id, now)


async def mark_items_sold(services: OrderServices, order_id: str, bindings: Bindings) -> int:
    """Step 4: mark each accepted Supercycle item sold, once per order. Returns how many."""
    stored = services.stored(order_id)
    if services.items is None:
        return 0
    progress = stored.progress
    marked = 0
    for line_id, ok in progress.decisions.items():
        binding = bindings.lines.get(line_id)
        if not ok or binding is None or binding.item_id is None:
            continue
        if binding.item_id in progress.sold_items:
            continue
        # Setting visibility to sold is idempotent, so a repeat after a crash is harmless
        # and no read is spent first: Supercycle allows 120 calls a minute in all.
        await services.items.mark_sold(binding.item_id)
        progress.sold_items.append(binding.item_id)
        services.repository.save_progress(services.rules.code, order_id, progress, services.clock())
        services.ledger.commit(services.rules.code, line_id, services.clock())
        marked += 1
    return marked


async def send_decision(services: OrderServices, order_id: str) -> HubStatus:
    """Step 5: OR21 with a decision for every line, sent once while Mirakl still waits."""
    stored = services.stored(order_id)
    decisions = stored.progress.decisions
    if not decisions:
        raise ValueError(f"order {order_id}: OR21 before any decision")
    if stored.hub_status in (HubStatus.ACCEPTED, HubStatus.REFUSED):
        return stored.hub_status
    # A previous attempt may have reached Mirakl (its answer lost): OR21 is sent again
    # all the same, without reading the order first. Mirakl takes OR21 only for lines
    # still WAITING_ACCEPTANCE and answers ORDER_INVALID_STATE otherwise, and only then
    # is the order read. A read first cost an OR11 slot (one a minute per shop, shared
    # with the pull) on every retry: under 15% 500s the imports queued for it and the
    # hub decided 240 orders an hour against 2,000 offered (issue 10).
    progress = stored.progress
    # The shop order was cancelled before the acceptance went out (services.
    # shop_cancel_mark): refuse every line instead of accepting. Only while no acceptance
    # has been sent: one that may have landed (its answer lost) stays the decision, and
    # the cancellation flow cancels the order once Mirakl allows it.
    cancelled = not progress.or21_sent and cancelled_in_shop(
        services.repository, services.rules.code, order_id
    )
    if cancelled and any(decisions.values()):
        progress.decisions = decisions = dict.fromkeys(decisions, False)
        progress.refusals = dict.fromkeys(decisions, REFUSED_CANCELLED_IN_SHOP)
        services.repository.save_progress(services.rules.code, order_id, progress, services.clock())
        log.info(
            "orders.refused_cancelled_in_shop",
            marketplace=services.rules.code,
            order_id=order_id,
            shopify_order_id=stored.shopify_order_id,
        )
    if not progress.or21_sent:
        progress.or21_sent = True
        services.repository.save_progress(services.rules.code, order_id, progress, services.clock())
    try:
        await services.marketplace.decide(order_id, decisions)
    except PermanentError as exc:
        if exc.code != ORDER_INVALID_STATE:
            raise
        return await _settle(services, order_id, await services.marketplace.get(order_id))
    # A RetryableError (5xx, timeout) goes to the step's retries, which send it again.
    if REFUSED_CANCELLED_IN_SHOP in progress.refusals.values():
        await undo_import(services, order_id)  # also when a retry sent the refusal
    return _decided(services, order_id, any(decisions.values()))


def _decided(services: OrderServices, order_id: str, accepted: bool) -> HubStatus:
    stored = services.stored(order_id)
    status = _move(services, stored, HubEvent.ACCEPTED if accepted else HubEvent.REFUSED)
    _resolve_order_exceptions(services, order_id)
    return status


async def _settle(
    services: OrderServices, order_id: str, fresh: MarketplaceOrder | None
) -> HubStatus:
    """Mirakl no longer waits for us: take its word for what happened."""
    stored = services.stored(order_id)
    if fresh is not None:
        now = services.clock()
        previous = services.repository.record_pulled(
            fresh, deadline=stored.acceptance_deadline_at, now=now
        )
        # Stored past what the pulls saw (debited meanwhile, say), the change is noted for
        # its follow-up, as a pull notes it: the next pull would find nothing new, and the
        # shop order was never marked paid (the SQLite hour soak, two orders).
        if previous is not None:
            note_followup(services.repository, previous, fresh, now)
    state = fresh.state if fresh is not None else OrderState.CANCELED
    if state in (OrderState.REFUSED, OrderState.CANCELED):
        await undo_import(services, order_id)
        status = _move(services, services.stored(order_id), HubEvent.REFUSED)
        _resolve_order_exceptions(services, order_id)
        return status
    return _decided(services, order_id, True)


async def undo_import(services: OrderServices, order_id: str) -> None:
    """The order will not ship: cancel its shop order, free its stock and its items."""
    stored = services.stored(order_id)
    now = services.clock()
    if stored.shopify_order_id is not None:
        await services.shop.cancel(stored.shopify_order_id)
    else:
        found = await services.shop.find(order_id)
        if found is not None and not found.cancelled:
            await services.shop.cancel(found.id)
    if services.items is not None:
        # Once per item and order, shared with the shop-side cancellation (issue 10).
        release = ItemRelease(services.items, services.repository, services.ledger, services.clock)
        await release.release_items(services.rules.code, order_id, stored.progress.sold_items)
    for line in stored.order.lines:
        services.ledger.release(services.rules.code, line.line_id, now)
