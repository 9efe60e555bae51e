"""The Mirakl seller API emulator: several marketplaces (Mirakl instances) in one ASGI app.

``MiraklEmulator`` keeps offers, orders, shipments, imports, exports and accounting in
memory, applies Mirakl's order state machine and time rules by an injectable clock, and
answers the seller API's routes under ``/{marketplace_code}/api/...`` with the official
spec's shapes (checked by the contract tests).
"""

from __future__ import annotations

from mirakl_sync.sandbox.mirakl.app import MiraklEmulator
from mirakl_sync.sandbox.mirakl.limits import CALL_FREQUENCY_MAXIMA
from mirakl_sync.sandbox.mirakl.marketplace import (
    Carrier,
    EmulatedMarketplace,
    OfferCondition,
    Reason,
)
from mirakl_sync.sandbox.mirakl.orders import PlaceOrderError
from mirakl_sync.sandbox.mirakl.traffic import TrafficGenerator

__all__ = [
    "CALL_FREQUENCY_MAXIMA",
    "Carrier",
    "EmulatedMarketplace",
    "MiraklEmulator",
    "OfferCondition",
    "PlaceOrderError",
    "Reason",
    "TrafficGenerator",
]
