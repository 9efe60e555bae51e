"""Dispatch: a fulfilment in the shop becomes a shipment on the marketplace.

Where the marketplace has multi-shipment, one ST01 call per 1000 shipments creates the
shipments with their tracking and ships them (``shipped: true``), partial shipments
included. Elsewhere (ST11/ST01 answer 404) OR23 sets the tracking and OR24 confirms the
shipment of the whole order, so a partial fulfilment is held until the shop order is
fulfilled in full.

Every write is preceded by a fresh read of the order (and of its shipments), so a step
run twice, or a run resumed after a crash between OR23 and OR24, sends only what is
missing: OR23 is skipped when the order already carries our tracking number, OR24 when
the order is already SHIPPED, ST01 when a shipment already names our fulfilment in its
``package_reference``. An order still in WAITING_DEBIT(_PAYMENT) is left to wait; the
workflow tries again later.

**Waiting is never a refusal** (issue 10, item 4): a write refused because the order is
not accepted or not debited yet ("Current status is WAITING_DEBIT_PAYMENT" on OR23, OR24 or
a ST01 line; the texts are read by ``domain.marketplace_order.not_yet``) is WAITING, even
when the order has moved on by the time it could be re-read (the warehouse shipped before
the acceptance or the debit landed): never ``carrier_rejected`` / ``ship_refused``. In a
polling pass a waiting fulfilment is kept as an INFO ``shipment_waiting`` record
(``services.waiting``) that the next pass tries again, so it is not lost when the shop
feed's cursor moves on; it clears once shipped.

``DispatchService`` is assembled here from parts, one module per concept (each part
imports only those before it, never this module):

- ``dispatch_types.py``: ``Fulfilment``, ``DispatchResult``, ``DispatchStatus``, the plan;
- ``dispatch_outcomes.py``: the collaborators, results, waits and ops exceptions;
- ``dispatch_carriers.py``: carrier resolution (``carrier_map``, ``carrier_unmapped``);
- ``dispatch_order_shipping.py``: OR23 + OR24, without multi-shipment;
- ``dispatch_multi_shipment.py``: ST11 / ST01 / ST24, with multi-shipment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import structlog

from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import OwnerTeam
from mirakl_sync.domain.marketplace_order import OrderState
from mirakl_sync.domain.shipments import MarketLine, OrderRef
from mirakl_sync.errors import ExternalSystemError
from mirakl_sync.services.dispatch_multi_shipment import MultiShipment
from mirakl_sync.services.dispatch_order_shipping import OrderShipping
from mirakl_sync.services.dispatch_types import (
    RETRY_SHIPMENTS,
    DispatchResult,
    DispatchStatus,
    Fulfilment,
    _Plan,
)
from mirakl_sync.services.pass_failures import PassRecord

log = structlog.get_logger(__name__)


def market_lines(order: dict[str, Any]) -> list[MarketLine]:
    return [
        MarketLine(
            order_line_id=str(line["order_line_id"]),
            offer_sku=str(line.get("offer_sku") or ""),
            quantity=int(line.get("quantity") or 0),
            state=str(line.get("order_line_state") or ""),
        )
        for line in order.get("order_lines") or []
    ]


class DispatchService(MultiShipment, OrderShipping):
    # ------------------------------------------------------------------ planning

    async def _plan(self, fulfilment: Fulfilment) -> _Plan | DispatchResult:
        ref = self._index.by_shopify_order(fulfilment.shopify_order_id)
        if ref is None:
            return DispatchResult(
                DispatchStatus.NOTHING_TO_DO, fulfilment.source_id, detail="not a marketplace order"
            )
        api = self._apis(ref.marketplace)
        # The stored OR11 payload gives the line ids; its state may be stale, so Mirakl's
        # own answer to the write decides (OR11 is read only when a write is refused:
        # its budget is one call a minute).
        order = self._index.payload(ref.marketplace, ref.order_id) or await api.order(ref.order_id)
        if order is None:
            return self._result(DispatchStatus.NOTHING_TO_DO, fulfilment, ref, "unknown to Mirakl")
        state = str(order.get("order_state"))
        if state in (OrderState.CANCELED, OrderState.REFUSED):
            return self._result(DispatchStatus.NOTHING_TO_DO, fulfilment, ref, f"order is {state}")
        decision = await self._carrier(fulfilment, ref, api)
        if decision is not None and not decision.sendable:
            return self._carrier_exception(fulfilment, ref, decision)
        return _Plan(fulfilment, ref, api, order, decision, market_lines(order))

    async def tracking_phase(self, fulfilment: Fulfilment) -> DispatchResult:
        """Plan, then either ship through ST01 or send OR23 (TRACKING_SENT)."""
        plan = await self._plan(fulfilment)
        if isinstance(plan, DispatchResult):
            return plan
        multi = self._references.multi_shipment(plan.ref.marketplace)
        if multi is not False:
            results = await self._ship_with_st01([plan])
            if results is not None:
                return results[0]
        return await self._send_tracking(plan)

    # ------------------------------------------------------------------ in one go

    async def dispatch(self, fulfilment: Fulfilment) -> DispatchResult:
        """Tracking then shipment, in one call (the polling cycle and the benchmark)."""
        return (await self.dispatch_many([fulfilment]))[0]

    async def dispatch_many(self, fulfilments: Sequence[Fulfilment]) -> list[DispatchResult]:
        """Every fulfilment; ST01 shipments of one marketplace go together (1000 a call).

        One fulfilment failing (Mirakl or Shopify unavailable, a call budget without a slot
        within the bound, an unexpected refusal) does not stop the others: it becomes an
        open ``shipment_not_sent`` exception for ops (status EXCEPTION here), tried again by
        later passes (``due_retries``) and resolved once it goes through.
        """
        planned = await asyncio.gather(
            *(self._plan(f) for f in fulfilments), return_exceptions=True
        )
        results: dict[str, DispatchResult] = {}
        not_sent: set[str] = set()
        by_market: dict[str, list[_Plan]] = {}
        for f, item in zip(fulfilments, planned, strict=True):
            if isinstance(item, ExternalSystemError):
                results[f.source_id] = self._not_sent(f, item)
                not_sent.add(f.source_id)
            elif isinstance(item, BaseException):
                raise item
            elif isinstance(item, DispatchResult):
                results[item.source_id] = item
            else:
                by_market.setdefault(item.ref.marketplace, []).append(item)
        for market, plans in by_market.items():
            for result, failed in await self._ship_market(market, plans):
                results[result.source_id] = result
                if failed:
                    not_sent.add(result.source_id)
        failing = (
            self._failures.open_entities(ExceptionType.SHIPMENT_NOT_SENT, OwnerTeam.OPS)
            if fulfilments
            else set()
        )
        waiting = self._waiting.waiting_entities() if fulfilments else set()
        for f in fulfilments:
            result = results[f.source_id]
            if f.source_id in failing and f.source_id not in not_sent:
                # Gone through, or now waiting on something else: the failure is over.
                self._failures.succeeded(self._pass_record(f, self._ref_of(f)))
            if result.status == DispatchStatus.WAITING:
                # Kept for the next passes (INFO: nobody alarmed; escalated past the deadline).
                self._waiting.wait(self._pass_record(f, self._ref_of(f)), result.state or "?")
            elif f.source_id in waiting and f.source_id not in not_sent:
                self._waiting.settled(self._pass_record(f, self._ref_of(f)))
        return [results[f.source_id] for f in fulfilments]

    async def _ship_market(
        self, market: str, plans: list[_Plan]
    ) -> list[tuple[DispatchResult, bool]]:
        """(result, whether it failed) for each plan of one marketplace."""
        if self._references.multi_shipment(market) is not False:
            try:
                st01 = await self._ship_with_st01(plans)
            except ExternalSystemError as exc:
                if len(plans) == 1:
                    return [(self._not_sent(plans[0].fulfilment, exc, plans[0].ref), True)]
                # One order must not hold the others: each alone. ST11 is read again
                # first, so what the failed batch did create is not created twice.
                log.warning("dispatch.batch_failed", marketplace=market, error=str(exc))
                out: list[tuple[DispatchResult, bool]] = []
                for plan in plans:
                    out.extend(await self._ship_market(market, [plan]))
                return out
            if st01 is not None:
                return [(r, False) for r in st01]
        out = []
        for plan in plans:
            try:
                first = await self._send_tracking(plan)
                if first.status == DispatchStatus.TRACKING_SENT:
                    first = await self.ship_phase(plan.fulfilment, market, plan.ref.order_id)
            except ExternalSystemError as exc:
                out.append((self._not_sent(plan.fulfilment, exc, plan.ref), True))
                continue
            out.append((first, False))
        return out

    # ------------------------------------------------------------------ failed in a pass

    def _ref_of(self, fulfilment: Fulfilment) -> OrderRef | None:
        return self._index.by_shopify_order(fulfilment.shopify_order_id)

    def _pass_record(self, fulfilment: Fulfilment, ref: OrderRef | None) -> PassRecord:
        order = f"order {ref.order_id}" if ref else f"shop order {fulfilment.shopify_order_id}"
        return PassRecord(
            type=ExceptionType.SHIPMENT_NOT_SENT,
            owner=OwnerTeam.OPS,
            doing=(
                f"the shipment of {order} (fulfilment {fulfilment.source_id}, carrier "
                f"{fulfilment.carrier!r}, number {fulfilment.tracking_number!r})"
            ),
            retry=RETRY_SHIPMENTS,
            entity_type="fulfilment",
            entity_id=fulfilment.source_id,
            marketplace=ref.marketplace if ref else None,
            order_id=ref.order_id if ref else None,
            record=asdict(fulfilment),
        )

    def _not_sent(
        self, fulfilment: Fulfilment, exc: ExternalSystemError, ref: OrderRef | None = None
    ) -> DispatchResult:
        ref = ref or self._ref_of(fulfilment)
        message = self._failures.failed(self._pass_record(fulfilment, ref), exc)
        return DispatchResult(
            DispatchStatus.EXCEPTION,
            fulfilment.source_id,
            ref.marketplace if ref else None,
            ref.order_id if ref else None,
            message,
        )

    def hand_over(self, fulfilment: Fulfilment, state: str) -> None:
        """A workflow stops waiting: the passes keep trying this fulfilment from here."""
        self._waiting.wait(self._pass_record(fulfilment, self._ref_of(fulfilment)), state)

    def due_retries(self) -> list[Fulfilment]:
        """Fulfilments that failed, or waited for the order's state, in an earlier pass
        and are due to be tried again (each once)."""
        records = (
            self._failures.due(ExceptionType.SHIPMENT_NOT_SENT, OwnerTeam.OPS) + self._waiting.due()
        )
        unique = {Fulfilment(**r).source_id: Fulfilment(**r) for r in records}
        return list(unique.values())
