"""Pricing: a marketplace's price from the shop's price, by the marketplace's price rules.

Order of operations: markup (a percentage, negative for a discount), then rounding up to
a fixed ending (``0.99`` makes 24.31 into 24.99 and 25.00 into 25.99), then the minimum
price. Money is ``Decimal``; results have two decimals.

Pure: stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class PriceRules:
    """One marketplace's price rules (the config's ``price_rules``)."""

    markup_percent: Decimal = Decimal(0)
    round_to_ending: Decimal | None = None
    minimum_price: Decimal | None = None


def marketplace_price(shop_price: Decimal, rules: PriceRules) -> Decimal:
    """The price to offer on the marketplace for ``shop_price`` in the shop."""
    price = (shop_price * (1 + rules.markup_percent / 100)).quantize(CENT, ROUND_HALF_UP)
    if rules.round_to_ending is not None:
        ending = rules.round_to_ending.quantize(CENT, ROUND_HALF_UP)
        # The smallest whole amount + ending that is not below the price.
        whole = (price - ending).to_integral_value(ROUND_CEILING)
        price = whole + ending
    if rules.minimum_price is not None and price < rules.minimum_price:
        price = rules.minimum_price.quantize(CENT, ROUND_HALF_UP)
    return price.quantize(CENT)


def price_text(price: Decimal) -> str:
    """The stored and compared form of a price (``offer_states.desired_price``)."""
    return format(price.quantize(CENT), "f")
