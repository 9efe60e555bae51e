"""Allocation: how much of the one stock pool each marketplace may list, and what to send.

For one offer on one marketplace::

    pool     = source available - open reservations (held, not yet in the source)
    quantity = pool after the marketplace's rules (safety buffer, maximum, percentage
               cap, "0 when at or below N"); never below 0

Rules match an offer by SKU, tag or product type (a rule naming none matches every
offer); when several match, every limit applies and the strictest wins (the largest
buffer and threshold, the smallest maximum and percentage).

The diff (:func:`plan_stock_updates`) must handle a million offers on several
marketplaces in seconds, so offers are plain ``dict[str, int]`` keyed by shop SKU, and
the rules are folded once per *rule class* (the distinct sets of tags and product type),
never once per offer.

Pure: stdlib only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class StockRule:
    """A limit on one marketplace for the offers it matches (the config's ``stock_rules``)."""

    sku: str | None = None
    tag: str | None = None
    product_type: str | None = None
    safety_buffer: int = 0
    max_quantity: int | None = None
    percent_cap: float | None = None
    zero_at_or_below: int | None = None

    def matches(self, sku: str, facts: OfferFacts) -> bool:
        if self.sku is not None and self.sku != sku:
            return False
        if self.tag is not None and self.tag not in facts.tags:
            return False
        return self.product_type is None or self.product_type == facts.product_type


@dataclass(frozen=True)
class OfferFacts:
    """What rules may match on: the Shopify product's type and tags."""

    product_type: str = ""
    tags: frozenset[str] = frozenset()


NO_FACTS = OfferFacts()


@dataclass(frozen=True)
class Limits:
    """Every matching rule folded into one: the strictest value of each limit."""

    safety_buffer: int = 0
    max_quantity: int | None = None
    percent_cap: float | None = None
    zero_at_or_below: int | None = None

    def apply(self, pool: int) -> int:
        """The quantity to list from ``pool`` units (never negative)."""
        if pool <= 0:
            return 0
        if self.zero_at_or_below is not None and pool <= self.zero_at_or_below:
            return 0
        quantity = pool - self.safety_buffer
        if self.max_quantity is not None and quantity > self.max_quantity:
            quantity = self.max_quantity
        if self.percent_cap is not None:
            # Of the pool, rounded down: 50% of 1 unit lists 0, never half an item.
            capped = int(pool * self.percent_cap // 100)
            if capped < quantity:
                quantity = capped
        return quantity if quantity > 0 else 0


NO_LIMITS = Limits()


def fold(rules: Iterable[StockRule]) -> Limits:
    """The strictest of each limit among ``rules``."""
    buffer = 0
    maximum: int | None = None
    percent: float | None = None
    threshold: int | None = None
    for rule in rules:
        buffer = max(buffer, rule.safety_buffer)
        if rule.max_quantity is not None:
            maximum = rule.max_quantity if maximum is None else min(maximum, rule.max_quantity)
        if rule.percent_cap is not None:
            percent = rule.percent_cap if percent is None else min(percent, rule.percent_cap)
        if rule.zero_at_or_below is not None:
            threshold = (
                rule.zero_at_or_below
                if threshold is None
                else max(threshold, rule.zero_at_or_below)
            )
    return Limits(buffer, maximum, percent, threshold)


def limits_for(sku: str, facts: OfferFacts, rules: Iterable[StockRule]) -> Limits:
    return fold(rule for rule in rules if rule.matches(sku, facts))


def quantity_for(
    source: int, held: int, rules: Iterable[StockRule], *, sku: str, facts: OfferFacts = NO_FACTS
) -> int:
    """What one marketplace may list of ``sku``: source - held, after the matching rules."""
    return limits_for(sku, facts, rules).apply(source - held)


class RuleBook:
    """One marketplace's rules, folded per rule class and cached.

    Offers with the same facts (same product type and tags) share their limits, so a
    catalogue of a million offers folds its rules a few hundred times, not a million.
    """

    def __init__(self, rules: Iterable[StockRule]) -> None:
        self.rules = tuple(rules)
        self._by_sku: dict[str, tuple[StockRule, ...]] = {}
        for rule in self.rules:
            if rule.sku is not None:
                self._by_sku.setdefault(rule.sku, ())
                self._by_sku[rule.sku] += (rule,)
        self._general = tuple(rule for rule in self.rules if rule.sku is None)
        self._cache: dict[OfferFacts, Limits] = {}

    def limits(self, sku: str, facts: OfferFacts) -> Limits:
        if sku in self._by_sku:
            return fold(
                rule for rule in (*self._general, *self._by_sku[sku]) if rule.matches(sku, facts)
            )
        found = self._cache.get(facts)
        if found is None:
            found = fold(rule for rule in self._general if rule.matches(sku, facts))
            self._cache[facts] = found
        return found


def desired_quantities(
    source: Mapping[str, int],
    held: Mapping[str, int],
    book: RuleBook,
    facts: Mapping[str, OfferFacts],
) -> dict[str, int]:
    """Quantity per offer SKU on one marketplace (``source`` and ``held`` by the same key)."""
    if not book.rules:
        # The common case, kept tight: no per-offer rule lookup at all.
        if not held:
            return {sku: (q if q > 0 else 0) for sku, q in source.items()}
        return {sku: (p if (p := q - held.get(sku, 0)) > 0 else 0) for sku, q in source.items()}
    out: dict[str, int] = {}
    limits = book.limits
    for sku, quantity in source.items():
        out[sku] = limits(sku, facts.get(sku, NO_FACTS)).apply(quantity - held.get(sku, 0))
    return out


def plan_stock_updates(
    desired: Mapping[str, int],
    last_known: Mapping[str, int | None],
    listed: Collection[str] = (),
) -> dict[str, int]:
    """The offers whose quantity must change on the marketplace, and their new quantity.

    ``last_known`` is what the hub last decided for each offer (sent or still pending):
    an unchanged value is never sent again, and a pending value replaced by a newer
    one simply takes the newer value (the latest desired value wins: coalescing).
    An offer the marketplace was never told about and that has nothing to list is left
    alone (sending 0 for an offer that does not exist only makes an error line), unless it
    is in ``listed``: the marketplace showed it holds the offer (its offer export), listed
    outside the hub, so its quantity there is stale until the hub sends one, 0 included.
    An offer gone from the source is set to 0 if it was listed with stock.
    """
    changes = {
        sku: quantity
        for sku, quantity in desired.items()
        if (previous := last_known.get(sku)) != quantity
        and (quantity or previous is not None or sku in listed)
    }
    if len(last_known) > len(desired) or not last_known.keys() <= desired.keys():
        for sku in last_known.keys() - desired.keys():
            if last_known[sku]:
                changes[sku] = 0
    return changes
