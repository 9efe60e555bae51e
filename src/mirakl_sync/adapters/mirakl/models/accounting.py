"""Mirakl payloads of accounting: invoices (IV01), transaction lines (TL02), billing
cycles (SBC11)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from mirakl_sync.adapters.mirakl.models.base import MiraklModel
from mirakl_sync.domain.marketplace_order import OrderState as OrderState
from mirakl_sync.domain.marketplace_order import RefundState as RefundState


class InvoicePayment(MiraklModel):
    state: str | None = None
    reference: str | None = None
    transaction_date: datetime | None = None
    failure_reason: str | None = None


class Invoice(MiraklModel):
    """IV01 ``invoices[]`` (accounting documents)."""

    invoice_id: int | None = None
    id: str | None = None
    type: str | None = None
    state: str | None = None
    date_created: datetime | None = None
    issue_date: datetime | None = None
    due_date: datetime | None = None
    currency_iso_code: str | None = None
    total_amount_excl_taxes: Decimal | None = None
    total_amount_incl_taxes: Decimal | None = None
    total_charged_amount: Decimal | None = None
    total_taxes: list[dict[str, Any]] = Field(default_factory=list)
    details: list[dict[str, Any]] = Field(default_factory=list)
    payment: InvoicePayment | None = None
    shop_id: int | None = None
    shop_name: str | None = None


class TransactionLine(MiraklModel):
    """TL02 ``data[]``: ``amount`` is signed (credited minus debited)."""

    id: str
    type: str | None = None
    amount: Decimal | None = None
    amount_credited: Decimal | None = None
    amount_debited: Decimal | None = None
    balance: Decimal | None = None
    currency_iso_code: str | None = None
    date_created: datetime | None = None
    last_updated: datetime | None = None
    payment_state: str | None = None
    seller_billing_cycle_id: str | None = None
    accounting_document_id: str | None = None
    accounting_document_number: str | None = None
    entities: dict[str, Any] = Field(default_factory=dict)


class BillingCyclePayOut(MiraklModel):
    state: str | None = None
    reference: str | None = None
    transaction_date: datetime | None = None
    failure_reason: str | None = None


class BillingCycle(MiraklModel):
    """SBC11 ``data[]``."""

    id: str
    date_created: datetime | None = None
    currency_iso_code: str | None = None
    payment_voucher_number: str | None = None
    amount_transferred_to_seller: Decimal | None = None
    amount_transferred_to_operator: Decimal | None = None
    pay_out: BillingCyclePayOut | None = None
    summary: dict[str, Any] = Field(default_factory=dict)
    shop: dict[str, Any] | None = None
