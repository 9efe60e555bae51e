"""Dispatch with multi-shipment: ST11 reads the shipments, ST01 creates ours with their
tracking (1000 a call), ST24 ships those left in SHIPPING; partial shipments included."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.marketplace_order import not_yet
from mirakl_sync.domain.shipments import ShipmentLine, lines_to_ship
from mirakl_sync.errors import NotFoundError
from mirakl_sync.services.dispatch_carriers import CarrierResolution
from mirakl_sync.services.dispatch_types import (
    RETRY_SHIPMENTS,
    DispatchResult,
    DispatchStatus,
    _Plan,
)


class MultiShipment(CarrierResolution):
    """The part of ``DispatchService`` that ships through ST11 / ST01 / ST24."""

    # ------------------------------------------------------------------ ST01

    def _st01_item(self, plan: _Plan, shipping: list[ShipmentLine]) -> dict[str, Any]:
        item: dict[str, Any] = {
            "order_id": plan.ref.order_id,
            "shipment_lines": [
                {
                    "order_line_id": s.order_line_id,
                    "quantity": s.quantity,
                    "package_reference": plan.fulfilment.source_id,
                }
                for s in shipping
            ],
            "shipped": True,
        }
        if plan.decision is not None:
            args = self._tracking_args(plan)
            tracking = {
                "carrier_code": args["carrier_code"],
                "carrier_name": args["carrier_name"],
                "tracking_number": args["tracking_number"],
                "tracking_url": args["carrier_url"],
            }
            item["tracking"] = {k: v for k, v in tracking.items() if v}
        return item

    async def _ship_with_st01(self, plans: Sequence[_Plan]) -> list[DispatchResult] | None:
        """Ship ``plans`` (one marketplace) through ST11/ST01/ST24; None if multi-shipment
        is off there (404), so the caller falls back to OR23 + OR24."""
        if not plans:
            return []
        api, market = plans[0].api, plans[0].ref.marketplace
        try:
            existing = await api.shipments([p.ref.order_id for p in plans])
        except NotFoundError:
            self._references.learn_multi_shipment(market, False)
            return None
        self._references.learn_multi_shipment(market, True)
        shipped: dict[str, dict[str, int]] = {}
        ours: dict[str, list[dict[str, Any]]] = {}
        for s in existing:
            if s.get("status") == "CANCELED":
                continue
            per_line = shipped.setdefault(str(s["order_id"]), {})
            for line in s.get("shipment_lines") or []:
                lid = str(line.get("order_line_id"))
                per_line[lid] = per_line.get(lid, 0) + int(line.get("quantity") or 0)
                ref = line.get("package_reference")
                if ref:
                    ours.setdefault(str(ref), []).append(s)
        results: dict[str, DispatchResult] = {}
        to_create: list[tuple[_Plan, dict[str, Any]]] = []
        to_ship: dict[str, _Plan] = {}
        for plan in plans:
            f = plan.fulfilment
            mine = ours.get(f.source_id)
            if mine:
                pending = [s for s in mine if s.get("status") == "SHIPPING"]
                for s in pending:
                    to_ship[str(s["id"])] = plan
                if not pending:
                    results[f.source_id] = self._result(
                        DispatchStatus.ALREADY_SHIPPED, f, plan.ref, "shipment exists"
                    )
                continue
            shipping = lines_to_ship(f.skus, plan.lines, shipped.get(plan.ref.order_id, {}))
            if not shipping:
                results[f.source_id] = self._result(
                    DispatchStatus.NOTHING_TO_DO, f, plan.ref, "no line left to ship"
                )
                continue
            to_create.append((plan, self._st01_item(plan, shipping)))
        if to_create:
            success, errors = await api.create_shipments([item for _, item in to_create])
            by_order: dict[str, list[dict[str, Any]]] = {}
            for s in success:
                by_order.setdefault(str(s.get("order_id")), []).append(s)
            failed = {str(e.get("order_id")): str(e.get("message") or "") for e in errors}
            for plan, _ in to_create:
                f, ref = plan.fulfilment, plan.ref
                if ref.order_id in failed and ref.order_id not in by_order:
                    results[f.source_id] = await self._st01_error(plan, failed[ref.order_id])
                    continue
                for s in by_order.get(ref.order_id, []):
                    if s.get("status") == "SHIPPING":
                        to_ship[str(s["id"])] = plan
                if f.source_id not in {p.fulfilment.source_id for p in to_ship.values()}:
                    self.resolve_exceptions(ref)
                    results[f.source_id] = self._result(DispatchStatus.SHIPPED, f, ref)
        if to_ship:
            errors = await api.ship_shipments(list(to_ship))
            failed_ids = {str(e.get("id")): str(e.get("message") or "") for e in errors}
            for sid, plan in to_ship.items():
                f = plan.fulfilment
                waiting = not_yet(failed_ids.get(sid, ""))
                if waiting is not None:
                    results[f.source_id] = self._wait(f, plan.ref, waiting)
                elif sid in failed_ids and "SHIPPED" not in failed_ids[sid]:
                    results[f.source_id] = self._report(
                        ExceptionType.SHIP_REFUSED,
                        f,
                        plan.ref,
                        f"{market} refused ST24 for shipment {sid}: {failed_ids[sid]}",
                        {"shipment": sid, "mirakl": failed_ids[sid]},
                    )
                else:
                    self.resolve_exceptions(plan.ref)
                    results[f.source_id] = self._result(DispatchStatus.SHIPPED, f, plan.ref)
        return [results[p.fulfilment.source_id] for p in plans]

    async def _st01_error(self, plan: _Plan, message: str) -> DispatchResult:
        f, ref = plan.fulfilment, plan.ref
        state = not_yet(message)
        if state is not None:
            return self._wait(f, ref, state)
        if "Current status" in message:
            settled = await self._settled(plan)
            if settled is not None:
                return settled
        kind = (
            ExceptionType.CARRIER_REJECTED
            if "arrier" in message or "tracking" in message
            else ExceptionType.SHIP_REFUSED
        )
        return self._report(
            kind,
            f,
            ref,
            f"{ref.marketplace} refused the shipment of {ref.order_id} (carrier {f.carrier!r}, "
            f"number {f.tracking_number!r}): {message}. Fix it, then run `{RETRY_SHIPMENTS}`",
            {"carrier": f.carrier, "tracking_number": f.tracking_number, "mirakl": message},
        )
