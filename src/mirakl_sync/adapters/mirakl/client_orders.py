"""The order operations of ``MiraklClient``: list orders (OR11), accept or refuse their
lines (OR21), set their tracking (OR23) and confirm their shipment (OR24).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from mirakl_sync.adapters.mirakl.client_params import _comma, _drop_none, _seg
from mirakl_sync.adapters.mirakl.client_transport import MiraklTransport
from mirakl_sync.adapters.mirakl.models import Order

OR11_IDS_PER_CALL = 100  # OR11 order_ids / references: at most 100 values


class OrderOperations(MiraklTransport):
    """The client's operations OR11, OR21, OR23 and OR24."""

    async def list_orders(
        self,
        *,
        order_ids: Sequence[str] | None = None,
        order_references_for_customer: Sequence[str] | None = None,
        order_references_for_seller: Sequence[str] | None = None,
        order_state_codes: Sequence[str] | None = None,
        channel_codes: Sequence[str] | None = None,
        only_null_channel: bool | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        start_update_date: datetime | None = None,
        end_update_date: datetime | None = None,
        customer_debited: bool | None = None,
        payment_workflow: str | None = None,
        has_incident: bool | None = None,
        fulfillment_center_codes: Sequence[str] | None = None,
        order_tax_mode: str | None = None,
        locale: str | None = None,
        sort: str | None = None,
        order: str | None = None,
        page_size: int = 100,
        synchronous: bool = False,
    ) -> AsyncIterator[Order]:
        """OR11: every order matching the filters, walking all offset pages.

        ``synchronous``: a read of the given ``order_ids`` made as the hub acts on those
        orders (Mirakl's "Synchronous: at each order page display", no numeric maximum;
        see ``budgets.py``); otherwise the asynchronous once-a-minute budget applies.

        Mirakl subtracts a safety delta from ``start_update_date``: expect overlaps between
        polls and deduplicate by ``order_id``. More than 100 ``order_ids`` are split into
        several listings (OR11 accepts at most 100). Each page is one OR11 call and takes
        one slot of its budget (1 per minute, unless ``synchronous``).
        """
        base: dict[str, Any] = {
            "order_references_for_customer": _comma(order_references_for_customer),
            "order_references_for_seller": _comma(order_references_for_seller),
            "order_state_codes": _comma(order_state_codes),
            "channel_codes": _comma(channel_codes),
            "only_null_channel": only_null_channel,
            "start_date": start_date,
            "end_date": end_date,
            "start_update_date": start_update_date,
            "end_update_date": end_update_date,
            "customer_debited": customer_debited,
            "payment_workflow": payment_workflow,
            "has_incident": has_incident,
            "fulfillment_center_code": list(fulfillment_center_codes or []) or None,
            "order_tax_mode": order_tax_mode,
            "locale": locale,
            "sort": sort,
            "order": order,
        }
        for name, values in (
            ("order_references_for_customer", order_references_for_customer),
            ("order_references_for_seller", order_references_for_seller),
            ("channel_codes", channel_codes),
        ):
            if values is not None and len(values) > OR11_IDS_PER_CALL:
                raise ValueError(f"OR11 accepts at most {OR11_IDS_PER_CALL} {name}")
        if synchronous and order_ids is None:
            raise ValueError("a synchronous OR11 reads given orders: pass order_ids")
        operation = "OR11:synchronous" if synchronous else "OR11"
        id_chunks: list[str | None] = [None]
        if order_ids is not None:
            ids = list(order_ids)
            if not ids:
                return
            id_chunks = [
                _comma(ids[i : i + OR11_IDS_PER_CALL])
                for i in range(0, len(ids), OR11_IDS_PER_CALL)
            ]
        for chunk in id_chunks:
            params = {**base, "order_ids": chunk}
            async for item in self._offset(
                Order, operation, "/api/orders", params, "orders", page_size
            ):
                yield item

    async def accept_order(self, order_id: str, decisions: Mapping[str, bool]) -> None:
        """OR21: accept (True) or refuse (False) each line; give a decision for EVERY line.

        Mixed decisions need partial acceptance enabled for the shop, else Mirakl answers
        ORDER_PARTIAL_ACCEPTANCE_DISABLED (a ``PermanentError`` with that ``code``).
        """
        if not decisions:
            raise ValueError("OR21 needs a decision for every line of the order")
        body = {
            "order_lines": [
                {"id": line_id, "accepted": bool(accepted)}
                for line_id, accepted in decisions.items()
            ]
        }
        await self._call("OR21", "PUT", f"/api/orders/{_seg(order_id)}/accept", json=body)

    async def update_tracking(
        self,
        order_id: str,
        *,
        carrier_code: str | None = None,
        carrier_name: str | None = None,
        carrier_standard_code: str | None = None,
        carrier_url: str | None = None,
        tracking_number: str | None = None,
    ) -> None:
        """OR23: the order's carrier and tracking number.

        ``carrier_code`` for a carrier registered on the platform (SH21; its URL is
        computed by Mirakl), else ``carrier_name`` (+ optional ``carrier_url``).
        """
        if not carrier_code and not carrier_name:
            raise ValueError("OR23 needs carrier_code (an SH21 carrier) or carrier_name")
        body = _drop_none(
            {
                "carrier_code": carrier_code,
                "carrier_name": carrier_name,
                "carrier_standard_code": carrier_standard_code,
                "carrier_url": carrier_url,
                "tracking_number": tracking_number,
            }
        )
        await self._call("OR23", "PUT", f"/api/orders/{_seg(order_id)}/tracking", json=body)

    async def ship_order(self, order_id: str) -> None:
        """OR24: confirm the shipment (order must be SHIPPING; call right after OR23)."""
        await self._call("OR24", "PUT", f"/api/orders/{_seg(order_id)}/ship")
