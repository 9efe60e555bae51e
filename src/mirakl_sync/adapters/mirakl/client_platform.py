"""The platform and reference-list operations of ``MiraklClient``: health check (V01),
account (A01), platform configuration (PC01) and the lists the hub caches: carriers
(SH21), reasons (RE01) and offer conditions (OF61).
"""

from __future__ import annotations

from mirakl_sync.adapters.mirakl.client_transport import MiraklTransport
from mirakl_sync.adapters.mirakl.models import (
    Account,
    Carrier,
    OfferCondition,
    PlatformConfiguration,
    Reason,
)


class PlatformOperations(MiraklTransport):
    """The client's operations V01, A01, PC01, SH21, RE01 and OF61."""

    async def version(self) -> None:
        """V01 health check: returns if Mirakl is up (the body is not a contract)."""
        await self._call("V01", "GET", "/api/version")

    async def account(self) -> Account:
        """A01: the shop's account (budget: once per day)."""
        return await self._model(Account, "A01", "GET", "/api/account")

    async def platform_configuration(self) -> PlatformConfiguration:
        """PC01: modules and features (multi-shipment, acceptance mode, tax mode)."""
        return await self._model(
            PlatformConfiguration, "PC01", "GET", "/api/platform/configuration"
        )

    async def carriers(self) -> list[Carrier]:
        """SH21: the carriers registered on the platform (budget: once per day)."""
        data = await self._json("SH21", "GET", "/api/shipping/carriers")
        return [Carrier.model_validate(item) for item in data.get("carriers") or []]

    async def reasons(self, *, locale: str | None = None) -> list[Reason]:
        """RE01: refund, cancelation, incident and messaging reasons (cache them)."""
        data = await self._json("RE01", "GET", "/api/reasons", params={"locale": locale})
        return [Reason.model_validate(item) for item in data.get("reasons") or []]

    async def offer_conditions(self, *, active: bool | None = None) -> list[OfferCondition]:
        """OF61: offer conditions (the ``state`` codes of offers; budget: once per day)."""
        data = await self._json("OF61", "GET", "/api/offers/states", params={"active": active})
        return [OfferCondition.model_validate(item) for item in data.get("offer_states") or []]
