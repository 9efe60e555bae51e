"""After the decision: follow what the marketplace does with an order the hub handled.

- paid (Mirakl SHIPPING): the shop order gets the shipping address Mirakl now gives,
  and is marked paid; hub status ``shipping``;
- cancelled or refused by the marketplace, or the debit failed (CANCELED): the shop
  order is cancelled (restocking Shopify), the holds released, Supercycle items made
  available again; hub status ``cancelled``;
- an order the hub had not decided yet that the marketplace refused (the window
  expired) or cancelled: the same undoing, hub status ``refused``/``cancelled``;
- ``has_incident``: an exception for ops;
- accepted while Shopify was down: the shop order is created now.

Each action is idempotent (cancel and mark-paid look first), so a follow-up may repeat.
A follow-up that is done clears the change the pull noted on the order (and resolves the
exception of an earlier attempt that gave up); one that gave up is an ops exception
(:func:`record_followup_failure`) and stays noted, so the next pulls start it again.
"""

from __future__ import annotations

from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.domain.marketplace_order import OrderState
from mirakl_sync.domain.orders import (
    DEBITED_STATES,
    HubEvent,
    HubStatus,
    StoredOrder,
    event_for_marketplace_state,
)
from mirakl_sync.services.order_import import (
    OrderServices,
    _move,
    _resolve_order_exceptions,
    create_shop_order,
    resolve_lines,
    undo_import,
)
from mirakl_sync.services.shop_payment import mark_paid_if_debited


async def follow_up(services: OrderServices, order_id: str) -> HubStatus:
    """Bring the hub's side of one order in line with the marketplace's latest state."""
    stored = services.stored(order_id)
    status = await _follow_up(services, order_id)
    now = services.clock()
    if stored.followup_pending is not None:
        code = services.rules.code
        services.repository.followup_done(code, order_id, stored.followup_pending, now)
    services.exceptions.resolve(_failure(services, stored, "", "").fingerprint, now)
    return status


def record_followup_failure(
    services: OrderServices, order_id: str, change: str, reason: str
) -> None:
    """A follow-up gave up: an exception for ops; the pulls start it again."""
    report = _failure(services, services.stored(order_id), change, reason)
    services.exceptions.record(report, services.clock())


def _failure(
    services: OrderServices, stored: StoredOrder, change: str, reason: str
) -> ExceptionReport:
    order_id = stored.order.order_id
    return ExceptionReport(
        type=ExceptionType.ORDER_FOLLOWUP_FAILED,
        owner=OwnerTeam.OPS,
        severity=Severity.ERROR,
        entity_type="order",
        entity_id=order_id,
        marketplace=services.rules.code,
        message=(
            f"{services.rules.name} order {order_id} is {change} on the marketplace, and "
            f"the hub could not follow it in Shopify (shop order "
            f"{stored.shopify_order_name or 'not made'}): {reason}. Each pull tries again "
            "and this resolves once it is done; if it stays, check that Shopify answers "
            "(`mirakl-sync doctor`) and look at the shop order."
        ),
        details={"change": change, "reason": reason, "shopify_order": stored.shopify_order_name},
    )


async def _follow_up(services: OrderServices, order_id: str) -> HubStatus:
    stored = services.stored(order_id)
    order = stored.order
    if order.has_incident:
        services.exceptions.record(
            ExceptionReport(
                type=ExceptionType.ORDER_INCIDENT,
                owner=OwnerTeam.OPS,
                severity=Severity.ERROR,
                entity_type="order",
                entity_id=order_id,
                marketplace=services.rules.code,
                message=(
                    f"{services.rules.name} order {order_id} has an open incident; answer "
                    "the customer in the marketplace back office (OR64 closes it)."
                ),
                details={"shopify_order": stored.shopify_order_name},
            ),
            services.clock(),
        )
    status = stored.hub_status
    if status in (HubStatus.NEW, HubStatus.WAITING):
        if order.state in (OrderState.WAITING_ACCEPTANCE, OrderState.STAGING):
            return status
        # Decided without us: refused when the window expired, or cancelled, or (with
        # automatic acceptance) accepted by the platform.
        if order.state in (OrderState.REFUSED, OrderState.CANCELED):
            await undo_import(services, order_id)
            event = HubEvent.REFUSED if order.state == OrderState.REFUSED else HubEvent.CANCELLED
        else:
            event = HubEvent.ACCEPTED
        status = _move(services, stored, event)
        _resolve_order_exceptions(services, order_id)
        if event is not HubEvent.ACCEPTED:
            return status
        # Accepted on the marketplace's word (OR21's reply lost while the import retried,
        # or automatic acceptance): a debited order goes on to its payment below. Before,
        # this returned here, the import's decision step then found it accepted, and the
        # shop order was never marked paid (the SQLite hour soak on c6eb373).
        stored = services.stored(order_id)
    if stored.progress.shop_order_pending and order.state not in (
        OrderState.REFUSED,
        OrderState.CANCELED,
    ):
        await create_shop_order(services, order_id, await resolve_lines(services, order_id))
        stored = services.stored(order_id)
    after = event_for_marketplace_state(order.state)
    # Paid, whether the pull saw SHIPPING or only a later state: the hub ships a debited
    # order at once, so SHIPPED can come before the next pull (the soak left two shop
    # orders unpaid that way).
    if status is HubStatus.ACCEPTED and order.state in DEBITED_STATES:
        linked = stored.shopify_order_id is not None
        if stored.shopify_order_id is not None:
            # Marked before the move: a follow-up cut off between the two marks it again.
            await services.shop.update_addresses(stored.shopify_order_id, order)
            await services.shop.mark_paid(stored.shopify_order_id)
        status = _move(services, stored, HubEvent.PAID)
        if not linked:
            # The import may have linked its shop order meanwhile, after reading the order
            # unpaid: looked at again after the move (see services.shop_payment).
            await mark_paid_if_debited(services.shop, services.stored(order_id))
        if after is HubEvent.PAID:
            return status
        stored = services.stored(order_id)
    if after is HubEvent.CANCELLED:
        await undo_import(services, order_id)
        return _move(services, stored, after)
    if after is HubEvent.CLOSED:
        return _move(services, stored, after)
    return status
