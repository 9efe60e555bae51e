"""Fulfilment operations of the emulated shop: creating a fulfillment over fulfillment-order
lines, and the merchant's "fulfil this order" helper."""

from __future__ import annotations

from mirakl_sync.sandbox.shopify.shop_core import ShopCore
from mirakl_sync.sandbox.shopify.state import FulfillmentRec
from mirakl_sync.sandbox.shopify.webhooks import fulfillment_payload


class FulfilmentOperations(ShopCore):
    """Fulfillments of fulfillment-order lines."""

    # -- operations shared by mutations and helpers ------------------------------------------

    def create_fulfillment(
        self,
        requests: list[tuple[int, list[tuple[int, int]] | None]],
        tracking: list[dict[str, str | None]],
    ) -> FulfillmentRec:
        now = self.now()
        lines: list[tuple[int, int, int]] = []
        order_id = self.data.fulfillment_orders[requests[0][0]].order_id
        order = self.data.orders[order_id]
        location_id = self.data.fulfillment_orders[requests[0][0]].location_id
        for fo_id, chosen in requests:
            fo = self.data.fulfillment_orders[fo_id]
            wanted = (
                dict(chosen)
                if chosen is not None
                else {line.id: line.remaining for line in fo.lines if line.remaining}
            )
            for line in fo.lines:
                quantity = wanted.get(line.id, 0)
                if quantity <= 0:
                    continue
                line.remaining -= quantity
                _, line_item = self.data.line_items[line.line_item_id]
                line_item.fulfilled += quantity
                lines.append((self.next_id(), line.line_item_id, quantity))
            fo.status = "CLOSED" if all(line.remaining == 0 for line in fo.lines) else "IN_PROGRESS"
            fo.updated_at = now
        rec = FulfillmentRec(
            id=self.next_id(),
            order_id=order_id,
            name=f"{order.name}-F{len(order.fulfillment_ids) + 1}",
            status="SUCCESS",
            created_at=now,
            updated_at=now,
            location_id=location_id,
            tracking=tracking,
            lines=lines,
            fulfillment_order_ids=[fo for fo, _ in requests],
        )
        self.data.fulfillments[rec.id] = rec
        order.fulfillment_ids.append(rec.id)
        order.updated_at = now
        self.emit("FULFILLMENTS_CREATE", fulfillment_payload(self.data, rec))
        return rec

    # -- test helpers: what a merchant or a shopper does in the real shop --------------------

    def fulfil_order(
        self,
        order_gid: str,
        tracking_company: str,
        tracking_number: str,
        tracking_url: str | None = None,
        lines: dict[str, int] | None = None,
    ) -> str:
        """Fulfil every open fulfillment order of the order, or only ``lines`` (SKU ->
        quantity); return the fulfillment's gid."""
        order = self._order(order_gid)
        open_fos = [
            fo
            for fo in order.fulfillment_order_ids
            if self.data.fulfillment_orders[fo].status in ("OPEN", "IN_PROGRESS")
        ]
        if not open_fos:
            raise ValueError(f"order {order_gid} has nothing left to fulfil")
        chosen: dict[int, list[tuple[int, int]] | None] = dict.fromkeys(open_fos)
        if lines is not None:
            left = dict(lines)
            for fo_id in open_fos:
                picked: list[tuple[int, int]] = []
                for line in self.data.fulfillment_orders[fo_id].lines:
                    sku = self.data.line_items[line.line_item_id][1].sku or ""
                    quantity = min(left.get(sku, 0), line.remaining)
                    if quantity > 0:
                        picked.append((line.id, quantity))
                        left[sku] -= quantity
                chosen[fo_id] = picked
            chosen = {fo: picked for fo, picked in chosen.items() if picked}
        rec = self.create_fulfillment(
            list(chosen.items()),
            [{"company": tracking_company, "number": tracking_number, "url": tracking_url}],
        )
        return f"gid://shopify/Fulfillment/{rec.id}"
