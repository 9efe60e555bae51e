"""Every Mirakl emulator response, driven through a realistic scenario, matches the spec."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from mirakl_spec import max_usage_text, validate_response

from mirakl_sync.sandbox.mirakl import (
    CALL_FREQUENCY_MAXIMA,
    EmulatedMarketplace,
    MiraklEmulator,
)


class FakeClock:
    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


KEY = "sandbox-debenhams-key"


def make(clock: FakeClock, **kw: Any) -> MiraklEmulator:
    options: dict[str, Any] = {
        "clock": clock,
        "call_frequency_scale": 0.0,
        "import_processing_seconds": 2.0,
        "debit_delay_seconds": 5.0,
        "refund_delay_seconds": 10.0,
        "seed": 7,
    }
    options.update(kw)
    emu = MiraklEmulator(
        marketplaces=[
            EmulatedMarketplace(code="debenhams", name="Debenhams", api_key=KEY, shop_id=2001),
        ],
        **options,
    )
    emu.load_offers(
        "debenhams",
        [
            {
                "shop_sku": "FJ-JAC-0001-XS",
                "product_id": "5012345000017",
                "price": 180.0,
                "quantity": 10,
                "product_title": "Trail Shell Jacket XS",
            },
            {
                "shop_sku": "FJ-FLC-0002-M",
                "product_id": "5012345000024",
                "price": 75.0,
                "quantity": 5,
                "product_title": "Summit Grid Fleece M",
            },
            {
                "shop_sku": "FJ-BAS-0003-L",
                "product_id": "5012345000031",
                "price": 60.0,
                "quantity": 3,
                "state_code": "2",
            },
        ],
    )
    return emu


class Api:
    """Calls the emulator in-process and checks each response against the spec."""

    def __init__(self, emu: MiraklEmulator) -> None:
        self.app = emu.asgi_app()
        self.checked: set[str] = set()

    def call(
        self,
        op_id: str,
        method: str,
        path: str,
        *,
        key: str | None = KEY,
        validate: bool = True,
        **kw: Any,
    ) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            headers = {"Authorization": key} if key is not None else {}
            async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
                return await client.request(method, "/debenhams" + path, headers=headers, **kw)

        response = asyncio.run(go())
        if validate and response.status_code < 300 and response.status_code != 204:
            media = response.headers["content-type"].split(";")[0]
            if media == "application/json":
                validate_response(op_id, response.status_code, response.json())
            self.checked.add(op_id)
        elif validate and response.status_code == 204:
            self.checked.add(op_id)
        return response


def csv_file(rows: list[list[str]]) -> bytes:
    return "\n".join(";".join(f'"{c}"' for c in row) for row in rows).encode()


def test_full_scenario_every_response_matches_the_spec() -> None:
    clock = FakeClock()
    emu = make(clock)
    api = Api(emu)

    # Reference lists and account.
    for op, path in (
        ("SH21", "/api/shipping/carriers"),
        ("RE01", "/api/reasons"),
        ("OF61", "/api/offers/states"),
        ("PC01", "/api/platform/configuration"),
        ("A01", "/api/account"),
        ("V01", "/api/version"),
    ):
        assert api.call(op, "GET", path, validate=op != "V01").status_code == 200
    api.checked.add("V01")  # V01 has no body schema; only its status matters

    # Two orders: one shipped with OR23+OR24 and refunded, one shipped by ST01 then canceled ...
    first = emu.place_order("debenhams", lines=[("FJ-JAC-0001-XS", 1), ("FJ-FLC-0002-M", 2)])
    second = emu.place_order("debenhams", lines=[("FJ-BAS-0003-L", 1)])
    third = emu.place_order("debenhams", lines=[("FJ-JAC-0001-XS", 1)])
    r = api.call("OR11", "GET", "/api/orders", params={"order_state_codes": "WAITING_ACCEPTANCE"})
    assert r.json()["total_count"] == 3

    first_lines = [ln["order_line_id"] for ln in r.json()["orders"][0]["order_lines"]]
    assert (
        api.call(
            "OR21",
            "PUT",
            f"/api/orders/{first}/accept",
            json={
                "order_lines": [
                    {"id": first_lines[0], "accepted": True},
                    {"id": first_lines[1], "accepted": True},
                ]
            },
        ).status_code
        == 204
    )
    for oid in (second, third):
        assert (
            api.call(
                "OR21",
                "PUT",
                f"/api/orders/{oid}/accept",
                json={"order_lines": [{"id": f"{oid}-1", "accepted": True}]},
            ).status_code
            == 204
        )
    clock.advance(6)
    orders = api.call("OR11", "GET", "/api/orders", params={"order_ids": first}).json()["orders"]
    assert orders[0]["order_state"] == "SHIPPING"

    assert (
        api.call(
            "OR23",
            "PUT",
            f"/api/orders/{first}/tracking",
            json={"carrier_code": "RM", "tracking_number": "AB123456789GB"},
        ).status_code
        == 204
    )
    assert api.call("OR24", "PUT", f"/api/orders/{first}/ship").status_code == 204

    shipped = api.call(
        "ST01",
        "POST",
        "/api/shipments",
        json={
            "shipments": [
                {
                    "order_id": second,
                    "shipment_lines": [{"order_line_id": f"{second}-1", "quantity": 1}],
                    "tracking": {"carrier_code": "DPD", "tracking_number": "1550012345"},
                }
            ]
        },
    )
    assert shipped.status_code == 201
    shipment_id = shipped.json()["shipment_success"][0]["id"]
    assert (
        api.call(
            "ST23",
            "POST",
            "/api/shipments/tracking",
            json={
                "shipments": [
                    {
                        "id": shipment_id,
                        "tracking": {"carrier_code": "EVRI", "tracking_number": "H00A"},
                    }
                ]
            },
        ).json()["shipment_errors"]
        == []
    )
    assert api.call(
        "ST24", "PUT", "/api/shipments/ship", json={"shipments": [{"id": shipment_id}]}
    ).json()["shipment_success"]
    assert api.call("ST11", "GET", "/api/shipments", params={"limit": 5}).status_code == 200

    refund = api.call(
        "OR28",
        "PUT",
        "/api/orders/refund",
        json={
            "refunds": [
                {
                    "order_line_id": first_lines[0],
                    "amount": 180.0,
                    "shipping_amount": 3.95,
                    "reason_code": "15",
                    "quantity": 1,
                }
            ]
        },
    )
    assert refund.status_code == 200
    cancel = api.call(
        "OR30",
        "PUT",
        "/api/orders/cancel",
        json={
            "cancelations": [
                {
                    "order_line_id": f"{third}-1",
                    "amount": 180.0,
                    "shipping_amount": 3.95,
                    "quantity": 1,
                    "reason_code": "34",
                }
            ]
        },
    )
    assert cancel.status_code == 200
    fourth = emu.place_order("debenhams", lines=[("FJ-FLC-0002-M", 1)])
    api.call(
        "OR21",
        "PUT",
        f"/api/orders/{fourth}/accept",
        json={"order_lines": [{"id": f"{fourth}-1", "accepted": True}]},
    )
    assert api.call("OR29", "PUT", f"/api/orders/{fourth}/cancel").status_code == 204
    clock.advance(20)
    every = api.call("OR11", "GET", "/api/orders", params={"max": 100}).json()["orders"]
    refunded_line = next(o for o in every if o["order_id"] == first)["order_lines"][0]
    assert refunded_line["order_line_state"] == "REFUNDED"
    assert refunded_line["refunds"][0]["refund_state"] == "REFUNDED"

    # Offers: list, JSON import, file imports, error reports, export.
    assert api.call("OF21", "GET", "/api/offers").json()["total_count"] == 3
    of24 = api.call(
        "OF24",
        "POST",
        "/api/offers",
        json={
            "offers": [
                {
                    "shop_sku": "FJ-NEW-0009",
                    "product_id": "5012345000093",
                    "product_id_type": "EAN",
                    "price": 42.0,
                    "quantity": 4,
                    "state_code": "11",
                    "update_delete": "update",
                }
            ]
        },
    )
    of01 = api.call(
        "OF01",
        "POST",
        "/api/offers/imports",
        data={"import_mode": "NORMAL"},
        files={
            "file": (
                "offers.csv",
                csv_file(
                    [
                        [
                            "sku",
                            "product-id",
                            "product-id-type",
                            "price",
                            "quantity",
                            "state",
                            "update-delete",
                        ],
                        ["FJ-JAC-0001-XS", "5012345000017", "EAN", "175.00", "8", "11", "update"],
                        ["FJ-BAD-0000", "", "EAN", "abc", "1", "11", ""],
                    ]
                ),
                "text/csv",
            )
        },
    )
    sto01 = api.call(
        "STO01",
        "POST",
        "/api/offers/stock/imports",
        files={
            "file": (
                "stock.csv",
                csv_file(
                    [
                        ["offer-sku", "quantity", "warehouse-code", "update-delete"],
                        ["FJ-FLC-0002-M", "12", "", ""],
                        ["NOPE", "3", "", ""],
                    ]
                ),
                "text/csv",
            )
        },
    )
    pri01 = api.call(
        "PRI01",
        "POST",
        "/api/offers/pricing/imports",
        files={
            "file": (
                "prices.csv",
                csv_file(
                    [
                        [
                            "offer-sku",
                            "price",
                            "discount-price",
                            "discount-start-date",
                            "discount-end-date",
                        ],
                        ["FJ-BAS-0003-L", "55.00", "", "", ""],
                        ["NOPE", "1.00", "", "", ""],
                    ]
                ),
                "text/csv",
            )
        },
    )
    for response in (of24, of01, sto01, pri01):
        assert response.status_code == 201, response.text
    status = api.call(
        "STO02", "GET", f"/api/offers/stock/imports/{sto01.json()['import_id']}/status"
    )
    assert status.json()["status"] == "WAITING"
    clock.advance(3)
    of01_id = of01.json()["import_id"]
    assert api.call("OF02", "GET", f"/api/offers/imports/{of01_id}").json()["lines_in_error"] == 1
    assert api.call("OF04", "GET", "/api/offers/imports").status_code == 200
    assert api.call("OF03", "GET", f"/api/offers/imports/{of01_id}/error_report").status_code == 200
    sto_id = sto01.json()["import_id"]
    assert api.call("STO02", "GET", f"/api/offers/stock/imports/{sto_id}/status").json() == {
        **api.call("STO02", "GET", f"/api/offers/stock/imports/{sto_id}/status").json(),
        "status": "COMPLETE",
        "lines_in_error": 1,
        "lines_in_success": 1,
    }
    report = api.call("STO03", "GET", f"/api/offers/stock/imports/{sto_id}/error_report")
    assert "Unknown offer-sku NOPE" in report.text
    assert (
        api.call("PRI02", "GET", "/api/offers/pricing/imports").json()["data"][0]["lines_in_error"]
        == 1
    )
    pri_id = pri01.json()["import_id"]
    assert (
        api.call("PRI03", "GET", f"/api/offers/pricing/imports/{pri_id}/error_report").status_code
        == 200
    )

    export = api.call(
        "OF52", "POST", "/api/offers/export/async", json={"export_type": "application/json"}
    )
    tracking = export.json()["tracking_id"]
    assert (
        api.call("OF53", "GET", f"/api/offers/export/async/status/{tracking}").json()["status"]
        == "PENDING"
    )
    clock.advance(3)
    done = api.call("OF53", "GET", f"/api/offers/export/async/status/{tracking}").json()
    assert done["status"] == "COMPLETED"
    url = done["urls"][0].replace("http://emulator/debenhams", "")
    chunk = api.call("OF54", "GET", url, key=None, validate=False)
    rows = chunk.json()
    assert {r["shop_sku"] for r in rows} >= {"FJ-NEW-0009", "FJ-JAC-0001-XS"}
    # The spec's OF54 JSON schema describes one element; its example shows the file is a list.
    for row in rows:
        validate_response("OF54", 200, row)
    api.checked.add("OF54")

    # Accounting.
    assert emu.close_billing_cycle("debenhams") is not None
    logs = api.call(
        "TL02", "GET", "/api/sellerpayment/transactions_logs", params={"limit": 2000}
    ).json()["data"]
    assert {
        "ORDER_AMOUNT",
        "COMMISSION_FEE",
        "COMMISSION_VAT",
        "REFUND_ORDER_AMOUNT",
        "PAYMENT",
    } <= {log["type"] for log in logs}
    cycles = api.call("SBC11", "GET", "/api/seller-billing-cycles").json()["data"]
    payment = next(log for log in logs if log["type"] == "PAYMENT")
    assert cycles[0]["amount_transferred_to_seller"] == -payment["amount"]
    invoices = api.call("IV01", "GET", "/api/invoices").json()
    assert invoices["total_count"] == 1

    implemented = {
        "OR11",
        "OR21",
        "OR23",
        "OR24",
        "OR28",
        "OR29",
        "OR30",
        "ST01",
        "ST11",
        "ST23",
        "ST24",
        "OF01",
        "OF02",
        "OF03",
        "OF04",
        "OF21",
        "OF24",
        "OF52",
        "OF53",
        "OF54",
        "STO01",
        "STO02",
        "STO03",
        "PRI01",
        "PRI02",
        "PRI03",
        "SH21",
        "RE01",
        "OF61",
        "PC01",
        "IV01",
        "TL02",
        "SBC11",
        "V01",
        "A01",
    }
    assert implemented <= api.checked


def test_a_response_that_breaks_the_spec_fails_validation() -> None:
    from jsonschema import ValidationError

    with pytest.raises(ValidationError):
        validate_response("OR11", 200, {"orders": [{"order_id": "1-A"}], "total_count": 1})
    with pytest.raises(ValidationError):
        validate_response("OF02", 200, {**_of02_ok(), "status": "DONE"})


def _of02_ok() -> dict[str, Any]:
    return {
        "date_created": "2026-01-01T00:00:00Z",
        "has_error_report": False,
        "import_id": 1,
        "lines_in_error": 0,
        "lines_in_pending": 0,
        "lines_in_success": 1,
        "lines_read": 1,
        "mode": "NORMAL",
        "offer_deleted": 0,
        "offer_inserted": 1,
        "offer_updated": 0,
        "reason_status": "",
        "status": "COMPLETE",
        "type": "MIRAKL",
    }


# ---- the Call Frequency table cannot drift from the spec ------------------------------------

_PHRASES = {
    "once per minute": (1, 60.0),
    "once every 15 minutes": (1, 900.0),
    "once every 15 seconds": (1, 15.0),
    "every 10 seconds": (1, 10.0),
    "once per day": (1, 86400.0),
    "20 times per min": (20, 60.0),
    "60 times per hour": (60, 3600.0),
}
_VARIANT_MARKER = {
    "OR11": "Asynchronous",
    "OF01": "with offers only",
    "OF01:with_products": "with offers and products",
    "OF52:differential": "Differential",
    "OF52:full": "Full",
}


def _budgets_in(text: str) -> set[tuple[int, float]]:
    lowered = text.lower()
    return {value for phrase, value in _PHRASES.items() if phrase in lowered}


@pytest.mark.parametrize("key", sorted(CALL_FREQUENCY_MAXIMA))
def test_call_frequency_table_matches_the_spec_text(key: str) -> None:
    op_id = key.split(":")[0]
    text = max_usage_text(op_id)
    assert text, f"{op_id} has no Call Frequency maximum in the spec"
    marker = _VARIANT_MARKER.get(key)
    if marker:
        parts = [p for p in text.replace(" - ", "\n").replace(",", "\n").split("\n") if marker in p]
        assert parts, f"{marker!r} not found in {text!r}"
        text = " ".join(parts)
    expected = _budgets_in(text)
    actual = {(b.limit, b.period) for b in CALL_FREQUENCY_MAXIMA[key]}
    assert expected and actual == expected, f"{key}: spec says {text!r}"


def test_every_numeric_maximum_of_an_implemented_endpoint_is_in_the_table() -> None:
    implemented = [
        "OR11",
        "OR21",
        "OR23",
        "OR24",
        "OR28",
        "OR29",
        "OR30",
        "ST01",
        "ST11",
        "ST23",
        "ST24",
        "OF01",
        "OF02",
        "OF03",
        "OF04",
        "OF21",
        "OF24",
        "OF52",
        "OF53",
        "STO01",
        "STO02",
        "STO03",
        "PRI01",
        "PRI02",
        "PRI03",
        "SH21",
        "RE01",
        "OF61",
        "PC01",
        "IV01",
        "TL02",
        "SBC11",
        "A01",
    ]
    table_ops = {k.split(":")[0] for k in CALL_FREQUENCY_MAXIMA}
    for op_id in implemented:
        text = max_usage_text(op_id) or ""
        if _budgets_in(text):
            assert op_id in table_ops, f"{op_id} has a maximum in the spec: {text!r}"
        else:
            assert op_id not in table_ops, f"{op_id} is limited but the spec says {text!r}"


def test_error_bodies_are_status_and_message() -> None:
    api = Api(make(FakeClock()))
    r = api.call("OR11", "GET", "/api/orders", key="wrong", validate=False)
    assert r.status_code == 401
    assert set(r.json()) == {"status", "message"} and r.json()["status"] == 401
    assert json.loads(r.text)["message"]
