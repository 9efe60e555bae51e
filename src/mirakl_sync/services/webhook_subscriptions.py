"""Webhook subscriptions: make sure Shopify tells the hub about the changes it acts on.

Webhooks make the hub fast; they are never its only source (every flow also polls), so a
failed subscription is an exception for ops, not a stop. It is not left there either
(issue 10, item 8: a subscription refused at start used to wait for the next restart):
:class:`SubscriptionKeeper` is tried again with :class:`Backoff` (30 s doubling to
15 minutes, with jitter) until every subscription is in place, which resolves the
exception. Then it checks hourly that they still are, because Shopify deletes a
subscription whose deliveries keep failing (``shared/reference/peers.md``: "webhooks get
deleted after repeated 500s"), and makes again any that went. The process that owns the
subscriptions (``mirakl-sync run``) drives it (``entrypoints.server.WebhookSubscriber``).
"""

from __future__ import annotations

import logging
import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.errors import MiraklSyncError
from mirakl_sync.services.ports import Clock, ExceptionLog, WebhookSubscriptions

logger = logging.getLogger(__name__)

#: Shopify topics (``WebhookSubscriptionTopic`` enum values) and what the hub does with them.
TOPICS: dict[str, str] = {
    "FULFILLMENTS_CREATE": "dispatch: tracking and ship notice to the marketplace",
    "REFUNDS_CREATE": "refund the marketplace order",
    "ORDERS_CANCELLED": "cancel the marketplace order",
    "INVENTORY_LEVELS_UPDATE": "stock: push the new quantity",
}

WEBHOOK_PATH = "/webhooks/shopify"

#: Seconds between checks once every subscription is in place.
RECHECK_SECONDS = 3600.0


def webhook_uri(public_url: str) -> str:
    return public_url.rstrip("/") + WEBHOOK_PATH


async def ensure_subscriptions(shop: WebhookSubscriptions, public_url: str) -> list[str]:
    """Subscribe the hub to every topic it is not subscribed to yet; return those added.

    Idempotent: run at every start, it adds nothing when all are in place.
    """
    uri = webhook_uri(public_url)
    existing = await shop.subscribed()
    added: list[str] = []
    for topic in TOPICS:
        if (topic, uri) not in existing:
            await shop.subscribe(topic, uri)
            added.append(topic)
    return added


@dataclass(frozen=True)
class Backoff:
    """Seconds before try ``n + 1`` after ``n`` failures in a row: doubling, capped, jittered."""

    first_seconds: float = 30.0
    max_seconds: float = 900.0
    #: Up to this share is taken off each delay (never added, so the cap holds), so
    #: several hubs restarted together do not call Shopify in step.
    jitter: float = 0.2

    def delay(self, failures: int, draw: float) -> float:
        """``draw`` is uniform in [0, 1) (``random.random()``)."""
        exponent = min(max(failures, 1) - 1, 32)  # 2**32 * 30 s is far past any cap
        base = min(self.max_seconds, self.first_seconds * float(2**exponent))
        return round(base * (1 - self.jitter * draw), 3)


class SubscriptionKeeper:
    """One try at a time at having every subscription in place; says when to try again."""

    def __init__(
        self,
        *,
        public_url: str,
        shop: str,
        exception_log: ExceptionLog,
        clock: Clock = time.time,
        backoff: Backoff | None = None,
        random: Callable[[], float] = _random.random,
        recheck_seconds: float = RECHECK_SECONDS,
    ) -> None:
        self.public_url = public_url
        self.shop = shop
        self.exception_log = exception_log
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.random = random
        self.recheck_seconds = recheck_seconds
        #: Failed tries in a row (0 once the subscriptions are in place).
        self.failures = 0

    def _report(self, message: str, details: dict[str, Any]) -> ExceptionReport:
        return ExceptionReport(
            type=ExceptionType.WEBHOOK_SUBSCRIPTION_FAILED,
            owner=OwnerTeam.OPS,
            severity=Severity.WARNING,
            entity_type="shop",
            entity_id=self.shop,
            message=message,
            details=details,
        )

    async def attempt(self, shop: WebhookSubscriptions) -> float:
        """Subscribe what is missing; the seconds until the next try (a check, or a retry)."""
        now = self.clock()
        uri = webhook_uri(self.public_url)
        missing = list(TOPICS)  # until the shop says otherwise
        added: list[str] = []
        try:
            existing = await shop.subscribed()
            missing = [topic for topic in TOPICS if (topic, uri) not in existing]
            for topic in missing:
                await shop.subscribe(topic, uri)
                added.append(topic)
        except Exception as exc:  # any failure is retried; none may end the loop
            if not isinstance(exc, MiraklSyncError):
                logger.exception("subscribing to Shopify webhooks failed unexpectedly")
            return self._failed(exc, [t for t in missing if t not in added], now)
        if added:
            logger.info("subscribed to Shopify webhooks: %s", ", ".join(added))
        at = datetime.fromtimestamp(now, UTC)
        if self.exception_log.resolve(self._report("", {}).fingerprint, at):
            logger.info("Shopify webhook subscriptions in place after %d failures", self.failures)
        self.failures = 0
        return self.recheck_seconds

    def _failed(self, exc: Exception, missing: list[str], now: float) -> float:
        self.failures += 1
        delay = self.backoff.delay(self.failures, self.random())
        at = datetime.fromtimestamp(now, UTC)
        retry_at = at + timedelta(seconds=delay)
        logger.warning(
            "could not subscribe to Shopify webhooks (%s); trying again in %.0f s", exc, delay
        )
        self.exception_log.record(
            self._report(
                f"could not subscribe to Shopify webhooks ({exc}); the hub tries again in "
                f"{delay:.0f} s (at {retry_at:%H:%M:%S} UTC, failure {self.failures} in a row, "
                "waits double up to 15 minutes) and polls meanwhile, which is slower. It "
                "resolves itself once the subscriptions are in place. If it keeps failing, "
                "check the access token's scopes and web.public_url.",
                {
                    "attempts": self.failures,
                    "missing": sorted(missing),
                    "error": str(exc)[:500],
                    "next_attempt_at": retry_at.isoformat(),
                },
            ),
            at,
        )
        return delay
