"""``MiraklClient``: the async client of Mirakl's seller (shop) REST API.

One method per Mirakl operation, named for what it does, with the Mirakl code in its
docstring; payloads are the pydantic models of ``models.py``. The class is assembled here
from parts, one module per concept:

- ``client_transport.py``: the HTTP policy every call goes through (call budgets, retries,
  error translation into ``mirakl_sync.errors``);
- ``client_params.py``: how queries and bodies are encoded;
- ``client_platform.py``: V01, A01, PC01 and the reference lists (SH21, RE01, OF61);
- ``client_orders.py``: OR11, OR21, OR23, OR24;
- ``client_refunds.py``: refunds and cancelations (OR28, OR29, OR30);
- ``client_shipments.py``: ST01, ST11, ST23, ST24;
- ``client_offers.py``: OF01-OF04, OF21, OF24, OF52-OF54;
- ``client_stock_prices.py``: STO01-STO03, PRI01-PRI03;
- ``client_accounting.py``: IV01, TL02, SBC11.

The API key is never logged. Usage::

    async with MiraklClient("https://debenhams-prod.mirakl.net", key, shop_id=2001,
                            marketplace="debenhams") as mirakl:
        async for order in mirakl.list_orders(order_state_codes=["WAITING_ACCEPTANCE"]):
            ...
"""

from __future__ import annotations

from mirakl_sync.adapters.mirakl.client_accounting import AccountingOperations
from mirakl_sync.adapters.mirakl.client_offers import OfferOperations
from mirakl_sync.adapters.mirakl.client_orders import OrderOperations
from mirakl_sync.adapters.mirakl.client_platform import PlatformOperations
from mirakl_sync.adapters.mirakl.client_refunds import RefundOperations
from mirakl_sync.adapters.mirakl.client_shipments import ShipmentOperations
from mirakl_sync.adapters.mirakl.client_stock_prices import StockPriceOperations


class MiraklClient(
    PlatformOperations,
    OrderOperations,
    RefundOperations,
    ShipmentOperations,
    OfferOperations,
    StockPriceOperations,
    AccountingOperations,
):
    """Async client of one Mirakl marketplace for one shop (see the module docstring)."""

    def __repr__(self) -> str:  # never show the key
        return f"MiraklClient({self.base_url!r}, shop_id={self.shop_id!r})"
