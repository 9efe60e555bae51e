"""The values of the dispatch use case: a shop fulfilment to report, the result of
reporting it (its ``DispatchStatus``) and the plan a fulfilment becomes once read."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mirakl_sync.domain.carriers import CarrierDecision
from mirakl_sync.domain.shipments import MarketLine, OrderRef
from mirakl_sync.services.ports import MarketplaceDispatchApi

RETRY_SHIPMENTS = "mirakl-sync sync shipments --once"


class DispatchStatus(StrEnum):
    SHIPPED = "shipped"
    ALREADY_SHIPPED = "already_shipped"
    #: OR23 done, OR24 still to do.
    TRACKING_SENT = "tracking_sent"
    #: The order waits for the customer's debit (WAITING_DEBIT*): try again later.
    WAITING = "waiting"
    #: Partial fulfilment on a marketplace without multi-shipment: wait for the rest.
    HELD_PARTIAL = "held_partial"
    #: An exception was recorded for a team to act on.
    EXCEPTION = "exception"
    #: Not a marketplace order, or nothing left to ship.
    NOTHING_TO_DO = "nothing_to_do"


@dataclass(frozen=True)
class Fulfilment:
    """A shop fulfilment (or a fulfilled Supercycle cycle) to report to the marketplace."""

    #: Stable id of the source, e.g. ``shopify-fulfillment:123`` (workflow key).
    source_id: str
    shopify_order_id: str
    #: SKU -> quantity fulfilled by this fulfilment.
    skus: dict[str, int]
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None


@dataclass(frozen=True)
class DispatchResult:
    status: DispatchStatus
    source_id: str
    marketplace: str | None = None
    order_id: str | None = None
    detail: str = ""
    #: WAITING: the order state Mirakl waits on (for the waiting record).
    state: str = ""


@dataclass
class _Plan:
    fulfilment: Fulfilment
    ref: OrderRef
    api: MarketplaceDispatchApi
    order: dict[str, Any]
    decision: CarrierDecision | None
    lines: list[MarketLine] = field(default_factory=list)
