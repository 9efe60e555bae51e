"""The accounting operations of ``MiraklClient``: accounting documents (IV01),
transaction lines (TL02) and seller billing cycles (SBC11).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from mirakl_sync.adapters.mirakl.client_params import _list
from mirakl_sync.adapters.mirakl.client_transport import MiraklTransport
from mirakl_sync.adapters.mirakl.models import BillingCycle, Invoice, TransactionLine

TL02_MAX_LIMIT = 2000
SBC11_MAX_LIMIT = 1000


class AccountingOperations(MiraklTransport):
    """The client's operations IV01, TL02 and SBC11."""

    async def invoices(
        self,
        *,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        type: str | None = None,
        invoice_ids: Sequence[int] | None = None,
        seller_billing_cycle_ids: Sequence[str] | None = None,
        payment_status: str | None = None,
        currency: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Invoice]:
        """IV01: accounting documents (offset pages; one daily slot, pages exempt)."""
        params = {
            "start_date": start_date,
            "end_date": end_date,
            "type": type,
            "invoice_id": _list(invoice_ids),
            "seller_billing_cycle_id": _list(seller_billing_cycle_ids),
            "payment_status": payment_status,
            "currency": currency,
        }
        async for item in self._offset(
            Invoice, "IV01", "/api/invoices", params, "invoices", page_size
        ):
            yield item

    async def transaction_logs(
        self,
        *,
        seller_billing_cycle_ids: Sequence[str] | None = None,
        date_created_from: datetime | None = None,
        date_created_to: datetime | None = None,
        transaction_date_from: datetime | None = None,
        transaction_date_to: datetime | None = None,
        last_updated_from: datetime | None = None,
        payment_states: Sequence[str] | None = None,
        transaction_types: Sequence[str] | None = None,
        order_ids: Sequence[str] | None = None,
        order_line_ids: Sequence[str] | None = None,
        accounting_document_number: str | None = None,
        sort: str | None = None,
        page_size: int = TL02_MAX_LIMIT,
    ) -> AsyncIterator[TransactionLine]:
        """TL02: transaction lines (seek pages of up to 2000; every page counts against
        20/min and 60/h). Mirakl recommends ``sort="lastUpdated,ASC"`` for syncing."""
        params = {
            "seller_billing_cycle_id": _list(seller_billing_cycle_ids),
            "date_created_from": date_created_from,
            "date_created_to": date_created_to,
            "transaction_date_from": transaction_date_from,
            "transaction_date_to": transaction_date_to,
            "last_updated_from": last_updated_from,
            "payment_state": _list(payment_states),
            "transaction_type": _list(transaction_types),
            "order_id": _list(order_ids),
            "order_line_id": _list(order_line_ids),
            "accounting_document_number": accounting_document_number,
            "sort": sort,
        }
        async for item in self._seek(
            TransactionLine,
            "TL02",
            "/api/sellerpayment/transactions_logs",
            params,
            page_size,
            TL02_MAX_LIMIT,
        ):
            yield item

    async def billing_cycles(
        self,
        *,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        ids: Sequence[str] | None = None,
        currencies: Sequence[str] | None = None,
        pay_out_states: Sequence[str] | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[BillingCycle]:
        """SBC11: seller billing cycles (seek pages; one daily slot, pages exempt)."""
        params = {
            "start_date": start_date,
            "end_date": end_date,
            "id": _list(ids),
            "currency": _list(currencies),
            "pay_out_state": _list(pay_out_states),
        }
        async for item in self._seek(
            BillingCycle, "SBC11", "/api/seller-billing-cycles", params, page_size, SBC11_MAX_LIMIT
        ):
            yield item
