"""The refund and cancelation operations of ``MiraklClient``: refund order lines (OR28),
cancel a whole order (OR29) or quantities of its lines (OR30).
"""

from __future__ import annotations

from collections.abc import Sequence

from mirakl_sync.adapters.mirakl.client_params import _drop_none, _dump, _seg
from mirakl_sync.adapters.mirakl.client_transport import MiraklTransport
from mirakl_sync.adapters.mirakl.models import (
    CancelationRequest,
    CancelationsCreated,
    RefundRequest,
    RefundsCreated,
)


class RefundOperations(MiraklTransport):
    """The client's operations OR28, OR29 and OR30."""

    async def refund(
        self, refunds: Sequence[RefundRequest], *, order_tax_mode: str | None = None
    ) -> RefundsCreated:
        """OR28: refund order lines (lines of several orders may go in one call)."""
        if not refunds:
            raise ValueError("OR28 needs at least one refund")
        body = _drop_none(
            {
                "order_tax_mode": order_tax_mode,
                "refunds": [_dump(refund) for refund in refunds],
            }
        )
        return await self._model(RefundsCreated, "OR28", "PUT", "/api/orders/refund", json=body)

    async def cancel_order(self, order_id: str) -> None:
        """OR29: cancel the whole order (check the order's ``can_cancel`` first)."""
        await self._call("OR29", "PUT", f"/api/orders/{_seg(order_id)}/cancel")

    async def cancel_lines(
        self, cancelations: Sequence[CancelationRequest], *, order_tax_mode: str | None = None
    ) -> CancelationsCreated:
        """OR30: cancel quantities of order lines (needs shop partial cancelation enabled)."""
        if not cancelations:
            raise ValueError("OR30 needs at least one cancelation")
        body = _drop_none(
            {
                "order_tax_mode": order_tax_mode,
                "cancelations": [_dump(cancelation) for cancelation in cancelations],
            }
        )
        return await self._model(
            CancelationsCreated, "OR30", "PUT", "/api/orders/cancel", json=body
        )
