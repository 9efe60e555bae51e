"""Marketplace orders as the hub sees them: the normalised order, the hub's own status
machine, the accept/refuse decision rules, and the acceptance deadline.

A *marketplace order* is one Mirakl logistic order (``order_id``) on one marketplace.
The hub imports it into Shopify as a standard order and accepts it (OR21) inside the
marketplace's acceptance window, or refuses at once the lines that cannot ship. Its
*hub status* says where the hub got to, independently of Mirakl's ``order_state``:

``new`` (seen, not decided) -> ``waiting`` (an exception holds it: unmapped SKU, shop
down) -> ``accepted`` / ``refused``; ``accepted`` -> ``shipping`` (paid) -> ``closed``;
any live status -> ``cancelled`` (by the marketplace, or the payment failed).

Pure: stdlib only, plain values in, verdicts out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from mirakl_sync.domain.exceptions import Severity
from mirakl_sync.domain.marketplace_order import LineState, OrderState

# --------------------------------------------------------------------------- the order


@dataclass(frozen=True)
class OrderTaxLine:
    code: str
    amount: Decimal
    #: Percent (Mirakl sends 20 for 20 %); None when the marketplace gives no rate.
    rate: Decimal | None = None


@dataclass(frozen=True)
class OrderAddress:
    firstname: str | None = None
    lastname: str | None = None
    company: str | None = None
    street_1: str | None = None
    street_2: str | None = None
    zip_code: str | None = None
    city: str | None = None
    state: str | None = None
    #: ISO 3166 alpha-3, as Mirakl sends it.
    country_iso_code: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class OrderCustomer:
    customer_id: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    #: Mirakl may send null addresses until the order is accepted (PC01 setting).
    billing_address: OrderAddress | None = None
    shipping_address: OrderAddress | None = None


@dataclass(frozen=True)
class OrderLine:
    line_id: str
    #: The offer's ``shop_sku``: the binding key to the brand's catalogue.
    offer_sku: str
    quantity: int
    #: Mirakl ``order_line_state`` as last read.
    state: str
    title: str = ""
    unit_price: Decimal = Decimal("0")
    #: Line price (quantity x unit price, excluding shipping), in ``order_tax_mode``.
    price: Decimal = Decimal("0")
    shipping_price: Decimal = Decimal("0")
    taxes: tuple[OrderTaxLine, ...] = ()
    shipping_taxes: tuple[OrderTaxLine, ...] = ()


@dataclass(frozen=True)
class MarketplaceOrder:
    """One Mirakl order, normalised from OR11 (only what the hub uses)."""

    marketplace: str
    order_id: str
    state: str
    created_at: datetime
    last_updated_at: datetime
    currency: str
    total_price: Decimal
    shipping_price: Decimal
    #: ``TAX_INCLUDED`` or ``TAX_EXCLUDED``: how every price above is to be read.
    tax_mode: str
    lines: tuple[OrderLine, ...]
    shipping_type_code: str | None = None
    shipping_type_label: str | None = None
    has_incident: bool = False
    customer: OrderCustomer | None = None
    reference_for_customer: str | None = None
    #: The marketplace's own JSON of the order (OR11), kept as read for other flows.
    raw: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def waiting_lines(self) -> tuple[OrderLine, ...]:
        return tuple(line for line in self.lines if line.state == LineState.WAITING_ACCEPTANCE)


#: Mirakl states in which an accepted order is still being paid for.
AWAITING_PAYMENT_STATES = frozenset({OrderState.WAITING_DEBIT, OrderState.WAITING_DEBIT_PAYMENT})
#: Mirakl states in which an order is still open (the full sweep reads these).
OPEN_STATES = (
    OrderState.WAITING_ACCEPTANCE,
    OrderState.WAITING_DEBIT,
    OrderState.WAITING_DEBIT_PAYMENT,
    OrderState.SHIPPING,
)


# --------------------------------------------------------------------------- hub status


class HubStatus(StrEnum):
    NEW = "new"
    #: An exception holds the order (unmapped SKU, Shopify down); it is retried each cycle.
    WAITING = "waiting"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    #: Paid: the warehouse may ship.
    SHIPPING = "shipping"
    CANCELLED = "cancelled"
    CLOSED = "closed"


class HubEvent(StrEnum):
    #: The order cannot be decided yet; an exception was raised for ops.
    HELD_UP = "held_up"
    #: OR21 accepted at least one line.
    ACCEPTED = "accepted"
    #: OR21 refused every line (or the marketplace refused it, e.g. the window expired).
    REFUSED = "refused"
    #: Mirakl reports the order paid (SHIPPING).
    PAID = "paid"
    #: Mirakl cancelled it, refused it after acceptance, or the debit failed.
    CANCELLED = "cancelled"
    #: Shipped, received or closed on Mirakl: nothing left for the order flow.
    CLOSED = "closed"


class IllegalTransition(ValueError):
    """The event cannot happen to an order in this hub status."""

    def __init__(self, status: str, event: HubEvent) -> None:
        self.status = status
        self.event = event
        super().__init__(f"cannot apply {event.value} to an order in hub status {status}")


_S = HubStatus
_V = HubEvent

#: (status, event) -> next status. Anything absent is an illegal transition.
HUB_TRANSITIONS: dict[tuple[HubStatus, HubEvent], HubStatus] = {
    (_S.NEW, _V.HELD_UP): _S.WAITING,
    (_S.NEW, _V.ACCEPTED): _S.ACCEPTED,
    (_S.NEW, _V.REFUSED): _S.REFUSED,
    (_S.NEW, _V.CANCELLED): _S.CANCELLED,
    (_S.WAITING, _V.HELD_UP): _S.WAITING,
    (_S.WAITING, _V.ACCEPTED): _S.ACCEPTED,
    (_S.WAITING, _V.REFUSED): _S.REFUSED,
    (_S.WAITING, _V.CANCELLED): _S.CANCELLED,
    (_S.ACCEPTED, _V.PAID): _S.SHIPPING,
    (_S.ACCEPTED, _V.CANCELLED): _S.CANCELLED,
    # Mirakl went straight on (a pull missed the SHIPPING state in between).
    (_S.ACCEPTED, _V.CLOSED): _S.CLOSED,
    (_S.SHIPPING, _V.CANCELLED): _S.CANCELLED,
    (_S.SHIPPING, _V.CLOSED): _S.CLOSED,
}


def next_status(status: HubStatus | str, event: HubEvent) -> HubStatus:
    """The hub status after ``event``; raises :class:`IllegalTransition` if it cannot happen."""
    try:
        return HUB_TRANSITIONS[(HubStatus(status), event)]
    except (KeyError, ValueError):
        raise IllegalTransition(str(status), event) from None


#: Mirakl order states that come only after the customer was debited.
DEBITED_STATES = frozenset(
    {
        OrderState.SHIPPING,
        OrderState.SHIPPED,
        OrderState.TO_COLLECT,
        OrderState.RECEIVED,
        OrderState.CLOSED,
    }
)


def event_for_marketplace_state(state: str) -> HubEvent | None:
    """What a Mirakl order state means for an order the hub has already decided."""
    if state == OrderState.SHIPPING:
        return HubEvent.PAID
    if state in (OrderState.CANCELED, OrderState.REFUSED):
        return HubEvent.CANCELLED
    if state in (OrderState.SHIPPED, OrderState.TO_COLLECT, OrderState.RECEIVED, OrderState.CLOSED):
        return HubEvent.CLOSED
    return None


# --------------------------------------------------------------------------- decisions


class LineOutcome(StrEnum):
    """What the hub found out about one line at decision time."""

    #: Stock is held for it.
    OK = "ok"
    NO_STOCK = "no_stock"
    #: A unique item already sold (or held) elsewhere.
    SOLD_ELSEWHERE = "sold_elsewhere"
    #: A unique item that is retired, or otherwise not sellable.
    RETIRED = "retired"
    #: No product is bound to the offer SKU: ops/ecommerce must map it.
    UNMAPPED = "unmapped"
    #: The source of truth could not be read (Shopify or Supercycle down).
    SHOP_UNAVAILABLE = "shop_unavailable"


#: Outcomes that mean "this line cannot ship": refuse it at once.
REFUSABLE = frozenset({LineOutcome.NO_STOCK, LineOutcome.SOLD_ELSEWHERE, LineOutcome.RETIRED})
#: Outcomes that mean "cannot decide yet": never accept, never refuse, wait.
UNDECIDED = frozenset({LineOutcome.UNMAPPED, LineOutcome.SHOP_UNAVAILABLE})


class Action(StrEnum):
    ACCEPT_ALL = "accept_all"
    #: Accept some lines, refuse the others (partial acceptance).
    ACCEPT_SOME = "accept_some"
    REFUSE_ALL = "refuse_all"
    WAIT = "wait"


@dataclass(frozen=True)
class Decision:
    action: Action
    #: Line id -> accepted; empty when waiting (OR21 needs every line decided).
    lines: dict[str, bool] = field(default_factory=dict)

    @property
    def accepted_line_ids(self) -> list[str]:
        return [line_id for line_id, ok in self.lines.items() if ok]

    @property
    def refused_line_ids(self) -> list[str]:
        return [line_id for line_id, ok in self.lines.items() if not ok]


def decide(outcomes: Mapping[str, LineOutcome], *, partial_acceptance: bool) -> Decision:
    """Accept what can ship, refuse at once what cannot, wait on what is unknown.

    - every line OK: accept all;
    - no OK line and nothing unknown: refuse all;
    - partial acceptance off and any line that cannot ship: refuse all at once (the
      marketplace would refuse the mix anyway; an unknown line cannot rescue it);
    - any unknown line (unmapped, shop unavailable): wait (OR21 needs every line);
    - otherwise (partial acceptance on): accept the OK lines, refuse the rest.
    """
    if not outcomes:
        raise ValueError("an order to decide needs at least one line")
    values = set(outcomes.values())
    if values == {LineOutcome.OK}:
        return Decision(Action.ACCEPT_ALL, {line_id: True for line_id in outcomes})
    if values & REFUSABLE and not partial_acceptance:
        return Decision(Action.REFUSE_ALL, {line_id: False for line_id in outcomes})
    if values & UNDECIDED:
        return Decision(Action.WAIT)
    if LineOutcome.OK not in values:
        return Decision(Action.REFUSE_ALL, {line_id: False for line_id in outcomes})
    return Decision(
        Action.ACCEPT_SOME,
        {line_id: outcome is LineOutcome.OK for line_id, outcome in outcomes.items()},
    )


# --------------------------------------------------------------------------- deadlines


def acceptance_deadline(created_at: datetime, window_hours: float) -> datetime:
    """When the marketplace auto-refuses the order (the window is an operator setting)."""
    return created_at + timedelta(hours=window_hours)


#: Remaining time at or below which an exception holding an order is escalated.
ESCALATE_TO_ERROR = timedelta(hours=12)
ESCALATE_TO_CRITICAL = timedelta(hours=2)


def escalation(now: datetime, deadline: datetime, window: timedelta | None = None) -> Severity:
    """How loudly to ask ops to act on an order held up before its acceptance deadline.

    Past the deadline or within 2 h (or the last tenth of the window): critical; within
    12 h (or the last half of the window): error; otherwise a warning.
    """
    remaining = deadline - now
    critical = ESCALATE_TO_CRITICAL
    error = ESCALATE_TO_ERROR
    if window is not None:
        critical = min(critical, window / 10)
        error = min(error, window / 2)
    if remaining <= critical:
        return Severity.CRITICAL
    if remaining <= error:
        return Severity.ERROR
    return Severity.WARNING


def near_deadline(now: datetime, deadline: datetime, minutes: float) -> bool:
    """True when at most ``minutes`` remain before the acceptance deadline."""
    return deadline - now <= timedelta(minutes=minutes)


# --------------------------------------------------------------------------- bindings


class TargetSystem(StrEnum):
    #: A Shopify variant whose stock Shopify counts.
    SHOPIFY = "shopify"
    #: A unique Supercycle item (graded pre-owned, resale).
    SUPERCYCLE = "supercycle"


@dataclass(frozen=True)
class LineBinding:
    """What an offer SKU is, in the brand's systems."""

    offer_sku: str
    system: TargetSystem
    #: The key of the stock pool: the variant SKU, or the item serial.
    stock_key: str
    #: The Shopify variant GID the shop order line points at (None: a custom line).
    variant_id: str | None = None
    #: The Supercycle item id (Supercycle items only).
    item_id: int | None = None


@dataclass(frozen=True)
class StockReading:
    """A fresh read of one stock key from its source of truth."""

    available: int
    #: What to call a shortfall: no stock, or for a unique item sold elsewhere / retired.
    shortfall: LineOutcome = LineOutcome.NO_STOCK


@dataclass(frozen=True)
class ShopOrderRef:
    """The Shopify order made from a marketplace order."""

    id: str
    name: str
    cancelled: bool = False
    financial_status: str | None = None


@dataclass(frozen=True)
class SkuMapping:
    """An explicit binding of an offer SKU (overrides the default offer SKU = variant SKU)."""

    offer_sku: str
    system: TargetSystem
    #: The Shopify variant SKU, or the Supercycle item serial.
    target_sku: str


@dataclass
class OrderProgress:
    """How far the import got, so a repeated step never repeats an external write."""

    #: Line id -> accepted, once decided.
    decisions: dict[str, bool] = field(default_factory=dict)
    #: OR21 was sent (it may have reached Mirakl even if no answer came back).
    or21_sent: bool = False
    #: Supercycle item ids this order marked sold.
    sold_items: list[int] = field(default_factory=list)
    #: Accepted while Shopify was down: the shop order is still to be made.
    shop_order_pending: bool = False
    #: Refused line id -> why (a ``LineOutcome`` value, ``REFUSED_WITH_ORDER`` or
    #: ``REFUSED_CANCELLED_IN_SHOP``), for the operators and the soak's counts.
    refusals: dict[str, str] = field(default_factory=dict)


#: A line that could ship, refused with the rest of its order (no partial acceptance).
REFUSED_WITH_ORDER = "with_the_order"
#: The shop order was cancelled before the acceptance went out (services.shop_cancel_mark).
REFUSED_CANCELLED_IN_SHOP = "cancelled_in_shop"


@dataclass(frozen=True)
class StoredOrder:
    """A marketplace order as the hub keeps it."""

    order: MarketplaceOrder
    hub_status: HubStatus
    acceptance_deadline_at: datetime | None
    progress: OrderProgress
    shopify_order_id: str | None = None
    shopify_order_name: str | None = None
    #: A marketplace change the hub has yet to follow (``services.order_followup``).
    followup_pending: str | None = None
