"""Shopify's calculated query cost, as the client sees it: parse it, and pace requests by it.

Every Admin GraphQL response carries ``extensions.cost``::

    {"requestedQueryCost": 52, "actualQueryCost": 12,
     "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1988.0,
                        "restoreRate": 100.0}}

The bucket leaks back at ``restoreRate`` points a second up to ``maximumAvailable``; a
query is only run when the bucket holds its *requested* cost. ``CostBucket`` mirrors that
bucket locally so the client waits before sending instead of being answered THROTTLED.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ThrottleStatus:
    maximum_available: float
    currently_available: float
    restore_rate: float


@dataclass(frozen=True)
class QueryCost:
    requested: float
    #: ``None`` when the query was not run (throttled).
    actual: float | None
    throttle: ThrottleStatus | None


def parse_cost(extensions: Any) -> QueryCost | None:
    """Read ``extensions.cost`` from a response body's ``extensions``; ``None`` if absent."""
    if not isinstance(extensions, dict):
        return None
    cost = extensions.get("cost")
    if not isinstance(cost, dict):
        return None
    throttle: ThrottleStatus | None = None
    status = cost.get("throttleStatus")
    if isinstance(status, dict):
        try:
            throttle = ThrottleStatus(
                maximum_available=float(status["maximumAvailable"]),
                currently_available=float(status["currentlyAvailable"]),
                restore_rate=float(status["restoreRate"]),
            )
        except (KeyError, TypeError, ValueError):
            throttle = None
    requested = cost.get("requestedQueryCost")
    actual = cost.get("actualQueryCost")
    return QueryCost(
        requested=float(requested) if isinstance(requested, int | float) else 0.0,
        actual=float(actual) if isinstance(actual, int | float) else None,
        throttle=throttle,
    )


def seconds_until_available(status: ThrottleStatus, needed: float) -> float:
    """How long the bucket in ``status`` needs to hold ``needed`` points (0 if it does now)."""
    missing = min(needed, status.maximum_available) - status.currently_available
    # A hundredth of a point is rounding, not a shortfall: at wall-clock magnitudes a
    # float cannot say the tiny wait it would take, and a caller asking again would wait
    # "1e-13 s" forever.
    if missing <= 0.01:
        return 0.0
    if status.restore_rate <= 0:
        # No restore rate reported: fall back to one second rather than waiting forever.
        return 1.0
    return missing / status.restore_rate


class CostBucket:
    """The client's mirror of the shop's leaky bucket, refreshed from each response.

    Until the first response arrives nothing is known, so nothing is waited for.
    """

    def __init__(self) -> None:
        self._status: ThrottleStatus | None = None
        self._observed_at = 0.0

    @property
    def known(self) -> bool:
        return self._status is not None

    @property
    def maximum_available(self) -> float:
        """The bucket's size as last reported (0 until the first response)."""
        return self._status.maximum_available if self._status is not None else 0.0

    def observe(self, status: ThrottleStatus, now: float) -> None:
        self._status = status
        self._observed_at = now

    def available(self, now: float) -> float | None:
        """Points the bucket holds at ``now``, refilled since the last observation."""
        if self._status is None:
            return None
        refill = max(0.0, now - self._observed_at) * self._status.restore_rate
        return min(self._status.maximum_available, self._status.currently_available + refill)

    def wait_for(self, needed: float, now: float) -> float:
        """Seconds to wait before a query of cost ``needed`` fits in the bucket."""
        if self._status is None or needed <= 0:
            return 0.0
        current = self.available(now)
        assert current is not None
        return seconds_until_available(
            ThrottleStatus(self._status.maximum_available, current, self._status.restore_rate),
            needed,
        )

    def spend(self, points: float, now: float) -> None:
        """Take ``points`` out now (the request is about to go), so concurrent sends pace too."""
        if self._status is None:
            return
        current = self.available(now)
        assert current is not None
        self._status = ThrottleStatus(
            self._status.maximum_available, current - points, self._status.restore_rate
        )
        self._observed_at = now


#: Share of the bucket background work (stock and price reads) leaves untouched, so an
#: order decision or a dispatch never queues behind a catalogue read: 25% of a Standard
#: shop's 2000 points is room for about 40 order-flow requests at once.
BACKGROUND_RESERVE = 0.25


class ShopifyPacing:
    """The cost bucket and per-document costs shared by every client of one shop in a process.

    A client made per workflow step would otherwise start with a bucket it believes full
    and no known costs, so eight concurrent steps each spent "the whole bucket" and were
    answered THROTTLED together. Reservations are taken under a lock.

    Two lanes share the bucket. **Urgent** callers (orders, dispatch) spend their cost at
    once (the bucket may go below zero) and wait their turn, so concurrent callers queue
    instead of racing. **Background** callers (stock and price reads) spend only when the
    bucket holds their cost plus :data:`BACKGROUND_RESERVE` of its size, and otherwise
    wait without spending: a long catalogue read then slows down when orders are busy,
    instead of the orders waiting for it. Acceptance has a deadline; a stock read that
    is late is caught up by the next one.
    """

    def __init__(self) -> None:
        self.bucket = CostBucket()
        #: Cost Shopify last requested for each document: what to reserve before sending it.
        self.last_cost: dict[str, float] = {}
        #: How many locations the shop has, learnt once: stock queries ask for exactly that
        #: many inventory levels per variant, since Shopify charges for the ``first`` asked.
        self.location_count: int | None = None
        self._lock = threading.Lock()

    def reserve(self, document: str, now: float, *, background: bool = False) -> float:
        """Take ``document``'s last known cost; return the seconds to wait.

        Urgent: the cost is spent now and the caller sleeps the returned time, then sends.
        Background: the cost is spent only when the answer is 0; otherwise nothing is
        spent and the caller sleeps the returned time and asks again.
        """
        with self._lock:
            cost = self.last_cost.get(document, 0.0)
            if background:
                # Until the first answer the size is unknown (0): nothing is kept back.
                reserve = BACKGROUND_RESERVE * self.bucket.maximum_available
                wait = self.bucket.wait_for(cost + reserve, now)
                if wait > 0:
                    return wait
                self.bucket.spend(cost, now)
                return 0.0
            wait = self.bucket.wait_for(cost, now)
            self.bucket.spend(cost, now)
            return wait

    def observe(self, document: str, cost: QueryCost, now: float) -> None:
        with self._lock:
            if cost.throttle is not None:
                self.bucket.observe(cost.throttle, now)
            if cost.requested:
                self.last_cost[document] = cost.requested
