"""Mirakl emulator behaviour: auth, paging, rate limits, order rules, imports, exports, traffic."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from mirakl_sync.sandbox.mirakl import EmulatedMarketplace, MiraklEmulator

KEY = "sandbox-debenhams-key"


class Clock:
    def __init__(self) -> None:
        self.now = 1_767_225_600.0

    def __call__(self) -> float:
        return self.now


def emulator(clock: Clock, *, scale: float = 0.0, **market: Any) -> MiraklEmulator:
    emu = MiraklEmulator(
        marketplaces=[
            EmulatedMarketplace(
                code="debenhams", name="Debenhams", api_key=KEY, shop_id=2001, **market
            ),
            EmulatedMarketplace(code="bq", name="B&Q", api_key="bq-key", shop_id=3001),
        ],
        clock=clock,
        acceptance_window_seconds=100.0,
        call_frequency_scale=scale,
        import_processing_seconds=2.0,
        debit_delay_seconds=5.0,
        seed=1,
    )
    offers = [
        {
            "shop_sku": f"SKU-{i:02d}",
            "product_id": f"50000000000{i:02d}",
            "price": 10.0 + i,
            "quantity": 5,
        }
        for i in range(25)
    ]
    emu.load_offers("debenhams", offers)
    emu.load_offers("bq", offers[:3])
    return emu


def call(
    emu: MiraklEmulator,
    method: str,
    path: str,
    *,
    key: str | None = KEY,
    market: str = "debenhams",
    **kw: Any,
) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=emu.asgi_app())
        headers = {"Authorization": key} if key is not None else {}
        async with httpx.AsyncClient(transport=transport, base_url="http://e") as client:
            return await client.request(method, f"/{market}{path}", headers=headers, **kw)

    return asyncio.run(go())


def accept(emu: MiraklEmulator, order_id: str, *decisions: bool) -> httpx.Response:
    lines = [{"id": f"{order_id}-{i}", "accepted": d} for i, d in enumerate(decisions, 1)]
    return call(emu, "PUT", f"/api/orders/{order_id}/accept", json={"order_lines": lines})


def order(emu: MiraklEmulator, order_id: str) -> dict[str, Any]:
    r = call(emu, "GET", "/api/orders", params={"order_ids": order_id})
    return r.json()["orders"][0]


# ---- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "wrong", f"Bearer {KEY}", "bq-key"])
def test_requests_without_the_raw_shop_key_are_401(key: str | None) -> None:
    r = call(emulator(Clock()), "GET", "/api/offers", key=key)
    assert r.status_code == 401
    assert r.json()["status"] == 401 and "Authorization" in r.json()["message"]


def test_shop_id_must_match_the_key() -> None:
    emu = emulator(Clock())
    assert call(emu, "GET", "/api/offers", params={"shop_id": 2001}).status_code == 200
    assert call(emu, "GET", "/api/offers", params={"shop_id": 9}).status_code == 403


def test_marketplaces_are_separate() -> None:
    emu = emulator(Clock())
    r = call(emu, "GET", "/api/offers", key="bq-key", market="bq")
    assert r.json()["total_count"] == 3


# ---- paging ----------------------------------------------------------------------------------


def test_offset_paging_defaults_to_10_and_walks_to_total_count() -> None:
    emu = emulator(Clock())
    first = call(emu, "GET", "/api/offers").json()
    assert len(first["offers"]) == 10 and first["total_count"] == 25
    last = call(emu, "GET", "/api/offers", params={"max": 10, "offset": 20}).json()
    assert [o["shop_sku"] for o in last["offers"]] == [f"SKU-{i:02d}" for i in range(20, 25)]
    assert call(emu, "GET", "/api/offers", params={"max": 101}).status_code == 400


def test_seek_paging_tokens_carry_the_filters() -> None:
    emu = emulator(Clock())
    for i in range(5):
        emu.place_order("debenhams", lines=[(f"SKU-{i:02d}", 1)])
        emu.tick()
    clock_orders = list(emu.market("debenhams").orders)
    for oid in clock_orders:
        accept(emu, oid, True)
    emu_clock_advance(emu)
    for oid in clock_orders:
        r = call(
            emu,
            "POST",
            "/api/shipments",
            json={
                "shipments": [
                    {
                        "order_id": oid,
                        "shipment_lines": [{"order_line_id": f"{oid}-1", "quantity": 1}],
                    }
                ]
            },
        )
        assert r.json()["shipment_errors"] == []
    page_one = call(emu, "GET", "/api/shipments", params={"limit": 2}).json()
    assert len(page_one["data"]) == 2 and "previous_page_token" not in page_one
    token = page_one["next_page_token"]
    # With page_token every other parameter is ignored (limit=1 does not apply).
    page_two = call(emu, "GET", "/api/shipments", params={"page_token": token, "limit": 1}).json()
    assert len(page_two["data"]) == 2 and "previous_page_token" in page_two
    page_three = call(
        emu, "GET", "/api/shipments", params={"page_token": page_two["next_page_token"]}
    ).json()
    assert len(page_three["data"]) == 1 and "next_page_token" not in page_three
    seen = [s["id"] for p in (page_one, page_two, page_three) for s in p["data"]]
    assert len(set(seen)) == 5


def emu_clock_advance(emu: MiraklEmulator, seconds: float = 6.0) -> None:
    clock = emu.clock
    assert isinstance(clock, Clock)
    clock.now += seconds


# ---- rate limits -----------------------------------------------------------------------------


def test_call_frequency_gives_429_with_retry_after() -> None:
    clock = Clock()
    emu = emulator(clock, scale=1.0)
    assert call(emu, "GET", "/api/orders").status_code == 200
    r = call(emu, "GET", "/api/orders")
    assert r.status_code == 429 and r.json()["status"] == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # Per marketplace: another marketplace's OR11 is not affected.
    assert call(emu, "GET", "/api/orders", key="bq-key", market="bq").status_code == 200
    # Per business event endpoints have no budget.
    assert all(call(emu, "GET", "/api/offers").status_code == 200 for _ in range(3))
    clock.now += 60
    assert call(emu, "GET", "/api/orders").status_code == 200


def test_a_read_of_given_orders_is_or11s_synchronous_usage_with_no_maximum() -> None:
    # "Asynchronous: once per minute - Synchronous: at each order page display": listing
    # by order_ids (what an order page shows) is not held to the minute.
    clock = Clock()
    emu = emulator(clock, scale=1.0)
    assert call(emu, "GET", "/api/orders").status_code == 200
    by_id = [call(emu, "GET", "/api/orders", params={"order_ids": "1-A"}) for _ in range(3)]
    assert [r.status_code for r in by_id] == [200, 200, 200]
    assert call(emu, "GET", "/api/orders").status_code == 429


def test_call_frequency_scale_shortens_the_window() -> None:
    clock = Clock()
    emu = emulator(clock, scale=0.1)
    assert call(emu, "GET", "/api/offers/stock/imports/x/status").status_code == 404
    r = call(emu, "GET", "/api/offers/stock/imports/x/status")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) <= 2
    clock.now += 1.6
    assert call(emu, "GET", "/api/offers/stock/imports/x/status").status_code == 404


# ---- order rules -----------------------------------------------------------------------------


def test_placing_an_order_takes_stock_and_refusal_gives_it_back() -> None:
    emu = emulator(Clock())
    oid = emu.place_order("debenhams", lines=[("SKU-01", 2)])
    assert emu.market("debenhams").offers["SKU-01"].quantity == 3
    assert accept(emu, oid, False).status_code == 204
    assert order(emu, oid)["order_state"] == "REFUSED"
    assert emu.market("debenhams").offers["SKU-01"].quantity == 5


def test_acceptance_moves_to_shipping_after_the_debit_delay_without_double_decrement() -> None:
    clock = Clock()
    emu = emulator(clock)
    oid = emu.place_order("debenhams", lines=[("SKU-01", 1)])
    accept(emu, oid, True)
    assert order(emu, oid)["order_state"] == "WAITING_DEBIT_PAYMENT"
    clock.now += 5
    body = order(emu, oid)
    assert body["order_state"] == "SHIPPING" and "customer_debited_date" in body
    assert emu.market("debenhams").offers["SKU-01"].quantity == 4


def test_auto_refusal_after_the_window_leaves_acceptance_date_null() -> None:
    clock = Clock()
    emu = emulator(clock)
    oid = emu.place_order("debenhams", lines=[("SKU-02", 1)])
    clock.now += 100
    body = order(emu, oid)
    assert body["order_state"] == "REFUSED" and "acceptance_decision_date" not in body
    assert emu.market("debenhams").offers["SKU-02"].quantity == 5


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([{"id": "X-1", "accepted": True}], "ORDER_LINE_NOT_FOUND"),
        ([None], "ORDER_LINE_NULL_ELEMENT"),
        ([{"id": "{o}-1", "accepted": True}] * 2, "ORDER_LINE_DUPLICATE_ID"),
        ([{"id": "{o}-1", "accepted": True}], "ORDER_LINE_ACCEPTANCE_DECISION_MISSING"),
        ([{"id": "{o}-1"}], "VALIDATION_ERROR"),
    ],
)
def test_or21_rejects_bad_decisions(lines: list[Any], message: str) -> None:
    emu = emulator(Clock())
    oid = emu.place_order("debenhams", lines=[("SKU-01", 1), ("SKU-02", 1)])
    body = [
        {"id": d["id"].format(o=oid), **{k: v for k, v in d.items() if k != "id"}}
        if isinstance(d, dict)
        else d
        for d in lines
    ]
    r = call(emu, "PUT", f"/api/orders/{oid}/accept", json={"order_lines": body})
    assert r.status_code == 400 and message in r.json()["message"]


def test_or21_mixed_decisions_need_partial_acceptance() -> None:
    emu = emulator(Clock(), partial_acceptance=False)
    oid = emu.place_order("debenhams", lines=[("SKU-01", 1), ("SKU-02", 1)])
    r = accept(emu, oid, True, False)
    assert r.status_code == 400 and "ORDER_PARTIAL_ACCEPTANCE_DISABLED" in r.json()["message"]
    emu2 = emulator(Clock())
    oid2 = emu2.place_order("debenhams", lines=[("SKU-01", 1), ("SKU-02", 1)])
    assert accept(emu2, oid2, True, False).status_code == 204
    states = [ln["order_line_state"] for ln in order(emu2, oid2)["order_lines"]]
    assert states == ["WAITING_DEBIT_PAYMENT", "REFUSED"]


def test_or21_on_a_decided_order_is_invalid_state() -> None:
    emu = emulator(Clock())
    oid = emu.place_order("debenhams", lines=[("SKU-01", 1)])
    accept(emu, oid, True)
    r = accept(emu, oid, True)
    assert r.status_code == 400 and "ORDER_INVALID_STATE" in r.json()["message"]
    assert (
        call(emu, "PUT", "/api/orders/NOPE-A/accept", json={"order_lines": []}).status_code == 404
    )


def test_or24_outside_shipping_says_current_status() -> None:
    emu = emulator(Clock())
    oid = emu.place_order("debenhams", lines=[("SKU-01", 1)])
    r = call(emu, "PUT", f"/api/orders/{oid}/ship")
    assert r.status_code == 400 and r.json()["message"].startswith(
        "Current status is WAITING_ACCEPTANCE"
    )


def _shipping_order(emu: MiraklEmulator) -> str:
    oid = emu.place_order("debenhams", lines=[("SKU-01", 1)])
    accept(emu, oid, True)
    emu_clock_advance(emu)
    return oid


def test_tracking_checks_carriers_against_sh21() -> None:
    emu = emulator(Clock())
    oid = _shipping_order(emu)
    r = call(
        emu,
        "PUT",
        f"/api/orders/{oid}/tracking",
        json={"carrier_code": "UPSX", "tracking_number": "1"},
    )
    assert r.status_code == 400 and "UPSX" in r.json()["message"] and "RM" in r.json()["message"]
    ok = call(
        emu,
        "PUT",
        f"/api/orders/{oid}/tracking",
        json={"carrier_code": "RM", "tracking_number": "AB1GB"},
    )
    assert ok.status_code == 204
    assert order(emu, oid)["shipping_tracking_url"].endswith("/AB1GB")
    assert call(emu, "PUT", f"/api/orders/{oid}/ship").status_code == 204
    assert order(emu, oid)["order_state"] == "SHIPPED"


def test_unregistered_carrier_only_when_the_marketplace_allows_it() -> None:
    emu = emulator(Clock(), allow_unregistered_carriers=False)
    oid = _shipping_order(emu)
    body = {
        "carrier_name": "Bob's Vans",
        "carrier_url": "https://bob.example/1",
        "tracking_number": "1",
    }
    assert call(emu, "PUT", f"/api/orders/{oid}/tracking", json=body).status_code == 400
    emu2 = emulator(Clock())
    oid2 = _shipping_order(emu2)
    assert call(emu2, "PUT", f"/api/orders/{oid2}/tracking", json=body).status_code == 204


def test_st01_is_404_without_multi_shipment() -> None:
    emu = emulator(Clock(), multi_shipment=False)
    r = call(emu, "POST", "/api/shipments", json={"shipments": []})
    assert r.status_code == 404 and r.json()["status"] == 404


def test_st01_shipped_true_ships_the_order_and_bad_orders_are_reported() -> None:
    emu = emulator(Clock())
    oid = _shipping_order(emu)
    r = call(
        emu,
        "POST",
        "/api/shipments",
        json={
            "shipments": [
                {
                    "order_id": oid,
                    "shipment_lines": [{"order_line_id": f"{oid}-1", "quantity": 1}],
                    "shipped": True,
                    "tracking": {"carrier_code": "DHL", "tracking_number": "9"},
                },
                {"order_id": "NOPE-A", "shipment_lines": [{"order_line_id": "x", "quantity": 1}]},
            ]
        },
    )
    assert r.status_code == 201
    assert [e["order_id"] for e in r.json()["shipment_errors"]] == ["NOPE-A"]
    assert order(emu, oid)["order_state"] == "SHIPPED"


def test_refund_progresses_to_refunded_and_cancel_rules() -> None:
    clock = Clock()
    emu = emulator(clock)
    oid = _shipping_order(emu)
    call(emu, "PUT", f"/api/orders/{oid}/ship")
    r = call(
        emu,
        "PUT",
        "/api/orders/refund",
        json={
            "refunds": [
                {
                    "order_line_id": f"{oid}-1",
                    "amount": 5.0,
                    "shipping_amount": 0,
                    "reason_code": "15",
                }
            ]
        },
    )
    assert r.status_code == 200
    line = order(emu, oid)["order_lines"][0]
    assert (
        line["order_line_state"] == "SHIPPED"
        and line["refunds"][0]["refund_state"] == "WAITING_REFUND"
    )
    clock.now += 10
    assert order(emu, oid)["order_lines"][0]["refunds"][0]["refund_state"] == "REFUNDED"
    too_much = call(
        emu,
        "PUT",
        "/api/orders/refund",
        json={
            "refunds": [
                {
                    "order_line_id": f"{oid}-1",
                    "amount": 50.0,
                    "shipping_amount": 0,
                    "reason_code": "15",
                }
            ]
        },
    )
    assert too_much.status_code == 400
    bad_reason = call(
        emu,
        "PUT",
        "/api/orders/refund",
        json={
            "refunds": [
                {
                    "order_line_id": f"{oid}-1",
                    "amount": 1.0,
                    "shipping_amount": 0,
                    "reason_code": "34",
                }
            ]
        },
    )
    assert bad_reason.status_code == 400
    assert call(emu, "PUT", f"/api/orders/{oid}/cancel").status_code == 400


def test_or29_cancels_and_restocks() -> None:
    emu = emulator(Clock())
    oid = _shipping_order(emu)
    assert call(emu, "PUT", f"/api/orders/{oid}/cancel").status_code == 204
    assert order(emu, oid)["order_state"] == "CANCELED"
    assert emu.market("debenhams").offers["SKU-01"].quantity == 5


def test_addresses_withheld_before_acceptance_when_configured() -> None:
    emu = emulator(Clock(), addresses_before_acceptance=False)
    oid = emu.place_order("debenhams", lines=[("SKU-01", 1)])
    assert order(emu, oid)["customer"]["shipping_address"] is None
    accept(emu, oid, True)
    assert order(emu, oid)["customer"]["shipping_address"]["country_iso_code"] == "GBR"


# ---- imports and exports ---------------------------------------------------------------------


def csv_bytes(rows: list[list[str]]) -> bytes:
    return "\n".join(";".join(f'"{c}"' for c in r) for r in rows).encode()


def test_of01_replace_deletes_offers_not_in_the_file() -> None:
    clock = Clock()
    emu = emulator(clock)
    file = csv_bytes(
        [
            ["sku", "product-id", "product-id-type", "price", "quantity", "state"],
            ["SKU-01", "5000000000001", "EAN", "12.50", "9", "11"],
        ]
    )
    r = call(
        emu,
        "POST",
        "/api/offers/imports",
        data={"import_mode": "REPLACE"},
        files={"file": ("o.csv", file, "text/csv")},
    )
    import_id = r.json()["import_id"]
    assert call(emu, "GET", f"/api/offers/imports/{import_id}").json()["status"] == "WAITING"
    clock.now += 1
    assert call(emu, "GET", f"/api/offers/imports/{import_id}").json()["status"] == "RUNNING"
    clock.now += 1
    status = call(emu, "GET", f"/api/offers/imports/{import_id}").json()
    assert status["status"] == "COMPLETE" and status["offer_deleted"] == 24
    assert call(emu, "GET", "/api/offers").json()["total_count"] == 1


def test_of01_without_required_column_fails() -> None:
    clock = Clock()
    emu = emulator(clock)
    r = call(
        emu,
        "POST",
        "/api/offers/imports",
        data={"import_mode": "NORMAL"},
        files={"file": ("o.csv", csv_bytes([["price"], ["1"]]), "text/csv")},
    )
    clock.now += 2
    status = call(emu, "GET", f"/api/offers/imports/{r.json()['import_id']}").json()
    assert status["status"] == "FAILED" and "sku" in status["reason_status"]


def test_of24_is_full_replacement() -> None:
    clock = Clock()
    emu = emulator(clock)
    call(
        emu,
        "POST",
        "/api/offers",
        json={
            "offers": [
                {"shop_sku": "SKU-03", "price": 20.0, "state_code": "11", "update_delete": "update"}
            ]
        },
    )
    clock.now += 2
    emu.tick()
    offer = emu.market("debenhams").offers["SKU-03"]
    assert offer.price == 20.0 and offer.quantity == 0  # quantity not sent -> reset to 0


def test_pri01_deletes_prices_not_resubmitted() -> None:
    clock = Clock()
    emu = emulator(clock)
    emu.market("debenhams").offers["SKU-04"].discount_price = 9.0
    call(
        emu,
        "POST",
        "/api/offers/pricing/imports",
        files={
            "file": ("p.csv", csv_bytes([["offer-sku", "price"], ["SKU-04", "15.00"]]), "text/csv")
        },
    )
    clock.now += 2
    emu.tick()
    offer = emu.market("debenhams").offers["SKU-04"]
    assert offer.price == 15.0 and offer.discount_price is None


def test_of52_differential_export_only_has_changed_offers() -> None:
    clock = Clock()
    emu = emulator(clock)
    clock.now += 100
    since = "2026-01-01T00:01:00Z"
    emu.place_order("debenhams", lines=[("SKU-07", 1)])
    r = call(
        emu,
        "POST",
        "/api/offers/export/async",
        json={"export_type": "application/json", "last_request_date": since},
    )
    clock.now += 2
    status = call(emu, "GET", f"/api/offers/export/async/status/{r.json()['tracking_id']}").json()
    path = status["urls"][0].split("/debenhams", 1)[1]
    rows = call(emu, "GET", path, key=None).json()
    assert [row["shop_sku"] for row in rows] == ["SKU-07"] and rows[0]["quantity"] == 4
    csv_export = call(emu, "POST", "/api/offers/export/async", json={})
    clock.now += 2
    status = call(emu, "GET", f"/api/offers/export/async/status/{csv_export.json()['tracking_id']}")
    text = call(emu, "GET", status.json()["urls"][0].split("/debenhams", 1)[1], key=None).text
    assert text.splitlines()[0].startswith('"offer-id";"product-sku";"shop-sku"')
    assert len(text.splitlines()) == 26


# ---- traffic ---------------------------------------------------------------------------------


def test_traffic_generator_is_deterministic_and_uses_stock() -> None:
    runs = []
    for _ in range(2):
        emu = emulator(Clock())
        traffic = emu.traffic_generator(orders_per_hour=120, rng_seed=5)
        delays = [traffic.next_delay() for _ in range(3)]
        placed = [traffic.place_one() for _ in range(10)]
        runs.append((delays, placed))
        assert all(p is not None for p in placed)
        body = call(emu, "GET", "/api/orders", params={"max": 100}).json()
        assert body["total_count"] == sum(1 for p in placed if p and p[0] == "debenhams")
    assert runs[0] == runs[1]
    assert sum(runs[0][0]) / 3 < 600  # 120/h means a mean gap of 30 s
