"""Fulfilled Supercycle cycles that ship a marketplace order.

Supercycle fulfils a cycle either because its Shopify order was fulfilled (then the
Shopify fulfilment already reaches dispatch) or by itself: in the Supercycle app, its
API or MCP. The reference does not say that a cycle fulfilled in Supercycle creates a
Shopify fulfilment, so the hub reads fulfilled cycles too.

A cycle ties to a marketplace order only through ``shopifyOrderId``: the shop order the
hub created for the marketplace order. Orders the hub creates carry no ``_cycle`` line
property, so Supercycle does not create cycles for them on its own; a cycle exists when
someone linked one to that shop order (ops booking the sold item, or the orders flow).
Cycles of any other Shopify order are not marketplace orders and are skipped.

A cycle ships one item; its marketplace line is the one whose ``offer_sku`` is the
item's serial (item offer mode). Cycles carry no carrier or tracking fields in the
reference, so the shipment is confirmed without tracking. Each cycle is one fulfilment
source (``supercycle-cycle:<id>``); dispatch ships what is not shipped yet, so a cycle
whose Shopify order was also fulfilled ships nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from mirakl_sync.services.dispatch_types import Fulfilment
from mirakl_sync.services.ports import CyclesApi, MarketplaceOrderIndex


def cycle_source_id(cycle_id: object) -> str:
    return f"supercycle-cycle:{cycle_id}"


async def cycle_fulfilments(
    cycles: CyclesApi, index: MarketplaceOrderIndex, since: datetime
) -> list[Fulfilment]:
    """A fulfilment for every fulfilled cycle of a shop order made for a marketplace."""
    out = []
    for cycle in await cycles.fulfilled_cycles(since):
        shop_order, serial = cycle.get("shopify_order_id"), cycle.get("serial")
        if shop_order is None or not serial:
            continue
        ref = index.by_shopify_order(str(shop_order))
        if ref is None or ref.shopify_order_id is None:
            continue
        out.append(
            Fulfilment(
                source_id=cycle_source_id(cycle["id"]),
                shopify_order_id=ref.shopify_order_id,
                skus={str(serial): 1},
            )
        )
    return out
