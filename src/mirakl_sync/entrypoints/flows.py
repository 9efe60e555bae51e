"""The flows ``mirakl-sync sync <flow> --once`` can run, by name.

Each later flow (orders, stock, prices, offers, shipments, refunds, settlements)
registers its one-cycle runner here.
"""

from __future__ import annotations

from collections.abc import Callable

from mirakl_sync.config import Settings

FlowRunner = Callable[[Settings], None]


def available_flows() -> dict[str, FlowRunner]:
    """Flow name -> a function that runs one full cycle to completion."""
    # Imported here: building the flow table must not import every flow's dependencies.
    from mirakl_sync.entrypoints import dispatch_once, orders_once, stock_once

    return {
        "orders": orders_once.run_orders_cli,
        "stock": stock_once.run_stock_once,
        "prices": stock_once.run_prices_once,
        "offers": stock_once.run_offers_once,
        "shipments": dispatch_once.run_shipments_once,
        "refunds": dispatch_once.run_refunds_once,
    }
