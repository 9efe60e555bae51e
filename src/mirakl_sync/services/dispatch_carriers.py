"""Carrier resolution for dispatch: the shop's carrier name becomes a marketplace
carrier code (or an unregistered carrier), or a ``carrier_unmapped`` exception."""

from __future__ import annotations

from mirakl_sync.config import Settings
from mirakl_sync.domain.carriers import CarrierDecision, CarrierMap, CarrierOutcome, decide
from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.shipments import OrderRef
from mirakl_sync.services.dispatch_outcomes import DispatchOutcomes
from mirakl_sync.services.dispatch_types import (
    RETRY_SHIPMENTS,
    DispatchResult,
    Fulfilment,
    _Plan,
)
from mirakl_sync.services.ports import MarketplaceDispatchApi


def carrier_map(settings: Settings, marketplace: str) -> CarrierMap:
    return CarrierMap(
        global_map=settings.carriers,
        aliases=settings.carrier_aliases,
        overrides=settings.marketplace(marketplace).carriers,
    )


class CarrierResolution(DispatchOutcomes):
    """The part of ``DispatchService`` that resolves the carrier of a fulfilment."""

    async def _carrier(
        self, fulfilment: Fulfilment, ref: OrderRef, api: MarketplaceDispatchApi
    ) -> CarrierDecision | None:
        if not fulfilment.carrier and not fulfilment.tracking_number:
            return None  # shipped without tracking: OR24 / ST01 without a tracking block
        market = self._settings.marketplace(ref.marketplace)
        registered = await self._references.carriers(api)
        return decide(
            fulfilment.carrier or "",
            carrier_map(self._settings, ref.marketplace),
            registered,
            allow_unregistered=market.allow_unregistered_carriers,
        )

    def _carrier_exception(
        self, fulfilment: Fulfilment, ref: OrderRef, decision: CarrierDecision
    ) -> DispatchResult:
        name = decision.name or "(no carrier name)"
        if decision.outcome == CarrierOutcome.UNKNOWN_CODE:
            message = (
                f"Carrier {name!r} maps to code {decision.code!r}, which {ref.marketplace} does "
                "not list in SH21: fix [carriers] (or this marketplace's carriers), then run "
                f"`{RETRY_SHIPMENTS}`"
            )
        else:
            message = (
                f"Carrier {name!r} maps to no {ref.marketplace} carrier code and the "
                "marketplace takes no unregistered carriers: add it to [carriers] (or to "
                f"[carrier_aliases]), then run `{RETRY_SHIPMENTS}`"
            )
        return self._report(
            ExceptionType.CARRIER_UNMAPPED,
            fulfilment,
            ref,
            message,
            {"carrier": decision.name, "code": decision.code, "outcome": decision.outcome.value},
        )

    def _tracking_args(self, plan: _Plan) -> dict[str, str | None]:
        decision, f = plan.decision, plan.fulfilment
        assert decision is not None
        registered = decision.outcome == CarrierOutcome.REGISTERED
        return {
            "carrier_code": decision.code if registered else None,
            "carrier_name": None if registered else decision.name,
            "carrier_url": None if registered else f.tracking_url,
            "tracking_number": f.tracking_number,
        }
