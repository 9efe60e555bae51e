from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from mirakl_sync.sandbox.faults import FaultInjection, SlidingWindowLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_allows_limit_then_says_when() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(clock)
    assert limiter.acquire("k", 2, 60) == 0
    clock.now += 10
    assert limiter.acquire("k", 2, 60) == 0
    assert limiter.acquire("k", 2, 60) == pytest.approx(50)
    assert limiter.acquire("other", 2, 60) == 0  # keys are independent
    clock.now += 50
    assert limiter.acquire("k", 2, 60) == 0


def test_sliding_window_with_two_budgets_waits_for_the_tightest() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(clock)
    budgets = [(2, 60.0), (3, 3600.0)]
    for _ in range(2):
        assert limiter.check_all("k", budgets) == 0
    assert limiter.check_all("k", budgets) == pytest.approx(60)
    clock.now += 61
    assert limiter.check_all("k", budgets) == 0
    clock.now += 61
    assert limiter.check_all("k", budgets) == pytest.approx(3600 - 122)


def test_zero_period_is_unlimited() -> None:
    limiter = SlidingWindowLimiter(Clock())
    assert all(limiter.acquire("k", 1, 0) == 0 for _ in range(5))


def _app() -> Starlette:
    return Starlette(routes=[Route("/", lambda r: PlainTextResponse("ok"))])


def _get(app: object, n: int) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return [await c.get("/") for _ in range(n)]

    return asyncio.run(go())


def test_fault_injection_error_rate_one_always_fails_with_json() -> None:
    responses = _get(FaultInjection(_app(), error_rate=1.0, seed=1), 3)
    assert [r.status_code for r in responses] == [500, 500, 500]
    assert json.loads(responses[0].text)["status"] == 500


def test_fault_injection_is_deterministic_for_a_seed() -> None:
    first = [r.status_code for r in _get(FaultInjection(_app(), error_rate=0.5, seed=3), 20)]
    second = [r.status_code for r in _get(FaultInjection(_app(), error_rate=0.5, seed=3), 20)]
    assert first == second and {200, 500} == set(first)


def test_fault_injection_latency_and_timeouts_use_the_injected_sleep() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    app = FaultInjection(_app(), latency_ms=250, timeout_rate=1.0, timeout_seconds=900, sleep=sleep)
    assert _get(app, 1)[0].status_code == 200
    assert slept == [0.25, 900]


def test_rates_are_checked() -> None:
    with pytest.raises(ValueError, match="error_rate"):
        FaultInjection(_app(), error_rate=2)


def _counting_app() -> tuple[Starlette, list[str]]:
    """An app that records each request that reached it (method and body)."""
    landed: list[str] = []

    async def endpoint(request: Request) -> PlainTextResponse:
        landed.append(f"{request.method} {(await request.body()).decode()}")
        return PlainTextResponse("the real answer")

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)]), landed


def _send(app: object, requests: list[tuple[str, str, str]]) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return [await c.request(method, path, content=body) for method, path, body in requests]

    return asyncio.run(go())


def test_a_lost_reply_lands_the_write_then_answers_500() -> None:
    app, landed = _counting_app()
    faults = FaultInjection(app, lost_reply_rate=1.0, seed=1)
    responses = _send(faults, [("PUT", "/api/orders/1/accept", "{}"), ("POST", "/x", "data")])
    assert [r.status_code for r in responses] == [500, 500]
    assert "the real answer" not in responses[0].text
    assert landed == ["PUT {}", "POST data"]  # both writes reached the app and landed
    assert faults.lost_replies == 2


def test_reads_never_lose_their_reply_and_graphql_queries_are_reads() -> None:
    app, landed = _counting_app()
    faults = FaultInjection(app, lost_reply_rate=1.0, seed=1)
    graphql = "/admin/api/2026-10/graphql.json"
    query = json.dumps({"query": "  # a comment\n query Orders { orders { id } }"})
    mutation = json.dumps({"query": "mutation { orderCancel(orderId: 1) { job { id } } }"})
    shorthand = json.dumps({"query": "{ shop { name } }"})
    responses = _send(
        faults,
        [
            ("GET", "/api/orders", ""),
            ("POST", graphql, query),
            ("POST", graphql, shorthand),
            ("POST", graphql, mutation),
        ],
    )
    assert [r.status_code for r in responses] == [200, 200, 200, 500]
    assert len(landed) == 4 and faults.lost_replies == 1


def test_lost_replies_can_be_switched_off_at_run_time() -> None:
    app, landed = _counting_app()
    faults = FaultInjection(app, error_rate=1.0, timeout_rate=1.0, lost_reply_rate=1.0)
    faults.set_rates(error_rate=0.0, timeout_rate=0.0, lost_reply_rate=0.0)
    assert [r.status_code for r in _send(faults, [("PUT", "/a", "x")])] == [200]
    assert landed == ["PUT x"] and faults.lost_replies == 0
    with pytest.raises(ValueError, match="lost_reply_rate"):
        faults.set_rates(lost_reply_rate=1.5)


def test_a_seed_without_lost_replies_draws_as_before() -> None:
    """Adding the mode must not change the fault sequence of existing seeds."""
    before = [r.status_code for r in _get(FaultInjection(_app(), error_rate=0.5, seed=3), 20)]
    after = [
        r.status_code
        for r in _get(FaultInjection(_app(), error_rate=0.5, lost_reply_rate=0.0, seed=3), 20)
    ]
    assert before == after
