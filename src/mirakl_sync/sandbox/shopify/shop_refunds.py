"""Refund operations of the emulated shop: creating a refund (restocking as asked, money
only through transactions), and the merchant's "refund this order" helper."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mirakl_sync.sandbox.shopify.shop_inventory import InventoryOperations
from mirakl_sync.sandbox.shopify.state import RefundLineRec, RefundRec
from mirakl_sync.sandbox.shopify.webhooks import refund_payload


class RefundOperations(InventoryOperations):
    """Refunds of order lines."""

    # -- operations shared by mutations and helpers ------------------------------------------

    def create_refund(
        self,
        order_id: int,
        lines: list[tuple[int, int, str, int | None]],
        *,
        note: str | None = None,
        transactions: list[dict[str, Any]] | None = None,
        shipping: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> RefundRec:
        order = self.data.orders[order_id]
        now = self.now()
        refund_lines: list[RefundLineRec] = []
        restocks: list[tuple[int, int, int]] = []
        for line_item_id, quantity, restock_type, location_id in lines:
            _, line_item = self.data.line_items[line_item_id]
            line_item.refunded += quantity
            where = location_id or line_item.claimed_location_id or next(iter(self.data.locations))
            if restock_type == "CANCEL":
                for fo_id in order.fulfillment_order_ids:
                    for fo_line in self.data.fulfillment_orders[fo_id].lines:
                        if fo_line.line_item_id == line_item_id:
                            fo_line.remaining = max(0, fo_line.remaining - quantity)
            if restock_type in ("CANCEL", "RETURN") and line_item.variant_id:
                item_id = self.data.variants[line_item.variant_id].inventory_item_id
                restocks.append((item_id, where, quantity))
            refund_lines.append(
                RefundLineRec(
                    id=self.next_id(),
                    line_item_id=line_item_id,
                    quantity=quantity,
                    restock_type=restock_type,
                    location_id=where if restock_type != "NO_RESTOCK" else None,
                    subtotal=line_item.price * quantity,
                )
            )
        # Money moves only through transactions, as in Shopify's refundCreate.
        total = sum((Decimal(t["amount"]) for t in transactions or []), Decimal("0"))
        refund = RefundRec(
            id=self.next_id(),
            order_id=order_id,
            created_at=now,
            note=note,
            lines=refund_lines,
            total=total,
            transactions=list(transactions or []),
        )
        del shipping  # shipping refunds move no money without a transaction either
        self.data.refunds[refund.id] = refund
        if idempotency_key:
            self.data.refund_keys[idempotency_key] = refund.id
        order.refund_ids.append(refund.id)
        refunded = sum((self.data.refunds[r].total for r in order.refund_ids), Decimal("0"))
        if refunded > 0:
            order.financial_status = (
                "REFUNDED" if refunded >= order.total() else "PARTIALLY_REFUNDED"
            )
        order.updated_at = now
        self.emit("REFUNDS_CREATE", refund_payload(self.data, refund))
        for item_id, loc, quantity in restocks:
            self._change_available(item_id, loc, quantity)
        return refund

    # -- test helpers: what a merchant or a shopper does in the real shop --------------------

    def refund_order(
        self,
        order_gid: str,
        lines: dict[str, int] | None = None,
        *,
        restock_type: str = "NO_RESTOCK",
        amount: Decimal | None = None,
        note: str | None = None,
    ) -> str:
        """Refund ``{sku: quantity}`` (default: every line in full) and ``amount`` of money
        (default: the lines' price); return the refund's gid."""
        order = self._order(order_gid)
        chosen: list[tuple[int, int, str, int | None]] = []
        money = Decimal("0")
        for li in order.line_items:
            refundable = li.quantity - li.refunded
            quantity = refundable if lines is None else min(lines.get(li.sku or "", 0), refundable)
            if quantity > 0:
                chosen.append((li.id, quantity, restock_type, None))
                money += li.price * quantity
        if not chosen:
            raise ValueError(f"order {order_gid} has nothing left to refund")
        refund_amount = money if amount is None else amount
        transactions = [{"amount": str(refund_amount), "gateway": "manual", "kind": "REFUND"}]
        rec = self.create_refund(order.id, chosen, note=note, transactions=transactions)
        return f"gid://shopify/Refund/{rec.id}"
