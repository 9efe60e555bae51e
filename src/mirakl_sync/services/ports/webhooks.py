"""Ports of Shopify webhook subscriptions."""

from __future__ import annotations

from typing import Protocol


class WebhookSubscriptions(Protocol):
    """The shop's webhook subscriptions (Shopify ``webhookSubscriptions``)."""

    async def subscribed(self) -> set[tuple[str, str]]:
        """(topic enum, uri) of every existing subscription."""
        ...

    async def subscribe(self, topic: str, uri: str) -> None: ...
