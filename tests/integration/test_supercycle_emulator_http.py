"""The emulator's HTTP contract: auth, error bodies, 429, paging validation."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from mirakl_sync.sandbox.seed import build_catalogue
from mirakl_sync.sandbox.supercycle import SupercycleEmulator

START = 1_750_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def call(
    emulator: SupercycleEmulator,
    method: str,
    path: str,
    *,
    key: str | None = "sandbox-supercycle-key",
    **kwargs: Any,
) -> httpx.Response:
    async def go() -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        transport = httpx.ASGITransport(app=emulator.asgi_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://sc.test") as http:
            return await http.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    return asyncio.run(go())


def make(clock: Clock, **limits: Any) -> SupercycleEmulator:
    emulator = SupercycleEmulator(clock=clock, **limits)
    emulator.load_catalogue(build_catalogue(products=40))
    return emulator


def test_missing_or_wrong_key_is_401_with_errors_body() -> None:
    emulator = make(Clock())
    for key in (None, "nope"):
        response = call(emulator, "GET", "/items", key=key)
        assert response.status_code == 401
        assert isinstance(response.json()["errors"], list) and response.json()["errors"]


def test_limits_answer_429_with_retry_after_until_the_window_moves() -> None:
    clock = Clock()
    emulator = make(clock, rate_limit_per_minute=2, timelines_per_minute=1)
    assert [call(emulator, "GET", "/items?limit=1").status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    refused = call(emulator, "GET", "/items?limit=1")
    assert refused.headers["Retry-After"] == "60"
    assert "errors" in refused.json()
    clock.now += 30
    assert call(emulator, "GET", "/items?limit=1").headers["Retry-After"] == "30"
    clock.now += 30
    assert call(emulator, "GET", "/items?limit=1").status_code == 200

    clock.now += 120
    variant = next(iter(emulator.state.variants))
    timeline = f"/availability_timelines?variant_shopify_id={variant}"
    assert call(emulator, "GET", timeline).status_code == 200
    assert call(emulator, "GET", timeline).status_code == 429  # 1/min for timelines
    assert call(emulator, "GET", "/items?limit=1").status_code == 200  # others still fine


def test_paging_validation() -> None:
    emulator = make(Clock(), rate_limit_per_minute=None)
    assert call(emulator, "GET", "/items?limit=0").status_code == 400
    assert call(emulator, "GET", "/items?limit=101").status_code == 400
    assert call(emulator, "GET", "/items?page=garbage").status_code == 400
    default = call(emulator, "GET", "/items").json()
    assert len(default["data"]) == min(50, len(emulator.state.items))
    assert call(emulator, "GET", "/items?updated[gte]=yesterday").status_code == 400


def test_unknown_routes_and_ids_answer_json_errors() -> None:
    emulator = make(Clock(), rate_limit_per_minute=None)
    for path in ("/items/1", "/rentals/1", "/return_orders/1", "/blocked_dates/1"):
        response = call(emulator, "GET", path)
        assert response.status_code == 404 and response.json()["errors"]
    response = call(emulator, "GET", "/nothing-here")
    assert response.status_code == 404 and response.json()["errors"]


def test_invalid_update_is_422_and_changes_nothing() -> None:
    emulator = make(Clock(), rate_limit_per_minute=None)
    item_id = min(emulator.state.items)
    before = call(emulator, "GET", f"/items/{item_id}").json()
    response = call(emulator, "PUT", f"/items/{item_id}", json={"status": "ready", "serial": "X"})
    assert response.status_code == 422
    assert "status must be one of" in response.json()["errors"][0]
    assert call(emulator, "GET", f"/items/{item_id}").json() == before
