"""Ports: the narrow interfaces services use to reach the outside world, by area.

Unprefixed nouns are the ports; implementations are named for what they are
(``SqlCallBudget``, ``InMemoryCallBudget``, ``MiraklClient`` ...). Each area is a module
(``common``, ``orders``, ``stock``, ``dispatch``, ``webhooks``, ``adoption``); every port is
also named here, where the services import it from.
"""

from __future__ import annotations

from mirakl_sync.services.ports.adoption import (
    AdoptionRepository,
    MarketplaceOrderLookup,
    ShopOrderFinder,
)
from mirakl_sync.services.ports.common import (
    CallBudget,
    Claims,
    Clock,
    Cursors,
    ExceptionLog,
)
from mirakl_sync.services.ports.dispatch import (
    Bindings,
    CyclesApi,
    HandledShopOrders,
    MarketplaceDispatchApi,
    MarketplaceOrderIndex,
    ReturnsApi,
    ShopDispatchApi,
    SupercycleFeeds,
)
from mirakl_sync.services.ports.orders import (
    ItemInventory,
    MarketplaceOrders,
    OrderRepository,
    ShopCatalogue,
    ShopOrders,
    StockLedger,
)
from mirakl_sync.services.ports.stock import (
    DirtyStockKeys,
    MarketplaceOffers,
    OfferStates,
    ShopStock,
    ShopStockLookup,
    SupercycleCatalogue,
)
from mirakl_sync.services.ports.webhooks import (
    WebhookSubscriptions,
)

__all__ = [
    "AdoptionRepository",
    "Bindings",
    "CallBudget",
    "Claims",
    "Clock",
    "Cursors",
    "CyclesApi",
    "DirtyStockKeys",
    "ExceptionLog",
    "HandledShopOrders",
    "ItemInventory",
    "MarketplaceDispatchApi",
    "MarketplaceOffers",
    "MarketplaceOrderIndex",
    "MarketplaceOrderLookup",
    "MarketplaceOrders",
    "OfferStates",
    "OrderRepository",
    "ReturnsApi",
    "ShopCatalogue",
    "ShopDispatchApi",
    "ShopOrderFinder",
    "ShopOrders",
    "ShopStock",
    "ShopStockLookup",
    "StockLedger",
    "SupercycleCatalogue",
    "SupercycleFeeds",
    "WebhookSubscriptions",
]
