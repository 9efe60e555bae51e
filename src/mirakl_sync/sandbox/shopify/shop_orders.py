"""Order operations of the emulated shop: creating an order (claiming its stock), touching
and cancelling one (giving back what is unfulfilled), and the merchant's cancel."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mirakl_sync.sandbox.shopify.shop_inventory import InventoryOperations
from mirakl_sync.sandbox.shopify.state import (
    FulfillmentOrderLineRec,
    FulfillmentOrderRec,
    LineItemRec,
    OrderRec,
)
from mirakl_sync.sandbox.shopify.webhooks import order_payload


class OrderOperations(InventoryOperations):
    """Order creation, updates and cancellation."""

    # -- operations shared by mutations and helpers ------------------------------------------

    def create_order(
        self, order: dict[str, Any], lines: list[dict[str, Any]], behaviour: str
    ) -> tuple[OrderRec | None, str | None]:
        now = self.now()
        location_id = next(iter(self.data.locations))
        line_recs: list[LineItemRec] = []
        claims: list[tuple[int, int, int]] = []
        for line in lines:
            variant = self.data.variants.get(line["variant_id"] or -1)
            price = (
                line["price"]
                if line["price"] is not None
                else (variant.price if variant else Decimal("0"))
            )
            rec = LineItemRec(
                id=self.next_id(),
                variant_id=variant.id if variant else None,
                product_id=variant.product_id if variant else None,
                sku=line.get("sku") or (variant.sku if variant else None),
                title=line.get("title")
                or (self.data.products[variant.product_id].title if variant else ""),
                variant_title=line.get("variantTitle") or (variant.title if variant else None),
                quantity=int(line["quantity"]),
                price=Decimal(str(price)),
                requires_shipping=bool(line.get("requiresShipping", False)),
                taxable=bool(line.get("taxable", True)),
                tax_lines=[_tax(t) for t in line.get("taxLines") or []],
            )
            if variant is not None and variant.tracked and behaviour != "BYPASS":
                item_id = variant.inventory_item_id
                claim_at = max(
                    self.data.locations, key=lambda loc: self.data.levels.get((item_id, loc), 0)
                )
                available = self.data.levels.get((variant.inventory_item_id, claim_at), 0)
                if behaviour == "DECREMENT_OBEYING_POLICY" and available < rec.quantity:
                    return None, f"Not enough inventory for {variant.sku}"
                rec.claimed_location_id = claim_at
                claims.append((variant.inventory_item_id, claim_at, rec.quantity))
            line_recs.append(rec)
        order_id = self.next_id()
        rec_order = OrderRec(
            id=order_id,
            number=next(self._order_numbers),
            source_identifier=order.get("sourceIdentifier"),
            source_name=order.get("sourceName"),
            tags=list(order.get("tags") or []),
            email=order.get("email"),
            phone=order.get("phone"),
            note=order.get("note"),
            currency=order.get("currency") or self.data.currency,
            financial_status=order.get("financialStatus") or "PENDING",
            created_at=now,
            updated_at=now,
            processed_at=order.get("processedAt") or now,
            line_items=line_recs,
            shipping_address=order.get("shippingAddress"),
            billing_address=order.get("billingAddress"),
            shipping_lines=[
                {
                    "title": s["title"],
                    "code": s.get("code"),
                    "source": s.get("source"),
                    "price": str(s["priceSet"]["shopMoney"]["amount"]),
                    "tax_lines": [_tax(t) for t in s.get("taxLines") or []],
                }
                for s in order.get("shippingLines") or []
            ],
            tax_lines=[_tax(t) for t in order.get("taxLines") or []],
            custom_attributes=[dict(a) for a in order.get("customAttributes") or []],
            taxes_included=bool(order.get("taxesIncluded", False)),
            test=bool(order.get("test", False)),
        )
        self.data.orders[order_id] = rec_order
        for li in line_recs:
            self.data.line_items[li.id] = (order_id, li)
        fo_location = next(
            (li.claimed_location_id for li in line_recs if li.claimed_location_id), location_id
        )
        fo = FulfillmentOrderRec(
            id=self.next_id(),
            order_id=order_id,
            location_id=fo_location,
            status="OPEN",
            lines=[
                FulfillmentOrderLineRec(self.next_id(), li.id, li.quantity, li.quantity)
                for li in line_recs
            ],
            created_at=now,
            updated_at=now,
        )
        self.data.fulfillment_orders[fo.id] = fo
        rec_order.fulfillment_order_ids.append(fo.id)
        self.emit("ORDERS_CREATE", order_payload(self.data, rec_order, None))
        for item_id, loc, quantity in claims:
            self._change_available(item_id, loc, -quantity)
        return rec_order, None

    def touch_order(self, order: OrderRec, topic: str) -> None:
        order.updated_at = self.now()
        self.emit(topic, order_payload(self.data, order, _rest_fulfillment_status(order)))

    def cancel_order_by_id(
        self, order_id: int, *, reason: str = "OTHER", restock: bool = True
    ) -> None:
        order = self.data.orders[order_id]
        order.cancelled_at = self.now()
        order.cancel_reason = reason
        for fo_id in order.fulfillment_order_ids:
            fo = self.data.fulfillment_orders[fo_id]
            if fo.status in ("OPEN", "IN_PROGRESS", "SCHEDULED", "ON_HOLD"):
                fo.status = (
                    "CLOSED"
                    if any(line.remaining < line.total for line in fo.lines)
                    else "CANCELLED"
                )
                for line in fo.lines:
                    line.remaining = 0
        if restock:
            for li in order.line_items:
                unfulfilled = li.quantity - li.refunded - li.fulfilled
                if li.claimed_location_id and unfulfilled > 0 and li.variant_id:
                    item_id = self.data.variants[li.variant_id].inventory_item_id
                    self._change_available(item_id, li.claimed_location_id, unfulfilled)
        self.touch_order(order, "ORDERS_CANCELLED")

    # -- test helpers: what a merchant or a shopper does in the real shop --------------------

    def cancel_order(
        self, order_gid: str, *, reason: str = "CUSTOMER", restock: bool = True
    ) -> None:
        """Cancel an order as the merchant would in the admin."""
        self.cancel_order_by_id(self._order(order_gid).id, reason=reason, restock=restock)


def _tax(tax: dict[str, Any]) -> dict[str, Any]:
    price = (tax.get("priceSet") or {}).get("shopMoney", {}).get("amount", "0")
    return {
        "title": tax["title"],
        "rate": str(tax["rate"]),
        "price": str(price),
        "channel_liable": tax.get("channelLiable"),
    }


def _rest_fulfillment_status(order: OrderRec) -> str | None:
    fulfilled = sum(li.fulfilled for li in order.line_items)
    if not fulfilled:
        return None
    wanted = sum(li.quantity - li.refunded for li in order.line_items)
    return "fulfilled" if fulfilled >= wanted else "partial"
