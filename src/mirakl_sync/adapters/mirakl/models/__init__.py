"""Mirakl seller API payloads as pydantic models, named and shaped as in the official spec.

Field names come from ``specs/mirakl/mmp-seller-openapi.json`` (the operation is named on
each model). Mirakl's General Notes say clients must tolerate new fields and new enum
values, so:

- every model keeps unknown fields (``extra="allow"``) instead of failing;
- states, types and codes are typed ``str``; the ``StrEnum`` classes below list the
  values known from the spec, for comparisons only (``line.order_line_state ==
  OrderLineState.SHIPPING``), never for validation;
- only identifiers without which a record is meaningless are required; everything else
  has a default, because Mirakl leaves fields out (addresses before acceptance, ...).

Money is ``Decimal`` (the spec's "number with decimals"); dates are aware ``datetime``.

One module per API area: ``base`` (the base model, known values, shared parts), ``orders``,
``shipments``, ``offers``, ``references``, ``accounting``; every model is also named here.
"""

from __future__ import annotations

from mirakl_sync.adapters.mirakl.models.accounting import (
    BillingCycle,
    BillingCyclePayOut,
    Invoice,
    InvoicePayment,
    TransactionLine,
)
from mirakl_sync.adapters.mirakl.models.base import (
    CodeAmount,
    CommissionTax,
    ExportStatus,
    ImportMode,
    ImportStatus,
    MiraklModel,
    OrderLineState,
    OrderState,
    OrderTax,
    PaymentWorkflow,
    ReasonType,
    RefundState,
    Tax,
    TaxMode,
)
from mirakl_sync.adapters.mirakl.models.offers import (
    ExportStarted,
    ExportStatusInfo,
    ImportCreated,
    Offer,
    OfferImport,
    OfferUpsert,
    PriceImport,
    PriceImportCreated,
    ProductReference,
    StockImport,
    StockImportCreated,
    WarehouseQuantity,
)
from mirakl_sync.adapters.mirakl.models.orders import (
    Address,
    Cancelation,
    CancelationCreated,
    CancelationRequest,
    CancelationsCreated,
    Channel,
    Customer,
    Order,
    OrderLine,
    OrderReferences,
    Refund,
    RefundCreated,
    RefundRequest,
    RefundsCreated,
)
from mirakl_sync.adapters.mirakl.models.references import (
    Account,
    Carrier,
    OfferCondition,
    PlatformConfiguration,
    Reason,
)
from mirakl_sync.adapters.mirakl.models.shipments import (
    NewShipment,
    Shipment,
    ShipmentError,
    ShipmentId,
    ShipmentLine,
    ShipmentsCreated,
    ShipmentsUpdated,
    ShipmentTracking,
)

__all__ = [
    "Account",
    "Address",
    "BillingCycle",
    "BillingCyclePayOut",
    "Cancelation",
    "CancelationCreated",
    "CancelationRequest",
    "CancelationsCreated",
    "Carrier",
    "Channel",
    "CodeAmount",
    "CommissionTax",
    "Customer",
    "ExportStarted",
    "ExportStatus",
    "ExportStatusInfo",
    "ImportCreated",
    "ImportMode",
    "ImportStatus",
    "Invoice",
    "InvoicePayment",
    "MiraklModel",
    "NewShipment",
    "Offer",
    "OfferCondition",
    "OfferImport",
    "OfferUpsert",
    "Order",
    "OrderLine",
    "OrderLineState",
    "OrderReferences",
    "OrderState",
    "OrderTax",
    "PaymentWorkflow",
    "PlatformConfiguration",
    "PriceImport",
    "PriceImportCreated",
    "ProductReference",
    "Reason",
    "ReasonType",
    "Refund",
    "RefundCreated",
    "RefundRequest",
    "RefundState",
    "RefundsCreated",
    "Shipment",
    "ShipmentError",
    "ShipmentId",
    "ShipmentLine",
    "ShipmentTracking",
    "ShipmentsCreated",
    "ShipmentsUpdated",
    "StockImport",
    "StockImportCreated",
    "Tax",
    "TaxMode",
    "TransactionLine",
    "WarehouseQuantity",
]
