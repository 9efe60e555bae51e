"""Dispatch without multi-shipment: OR23 sets the tracking of the order, then OR24
confirms the shipment of the whole order (a partial fulfilment waits for the rest)."""

from __future__ import annotations

from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.marketplace_order import not_yet
from mirakl_sync.domain.shipments import (
    SHIPPED_STATES,
    WAITING_STATES,
    OrderRef,
    ShipmentLine,
    fully_covered,
    lines_to_ship,
)
from mirakl_sync.errors import PermanentError
from mirakl_sync.services.dispatch_carriers import CarrierResolution
from mirakl_sync.services.dispatch_types import (
    RETRY_SHIPMENTS,
    DispatchResult,
    DispatchStatus,
    Fulfilment,
    _Plan,
)


class OrderShipping(CarrierResolution):
    """The part of ``DispatchService`` that ships through OR23 + OR24."""

    # ------------------------------------------------------------------ OR23 + OR24

    async def _whole_order_fulfilled(self, plan: _Plan, shipping: list[ShipmentLine]) -> bool:
        if fully_covered(plan.lines, shipping):
            return True
        if self._shop is None:
            return False
        total: dict[str, int] = {}
        for f in await self._shop.fulfillments(plan.fulfilment.shopify_order_id):
            for line in f.get("lines") or []:
                sku = str(line.get("sku") or "")
                total[sku] = total.get(sku, 0) + int(line.get("quantity") or 0)
        return fully_covered(plan.lines, lines_to_ship(total, plan.lines, {}))

    async def _send_tracking(self, plan: _Plan) -> DispatchResult:
        f, ref = plan.fulfilment, plan.ref
        shipping = lines_to_ship(f.skus, plan.lines, {})
        if not await self._whole_order_fulfilled(plan, shipping):
            return self._result(
                DispatchStatus.HELD_PARTIAL,
                f,
                ref,
                "partly fulfilled; without multi-shipment OR24 ships the whole order, so it "
                "waits for the rest of the shop order",
            )
        if plan.decision is None:
            return self._result(DispatchStatus.TRACKING_SENT, f, ref, "no tracking")
        if f.tracking_number and plan.order.get("shipping_tracking") == f.tracking_number:
            return self._result(DispatchStatus.TRACKING_SENT, f, ref, "tracking already set")
        try:
            await plan.api.update_tracking(ref.order_id, **self._tracking_args(plan))
        except PermanentError as exc:
            state = not_yet(str(exc))
            if state is not None:
                return self._wait(f, ref, state)
            if "Current status" in str(exc):
                settled = await self._settled(plan)
                if settled is not None:
                    return settled
            return self._report(
                ExceptionType.CARRIER_REJECTED,
                f,
                ref,
                f"{ref.marketplace} rejected the tracking of order {ref.order_id} "
                f"(carrier {f.carrier!r}, number {f.tracking_number!r}): {exc}. Fix the "
                f"carrier map or the tracking number in Shopify, then run `{RETRY_SHIPMENTS}`",
                {"carrier": f.carrier, "tracking_number": f.tracking_number, "mirakl": str(exc)},
            )
        return self._result(DispatchStatus.TRACKING_SENT, f, ref)

    async def ship_phase(
        self, fulfilment: Fulfilment, marketplace: str, order_id: str
    ) -> DispatchResult:
        """OR24 after OR23, re-reading the order first (a resumed run may find it shipped)."""
        ref = self._index.by_order_id(marketplace, order_id) or OrderRef(
            marketplace, order_id, fulfilment.shopify_order_id, "", ""
        )
        api = self._apis(marketplace)
        try:
            await api.ship_order(order_id)
        except PermanentError as exc:
            waiting = not_yet(str(exc))
            if waiting is not None:
                # Mirakl said why; the order may have moved on since: try again later.
                return self._wait(fulfilment, ref, waiting)
            again = await api.order(order_id)
            state = str((again or {}).get("order_state"))
            if state in SHIPPED_STATES:
                return self._result(DispatchStatus.ALREADY_SHIPPED, fulfilment, ref, state)
            if state in WAITING_STATES:
                return self._wait(fulfilment, ref, state)
            return self._report(
                ExceptionType.SHIP_REFUSED,
                fulfilment,
                ref,
                f"{marketplace} refused to confirm the shipment of {order_id} (order is "
                f"{state}): {exc}",
                {"state": state, "mirakl": str(exc)},
            )
        self.resolve_exceptions(ref)
        return self._result(DispatchStatus.SHIPPED, fulfilment, ref)
