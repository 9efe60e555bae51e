"""A Mirakl order's lines (OR11's JSON) as the refund rules read them: the refundable
amounts of a line (``domain.refunds.RefundableLine``) and the lines a Shopify refund's SKUs
fall on."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mirakl_sync.domain.refunds import LineTax, RefundableLine


def decimal_of(value: Any) -> Decimal:
    """A Mirakl amount (a JSON number or string; missing or empty is 0) as a Decimal."""
    return Decimal(str(value)) if value not in (None, "") else Decimal("0")


def _taxes(items: Any) -> tuple[LineTax, ...]:
    return tuple(
        LineTax(str(t.get("code")), decimal_of(t.get("amount")), t.get("tax_calculation_rule"))
        for t in items or []
    )


def refundable_line(line: dict[str, Any]) -> RefundableLine:
    refunds = line.get("refunds") or []
    return RefundableLine(
        order_line_id=str(line["order_line_id"]),
        quantity=int(line.get("quantity") or 0),
        price=decimal_of(line.get("price")),
        shipping_price=decimal_of(line.get("shipping_price")),
        refunded_amount=sum((decimal_of(r.get("amount")) for r in refunds), Decimal("0")),
        refunded_shipping=sum(
            (decimal_of(r.get("shipping_amount")) for r in refunds), Decimal("0")
        ),
        taxes=_taxes(line.get("taxes")),
        shipping_taxes=_taxes(line.get("shipping_taxes")),
    )


def lines_for_skus(order: dict[str, Any], skus: dict[str, int]) -> list[tuple[dict[str, Any], int]]:
    """(line, quantity) for each SKU, filling the order's lines on that SKU in order."""
    out = []
    left = dict(skus)
    for line in order.get("order_lines") or []:
        sku = line.get("offer_sku")
        sku = sku if sku in left else line.get("product_shop_sku")
        if sku not in left or left[sku] <= 0:
            continue
        take = min(left[sku], int(line.get("quantity") or 0))
        if take > 0:
            out.append((line, take))
            left[sku] -= take
    return out
