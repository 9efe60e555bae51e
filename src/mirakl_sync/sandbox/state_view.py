"""``GET /sandbox/state``: what the emulators hold, as a test checks a flow's effects.

Read in-process, so a test spends none of the hub's API budgets (an OR11 call of the
test's would take the hub's one-a-minute slot). Per marketplace: calls answered per
operation, offers (quantity, price), orders (state, lines with their refunds, tracking),
shipments per order, and every quantity and price each STO01/PRI01 import carried, per
SKU, in order. Shopify: each order's source, fulfilments and refunds.
"""

from __future__ import annotations

from typing import Any

from mirakl_sync.sandbox.mirakl import MiraklEmulator
from mirakl_sync.sandbox.mirakl.state import MarketState
from mirakl_sync.sandbox.shopify import ShopifyEmulator


def _market_view(mirakl: MiraklEmulator, code: str) -> dict[str, Any]:
    market: MarketState = mirakl.market(code)
    imported: dict[str, dict[str, list[str]]] = {"STO01": {}, "PRI01": {}, "OF01": {}}
    column = {"STO01": ("offer-sku", "quantity"), "PRI01": ("offer-sku", "price")}
    for job in sorted(market.imports.values(), key=lambda j: j.created):
        if job.kind == "OF01":
            for row in job.rows:
                imported["OF01"].setdefault(row.get("sku", ""), []).append(job.mode)
        elif job.kind in column:
            sku_key, value_key = column[job.kind]
            for row in job.rows:
                imported[job.kind].setdefault(row.get(sku_key, ""), []).append(
                    row.get(value_key, "")
                )
    shipments: dict[str, int] = {}
    for shipment in market.shipments.values():
        shipments[shipment.order_id] = shipments.get(shipment.order_id, 0) + 1
    return {
        "calls": dict(mirakl.calls[code]),
        "offers": {
            o.shop_sku: {"quantity": o.quantity, "price": o.total_price, "deleted": o.deleted}
            for o in market.offers.values()
        },
        "orders": {
            o.order_id: {
                "state": o.state.value,
                "tracking_number": o.tracking_number,
                "carrier_code": o.carrier_code,
                "lines": [
                    {
                        "line_id": ln.line_id,
                        "sku": ln.offer_sku,
                        "state": ln.state.value,
                        "refunds": [r.amount for r in ln.refunds],
                        "cancelations": [c.quantity for c in ln.cancelations],
                    }
                    for ln in o.lines
                ],
            }
            for o in market.orders.values()
        },
        "shipments": shipments,
        "imports": imported,
    }


def sandbox_state(mirakl: MiraklEmulator, shopify: ShopifyEmulator) -> dict[str, Any]:
    """The JSON body of ``GET /sandbox/state``."""
    markets = {
        m.code: mirakl.read(lambda code=m.code: _market_view(mirakl, code))  # type: ignore[misc]
        for m in mirakl.marketplaces
    }
    data = shopify.data
    orders = {
        str(o.id): {
            "source_identifier": o.source_identifier,
            "source_name": o.source_name,
            "cancelled": o.cancelled_at is not None,
            "fulfillments": len(o.fulfillment_ids),
            "refunds": len(o.refund_ids),
            "fulfilled_at": [data.fulfillments[f].created_at for f in o.fulfillment_ids],
            "refunded_at": [data.refunds[r].created_at for r in o.refund_ids],
            "created_at": o.created_at,
        }
        # A copy first: the sandbox's warehouse thread may add orders meanwhile.
        for o in list(data.orders.values())
    }
    return {"mirakl": markets, "shopify": {"orders": orders}}
