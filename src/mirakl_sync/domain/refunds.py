"""Refunds: what to refund on a marketplace order line, in the marketplace's money.

A refund source (a Shopify refund, a Supercycle return line) names a quantity of a line;
the marketplace refund (OR28) is computed from the marketplace line, not from the shop's
prices (the marketplace may sell at another price):

* product amount = line ``price`` x quantity / line quantity, capped at what is still
  refundable on the line (``price`` minus earlier refunds);
* shipping amount = what is left of the line's shipping, only when the refund takes the
  line to fully refunded (a partial refund keeps the shipping: the parcel did travel);
* taxes: per ``order_tax_mode`` the amounts above include (TAX_INCLUDED) or exclude
  (TAX_EXCLUDED) the taxes; either way each line tax is refunded in proportion, and
  sent only when its ``tax_calculation_rule`` is not PROPORTIONAL_TO_AMOUNT (Mirakl then
  computes it itself; OR28 requires the taxes otherwise);
* reason: the marketplace's map of hub reasons to RE01 REFUND codes, else its default,
  checked against the RE01 codes the shop may use (``is_shop_right``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
PROPORTIONAL = "PROPORTIONAL_TO_AMOUNT"


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineTax:
    code: str
    amount: Decimal
    rule: str | None = None


@dataclass(frozen=True)
class RefundableLine:
    """A marketplace order line as the refund rule sees it (amounts per the tax mode)."""

    order_line_id: str
    quantity: int
    price: Decimal
    shipping_price: Decimal
    refunded_amount: Decimal = Decimal("0")
    refunded_shipping: Decimal = Decimal("0")
    taxes: tuple[LineTax, ...] = ()
    shipping_taxes: tuple[LineTax, ...] = ()

    @property
    def refundable(self) -> Decimal:
        return max(Decimal("0"), self.price - self.refunded_amount)


@dataclass(frozen=True)
class LineRefund:
    order_line_id: str
    quantity: int
    amount: Decimal
    shipping_amount: Decimal
    taxes: tuple[tuple[str, Decimal], ...] = field(default_factory=tuple)
    shipping_taxes: tuple[tuple[str, Decimal], ...] = field(default_factory=tuple)


def _proportional(taxes: Sequence[LineTax], share: Decimal) -> tuple[tuple[str, Decimal], ...]:
    return tuple((t.code, money(t.amount * share)) for t in taxes if (t.rule or "") != PROPORTIONAL)


def line_refund(line: RefundableLine, quantity: int) -> LineRefund | None:
    """The refund of ``quantity`` units of ``line``; ``None`` when nothing is left to refund."""
    if quantity <= 0 or line.quantity <= 0:
        return None
    quantity = min(quantity, line.quantity)
    wanted = money(line.price * quantity / line.quantity)
    amount = min(wanted, line.refundable)
    if amount <= 0:
        return None
    full = amount >= line.refundable
    shipping = (
        max(Decimal("0"), money(line.shipping_price - line.refunded_shipping))
        if full
        else Decimal("0")
    )
    share = amount / line.price if line.price else Decimal("0")
    ship_share = shipping / line.shipping_price if line.shipping_price else Decimal("0")
    return LineRefund(
        order_line_id=line.order_line_id,
        quantity=quantity,
        amount=amount,
        shipping_amount=shipping,
        taxes=_proportional(line.taxes, share),
        shipping_taxes=_proportional(line.shipping_taxes, ship_share) if shipping else (),
    )


def resolve_reason(
    hub_reason: str,
    reason_map: Mapping[str, str],
    default: str | None,
    allowed: Sequence[str] | None,
) -> str | None:
    """The RE01 REFUND code for ``hub_reason``; ``None`` when none is configured or allowed.

    ``allowed`` is the marketplace's REFUND codes with ``is_shop_right`` (``None``: the
    list could not be read; the configured code is then trusted). Without any
    configuration the first allowed code is used, so a fresh install still refunds.
    """
    for code in (reason_map.get(hub_reason), default):
        if code is not None and (allowed is None or code in allowed):
            return code
    if reason_map.get(hub_reason) is None and default is None and allowed:
        return allowed[0]
    return None
