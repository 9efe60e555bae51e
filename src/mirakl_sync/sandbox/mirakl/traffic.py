"""Synthetic customer traffic: orders placed on offers with stock at a set rate.

Runs in a background thread (:meth:`TrafficGenerator.run`) or task (:meth:`arun`) next to
the emulator's ASGI app; every draw comes from its own seeded generator.
"""

from __future__ import annotations

import asyncio
import random
import threading
from typing import Any, Protocol


class Marketplaces(Protocol):
    """What traffic needs of the emulator (``MiraklEmulator`` is one): the facade builds
    its parts, and the parts never import it back."""

    def offers_in_stock(self) -> dict[str, list[str]]: ...

    def place_order(
        self,
        code: str,
        lines: list[tuple[str, int]],
        *,
        customer: dict[str, Any] | None = None,
        channel_code: str | None = None,
    ) -> str: ...


_FIRST = ("Olivia", "Amelia", "Isla", "Ava", "Oliver", "George", "Harry", "Noah", "Jack", "Freya")
_LAST = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Davies", "Evans", "Thomas")
_PLACES = (
    ("12 Briggate", "Leeds", "LS1 6HD"),
    ("48 Deansgate", "Manchester", "M3 2EG"),
    ("7 Royal Mile", "Edinburgh", "EH1 1RE"),
    ("221 Baker Street", "London", "NW1 6XE"),
    ("3 Park Row", "Bristol", "BS1 5LJ"),
    ("90 New Street", "Birmingham", "B2 4BA"),
    ("15 Castle Street", "Cardiff", "CF10 1BS"),
    ("5 Grainger Street", "Newcastle upon Tyne", "NE1 5JE"),
)


def random_customer(rng: random.Random) -> dict[str, Any]:
    """A customer with a UK billing and shipping address (OR11 ``customer`` shape)."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    street, city, zip_code = rng.choice(_PLACES)
    address = {
        "firstname": first,
        "lastname": last,
        "street_1": street,
        "city": city,
        "zip_code": zip_code,
        "country": "United Kingdom",
        "country_iso_code": "GBR",
        "phone": f"07{rng.randrange(100000000, 999999999)}",
    }
    return {
        "customer_id": f"C{rng.randrange(10**7, 10**8)}",
        "firstname": first,
        "lastname": last,
        "locale": "en_GB",
        "billing_address": dict(address),
        "shipping_address": dict(address),
    }


class TrafficGenerator:
    """Places ``orders_per_hour`` orders (Poisson arrivals) across the emulator's marketplaces."""

    def __init__(
        self, emulator: Marketplaces, *, orders_per_hour: float, rng_seed: int = 0
    ) -> None:
        if orders_per_hour <= 0:
            raise ValueError("orders_per_hour must be positive")
        self.emulator = emulator
        self.orders_per_hour = orders_per_hour
        self.rng = random.Random(rng_seed)
        self.placed: list[tuple[str, str]] = []

    def next_delay(self) -> float:
        """Seconds until the next order (exponential inter-arrival times)."""
        return self.rng.expovariate(self.orders_per_hour / 3600.0)

    def place_one(self) -> tuple[str, str] | None:
        """Place one order of 1-3 lines on offers with stock; None when nothing is in stock."""
        choices = self.emulator.offers_in_stock()
        if not choices:
            return None
        code = self.rng.choice(sorted(choices))
        skus = sorted(choices[code])
        picked = self.rng.sample(skus, k=min(len(skus), self.rng.choice((1, 1, 1, 2, 3))))
        lines = [(sku, 1) for sku in picked]
        try:
            order_id = self.emulator.place_order(
                code, lines=lines, customer=random_customer(self.rng)
            )
        except ValueError:
            return None  # the stock went between the look and the order (another buyer)
        self.placed.append((code, order_id))
        return code, order_id

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set (for a background thread)."""
        while not stop.wait(self.next_delay()):
            self.place_one()

    async def arun(self, stop: asyncio.Event) -> None:
        """Loop until ``stop`` is set (for an asyncio task)."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.next_delay())
            except TimeoutError:
                self.place_one()
