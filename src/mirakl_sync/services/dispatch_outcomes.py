"""The base of the dispatch service: its collaborators, and how it states an outcome
(a result, a wait for the order's state, an exception for ops and its resolution)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mirakl_sync.config import Settings
from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.domain.marketplace_order import OrderState
from mirakl_sync.domain.shipments import SHIPPED_STATES, WAITING_STATES, OrderRef
from mirakl_sync.services.dispatch_types import (
    RETRY_SHIPMENTS,
    DispatchResult,
    DispatchStatus,
    Fulfilment,
    _Plan,
)
from mirakl_sync.services.pass_failures import PassFailures
from mirakl_sync.services.ports import (
    Clock,
    ExceptionLog,
    MarketplaceDispatchApi,
    MarketplaceOrderIndex,
    ShopDispatchApi,
)
from mirakl_sync.services.reference_cache import ReferenceCache
from mirakl_sync.services.waiting import SHIPMENT, WaitingWork


class DispatchOutcomes:
    """The base of ``DispatchService``: what every part of it shares."""

    def __init__(
        self,
        settings: Settings,
        apis: Callable[[str], MarketplaceDispatchApi],
        index: MarketplaceOrderIndex,
        exceptions: ExceptionLog,
        references: ReferenceCache,
        clock: Clock,
        shop: ShopDispatchApi | None = None,
    ) -> None:
        self._settings = settings
        self._apis = apis
        self._index = index
        self._exceptions = exceptions
        self._references = references
        self._clock = clock
        self._shop = shop
        self._failures = PassFailures(exceptions, clock)
        self._waiting = WaitingWork(SHIPMENT, exceptions, clock)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _wait(self, fulfilment: Fulfilment, ref: OrderRef, state: str) -> DispatchResult:
        return DispatchResult(
            DispatchStatus.WAITING,
            fulfilment.source_id,
            ref.marketplace,
            ref.order_id,
            f"order is {state}",
            state,
        )

    def _result(
        self, status: DispatchStatus, fulfilment: Fulfilment, ref: OrderRef, detail: str = ""
    ) -> DispatchResult:
        return DispatchResult(status, fulfilment.source_id, ref.marketplace, ref.order_id, detail)

    async def _settled(self, plan: _Plan) -> DispatchResult | None:
        """After Mirakl refused a write for the order's state: read it and classify."""
        f, ref = plan.fulfilment, plan.ref
        again = await plan.api.order(ref.order_id)
        state = str((again or {}).get("order_state"))
        if state in WAITING_STATES:
            return self._wait(f, ref, state)
        if state in SHIPPED_STATES:
            return self._result(DispatchStatus.ALREADY_SHIPPED, f, ref, state)
        if state in (OrderState.CANCELED, OrderState.REFUSED):
            return self._result(DispatchStatus.NOTHING_TO_DO, f, ref, f"order is {state}")
        return None

    # ------------------------------------------------------------------ exceptions

    def _report(
        self,
        type_: ExceptionType,
        fulfilment: Fulfilment,
        ref: OrderRef,
        message: str,
        details: dict[str, Any],
    ) -> DispatchResult:
        self._exceptions.record(
            ExceptionReport(
                type=type_,
                owner=OwnerTeam.OPS,
                severity=Severity.ERROR,
                entity_type="order",
                entity_id=ref.order_id,
                marketplace=ref.marketplace,
                message=message,
                details={
                    **details,
                    "fulfilment": fulfilment.source_id,
                    "shopify_order_id": fulfilment.shopify_order_id,
                    "retry": RETRY_SHIPMENTS,
                },
            ),
            self._now(),
        )
        return self._result(DispatchStatus.EXCEPTION, fulfilment, ref, message)

    def resolve_exceptions(self, ref: OrderRef) -> None:
        for type_ in (
            ExceptionType.CARRIER_UNMAPPED,
            ExceptionType.CARRIER_REJECTED,
            ExceptionType.SHIP_REFUSED,
        ):
            fingerprint = "|".join((type_, ref.marketplace, "order", ref.order_id))
            self._exceptions.resolve(fingerprint, self._now())
