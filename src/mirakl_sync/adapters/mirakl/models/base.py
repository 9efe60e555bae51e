"""Mirakl payloads: the base model, the values known from the spec, and the parts many
payloads share (amounts, taxes)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from mirakl_sync.domain.marketplace_order import LineState
from mirakl_sync.domain.marketplace_order import OrderState as OrderState
from mirakl_sync.domain.marketplace_order import RefundState as RefundState


class MiraklModel(BaseModel):
    """A Mirakl payload: unknown fields are kept, not rejected."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --------------------------------------------------------------------------- known values


#: The order, line and refund states are the domain's (one definition, shared with the
#: emulator's state machine); re-exported here under the names the API uses.
OrderLineState = LineState


class PaymentWorkflow(StrEnum):
    """OR11 ``payment_workflow``."""

    PAY_ON_ACCEPTANCE = "PAY_ON_ACCEPTANCE"
    PAY_ON_DELIVERY = "PAY_ON_DELIVERY"
    PAY_ON_DUE_DATE = "PAY_ON_DUE_DATE"
    PAY_ON_SHIPMENT = "PAY_ON_SHIPMENT"
    NO_CUSTOMER_PAYMENT_CONFIRMATION = "NO_CUSTOMER_PAYMENT_CONFIRMATION"


class TaxMode(StrEnum):
    """``order_tax_mode``: how every price of the order is to be read."""

    TAX_INCLUDED = "TAX_INCLUDED"
    TAX_EXCLUDED = "TAX_EXCLUDED"


class ImportStatus(StrEnum):
    """OF02/OF04 ``status``; STO02 and PRI02 use the last four."""

    WAITING_SYNCHRONIZATION_PRODUCT = "WAITING_SYNCHRONIZATION_PRODUCT"
    WAITING = "WAITING"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"


class ImportMode(StrEnum):
    """OF01 ``import_mode`` (PARTIAL_UPDATE is deprecated and not offered)."""

    NORMAL = "NORMAL"
    REPLACE = "REPLACE"


class ExportStatus(StrEnum):
    """OF53 ``status``."""

    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class ReasonType(StrEnum):
    """RE01 ``type`` values used by the hub (the spec lists more)."""

    INCIDENT_OPEN = "INCIDENT_OPEN"
    INCIDENT_CLOSE = "INCIDENT_CLOSE"
    REFUND = "REFUND"
    CANCELATION = "CANCELATION"
    ORDER_MESSAGING = "ORDER_MESSAGING"
    OFFER_MESSAGING = "OFFER_MESSAGING"


# --------------------------------------------------------------------------- shared parts


class CodeAmount(MiraklModel):
    """``{code, amount}``: fees, taxes in requests (OR28/OR30)."""

    code: str | None = None
    amount: Decimal | None = None


class Tax(MiraklModel):
    """A tax on a line, refund or cancelation (OR11/OR28/OR30)."""

    code: str
    amount: Decimal
    rate: Decimal | None = None
    tax_calculation_rule: str | None = None
    origin_unit_amount: Decimal | None = None


class CommissionTax(MiraklModel):
    code: str
    amount: Decimal
    rate: Decimal | None = None


class OrderTax(MiraklModel):
    """OR11 ``order_taxes[]`` and ``order_refunds[].taxes[]``."""

    code: str
    total_amount: Decimal
    rate: Decimal | None = None
