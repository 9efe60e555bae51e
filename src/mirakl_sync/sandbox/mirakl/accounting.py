"""Accounting: transaction logs (TL02), billing cycles (SBC11) and commission invoices (IV01).

Kept simple but consistent with the orders: when a customer is debited, each line books
ORDER_AMOUNT, ORDER_SHIPPING_AMOUNT (credits) and COMMISSION_FEE, COMMISSION_VAT (debits),
PENDING until the order ships, then PAYABLE. A refund books REFUND_ORDER_AMOUNT,
REFUND_ORDER_SHIPPING_AMOUNT (debits) and REFUND_COMMISSION_FEE, REFUND_COMMISSION_VAT
(credits), PAYABLE at once. Closing a billing cycle marks every PAYABLE log PAID, books one
PAYMENT (the payout, a debit of the shop balance), and issues the AUTO_INVOICE for the
cycle's commissions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from mirakl_sync.sandbox.mirakl.http import (
    ApiError,
    Call,
    json_reply,
    offset_page,
    seek_page,
)
from mirakl_sync.sandbox.mirakl.state import (
    BillingCycle,
    Invoice,
    MarketState,
    Order,
    OrderLine,
    Refund,
    TransactionLog,
    iso,
    money,
    parse_date,
)


def book(
    market: MarketState,
    now: float,
    type_: str,
    amount: float,
    *,
    order: Order | None = None,
    line: OrderLine | None = None,
    refund: Refund | None = None,
    payment_state: str = "PENDING",
) -> TransactionLog:
    """Append one transaction log; ``amount`` is signed (credited minus debited)."""
    market.balance = money(market.balance + amount)
    log = TransactionLog(
        id=market.uuid(),
        type=type_,
        amount=money(amount),
        created=now,
        last_updated=now,
        payment_state=payment_state,
        order_id=order.order_id if order else None,
        commercial_id=order.commercial_id if order else None,
        order_line_id=line.line_id if line else None,
        refund_id=refund.id if refund else None,
        balance=market.balance,
    )
    market.logs.append(log)
    return log


def commission(market: MarketState, amount: float) -> tuple[float, float]:
    """(commission fee, commission VAT) the operator takes on ``amount``."""
    fee = money(amount * market.config.commission_rate)
    return fee, money(fee * market.config.commission_vat_rate)


def book_debit(market: MarketState, now: float, order: Order, line: OrderLine) -> None:
    fee, vat = commission(market, line.price)
    book(market, now, "ORDER_AMOUNT", line.price, order=order, line=line)
    if line.shipping_price:
        book(market, now, "ORDER_SHIPPING_AMOUNT", line.shipping_price, order=order, line=line)
    book(market, now, "COMMISSION_FEE", -fee, order=order, line=line)
    book(market, now, "COMMISSION_VAT", -vat, order=order, line=line)


def book_refund(market: MarketState, now: float, order: Order, line: OrderLine, r: Refund) -> None:
    kw: dict[str, Any] = {"order": order, "line": line, "refund": r, "payment_state": "PAYABLE"}
    book(market, now, "REFUND_ORDER_AMOUNT", -r.amount, **kw)
    if r.shipping_amount:
        book(market, now, "REFUND_ORDER_SHIPPING_AMOUNT", -r.shipping_amount, **kw)
    book(market, now, "REFUND_COMMISSION_FEE", r.commission_amount, **kw)
    book(market, now, "REFUND_COMMISSION_VAT", r.commission_tax_amount, **kw)


def make_payable(market: MarketState, now: float, order_id: str) -> None:
    for log in market.logs:
        if log.order_id == order_id and log.payment_state == "PENDING":
            log.payment_state = "PAYABLE"
            log.last_updated = now


def close_billing_cycle(market: MarketState, now: float) -> BillingCycle | None:
    """Pay out every PAYABLE log; None when there is nothing to pay."""
    payable = [log for log in market.logs if log.payment_state == "PAYABLE"]
    market.last_cycle = now
    if not payable:
        return None
    cycle_id = market.uuid()
    n = market.next_number()
    voucher = f"PV-{n:06d}"
    totals: dict[str, float] = {}
    for log in payable:
        totals[log.type] = money(totals.get(log.type, 0.0) + log.amount)
        log.payment_state = "PAID"
        log.billing_cycle_id = cycle_id
        log.last_updated = now
    transferred = money(sum(log.amount for log in payable))
    payment = book(market, now, "PAYMENT", -transferred, payment_state="PAID")
    payment.billing_cycle_id = cycle_id

    def t(name: str) -> float:
        return totals.get(name, 0.0)

    orders_excl = money(t("ORDER_AMOUNT") + t("ORDER_SHIPPING_AMOUNT"))
    refunds_excl = money(-(t("REFUND_ORDER_AMOUNT") + t("REFUND_ORDER_SHIPPING_AMOUNT")))
    summary = {
        "total_payable_orders_excl_tax": orders_excl,
        "total_payable_orders_incl_tax": orders_excl,
        "total_commissions_excl_tax": money(-t("COMMISSION_FEE")),
        "total_commissions_incl_tax": money(-(t("COMMISSION_FEE") + t("COMMISSION_VAT"))),
        "total_refund_orders_excl_tax": refunds_excl,
        "total_refund_orders_incl_tax": refunds_excl,
        "total_refund_commissions_excl_tax": money(t("REFUND_COMMISSION_FEE")),
        "total_refund_commissions_incl_tax": money(
            t("REFUND_COMMISSION_FEE") + t("REFUND_COMMISSION_VAT")
        ),
    }
    details: dict[str, dict[str, Any]] = {}
    for log in payable:
        if log.type in ("COMMISSION_FEE", "REFUND_COMMISSION_FEE") and log.order_id:
            d = details.setdefault(
                log.order_id,
                {"order_id": log.order_id, "amount": 0.0, "vat": 0.0, "date": log.created},
            )
            d["amount"] = money(d["amount"] - log.amount)
        if log.type in ("COMMISSION_VAT", "REFUND_COMMISSION_VAT") and log.order_id:
            d = details.setdefault(
                log.order_id,
                {"order_id": log.order_id, "amount": 0.0, "vat": 0.0, "date": log.created},
            )
            d["vat"] = money(d["vat"] - log.amount)
    invoice_id = 100000 + n
    market.invoices.append(
        Invoice(
            invoice_id=invoice_id,
            id=market.uuid(),
            created=now,
            billing_cycle_id=cycle_id,
            details=list(details.values()),
            total_excl=money(sum(d["amount"] for d in details.values())),
            total_taxes=money(sum(d["vat"] for d in details.values())),
        )
    )
    cycle = BillingCycle(cycle_id, now, transferred, voucher, summary, invoice_id)
    market.cycles.append(cycle)
    return cycle


def _log_json(market: MarketState, log: TransactionLog) -> dict[str, Any]:
    entities: dict[str, Any] = {}
    if log.order_id:
        entities["order"] = {"id": log.order_id, "commercial_id": log.commercial_id}
    if log.order_line_id:
        entities["order_line"] = {"id": log.order_line_id}
    if log.refund_id:
        entities["refund"] = {"id": log.refund_id}
    out: dict[str, Any] = {
        "id": log.id,
        "type": log.type,
        "amount": log.amount,
        "amount_credited": log.amount if log.amount > 0 else 0.0,
        "amount_debited": -log.amount if log.amount < 0 else 0.0,
        "balance": log.balance,
        "currency_iso_code": market.config.currency_iso_code,
        "date_created": iso(log.created),
        "last_updated": iso(log.last_updated),
        "payment_state": log.payment_state,
        "entities": entities,
    }
    if log.billing_cycle_id:
        out["seller_billing_cycle_id"] = log.billing_cycle_id
    return out


def tl02(call: Call) -> Response:
    """TL02: transaction logs, seek paging up to 2000 per page."""

    def select(c: Call) -> list[TransactionLog]:
        logs = list(c.market.logs)
        filters: dict[str, Callable[[TransactionLog], str | None]] = {
            "order_id": lambda log: log.order_id,
            "order_line_id": lambda log: log.order_line_id,
            "transaction_type": lambda log: log.type,
            "payment_state": lambda log: log.payment_state,
            "seller_billing_cycle_id": lambda log: log.billing_cycle_id,
        }
        for name, get in filters.items():
            wanted = set(c.q_list(name))
            if wanted:
                logs = [log for log in logs if get(log) in wanted]
        for name, attr, after in (
            ("last_updated_from", "last_updated", True),
            ("date_created_from", "created", True),
            ("date_created_to", "created", False),
        ):
            value = c.q(name)
            if value:
                limit = _date_param(name, value)
                logs = [
                    log
                    for log in logs
                    if (getattr(log, attr) >= limit if after else getattr(log, attr) < limit)
                ]
        if (c.q("sort") or "").lower().startswith("lastupdated"):
            logs.sort(key=lambda log: log.last_updated)
        if (c.q("sort") or "").upper().endswith(",DESC"):
            logs.reverse()
        return logs

    page, tokens = seek_page(call, select, max_limit=2000)
    return json_reply({"data": [_log_json(call.market, log) for log in page], **tokens})


def _date_param(name: str, value: str) -> float:
    try:
        return parse_date(value)
    except ValueError:
        raise ApiError(400, f"Parameter {name} is not an ISO-8601 date: {value!r}") from None


def sbc11(call: Call) -> Response:
    """SBC11: seller billing cycles, seek paging up to 1000 per page."""
    market = call.market

    def select(c: Call) -> list[BillingCycle]:
        cycles = list(market.cycles)
        ids = set(c.q_list("id"))
        if ids:
            cycles = [cy for cy in cycles if cy.id in ids]
        return cycles

    page, tokens = seek_page(call, select, max_limit=1000)
    data = [
        {
            "id": cy.id,
            "date_created": iso(cy.created),
            "currency_iso_code": market.config.currency_iso_code,
            "payment_voucher_number": cy.voucher,
            "amount_transferred_to_seller": cy.amount_to_seller,
            "amount_transferred_to_operator": 0.0,
            "pay_out": {
                "state": "PAID",
                "reference": cy.voucher,
                "transaction_date": iso(cy.created),
            },
            "shop": {"shop_id": market.config.shop_id, "shop_name": market.config.shop_name},
            "summary": cy.summary,
        }
        for cy in page
    ]
    return json_reply({"data": data, **tokens})


def iv01(call: Call) -> Response:
    """IV01: the operator's commission invoices (AUTO_INVOICE), offset paging."""
    market = call.market
    kind = call.q("type") or "AUTO_INVOICE"
    invoices = list(market.invoices) if kind in ("ALL", "AUTO_INVOICE") else []
    ids = set(call.q_list("invoice_id"))
    if ids:
        invoices = [inv for inv in invoices if str(inv.invoice_id) in ids]
    cycles = set(call.q_list("seller_billing_cycle_id"))
    if cycles:
        invoices = [inv for inv in invoices if inv.billing_cycle_id in cycles]
    page, total = offset_page(call, invoices)
    out = []
    for inv in page:
        out.append(
            {
                "invoice_id": inv.invoice_id,
                "id": inv.id,
                "type": "AUTO_INVOICE",
                "state": "COMPLETE",
                "date_created": iso(inv.created),
                "issue_date": iso(inv.created),
                "due_date": iso(inv.created),
                "currency_iso_code": market.config.currency_iso_code,
                "shop_id": market.config.shop_id,
                "shop_name": market.config.shop_name,
                "total_amount_excl_taxes": inv.total_excl,
                "total_amount_incl_taxes": money(inv.total_excl + inv.total_taxes),
                "total_taxes": [{"code": "VAT", "amount": inv.total_taxes}],
                "details": [
                    {
                        "description": f"Commission on order {d['order_id']}",
                        "amount_excl_taxes": d["amount"],
                        "quantity": 1,
                        "order_id": d["order_id"],
                        "operation_date": iso(d["date"]),
                        "taxes": [{"code": "VAT", "amount": d["vat"]}],
                    }
                    for d in inv.details
                ],
                "payment": {"state": "PAID", "transaction_date": iso(inv.created)},
            }
        )
    return json_reply({"invoices": out, "total_count": total})
