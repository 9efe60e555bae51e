"""``SupercycleReturnsApi``: the ``ReturnsApi`` port over ``SupercycleClient``."""

from __future__ import annotations

from typing import Any

from mirakl_sync.adapters.supercycle.client import SupercycleClient


class SupercycleReturnsApi:
    def __init__(self, client: SupercycleClient) -> None:
        self._client = client

    async def return_orders(self) -> list[dict[str, Any]]:
        out = []
        async for order in self._client.iter_return_orders():
            out.append(
                {
                    "id": order.id,
                    "status": order.status,
                    "lines": [
                        {
                            "id": line.id,
                            "status": line.status,
                            "condition": line.condition.title if line.condition else None,
                            "serial": line.item.serial if line.item else None,
                            "item_status": line.item.status if line.item else None,
                            "restocked_at": (
                                line.restocked_at.isoformat() if line.restocked_at else None
                            ),
                        }
                        for line in order.return_lines
                    ],
                }
            )
        return out
