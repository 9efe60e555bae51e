from __future__ import annotations

import pytest

from mirakl_sync.adapters.shopify.cost import (
    CostBucket,
    QueryCost,
    ShopifyPacing,
    ThrottleStatus,
    parse_cost,
    seconds_until_available,
)


def test_parse_cost_reads_shopifys_extensions() -> None:
    cost = parse_cost(
        {
            "cost": {
                "requestedQueryCost": 52,
                "actualQueryCost": 12,
                "throttleStatus": {
                    "maximumAvailable": 2000.0,
                    "currentlyAvailable": 1988.0,
                    "restoreRate": 100.0,
                },
            }
        }
    )
    assert cost is not None
    assert cost.requested == 52
    assert cost.actual == 12
    assert cost.throttle == ThrottleStatus(2000.0, 1988.0, 100.0)


def test_parse_cost_of_a_throttled_answer_has_no_actual_cost() -> None:
    cost = parse_cost(
        {
            "cost": {
                "requestedQueryCost": 300,
                "actualQueryCost": None,
                "throttleStatus": {
                    "maximumAvailable": 1000,
                    "currentlyAvailable": 100,
                    "restoreRate": 50,
                },
            }
        }
    )
    assert cost is not None and cost.actual is None
    assert cost.throttle is not None
    assert seconds_until_available(cost.throttle, cost.requested) == pytest.approx(4.0)


@pytest.mark.parametrize("extensions", [None, {}, {"cost": "x"}, "text"])
def test_parse_cost_without_cost_is_none(extensions: object) -> None:
    assert parse_cost(extensions) is None


def test_bucket_refills_at_the_restore_rate_up_to_the_maximum() -> None:
    bucket = CostBucket()
    assert bucket.wait_for(500, now=0.0) == 0.0  # nothing known yet: do not wait
    bucket.observe(ThrottleStatus(1000, 100, 50), now=10.0)
    assert bucket.available(10.0) == 100
    assert bucket.available(12.0) == 200
    assert bucket.available(1000.0) == 1000
    assert bucket.wait_for(300, now=10.0) == pytest.approx(4.0)
    assert bucket.wait_for(50, now=10.0) == 0.0


def test_spending_makes_the_next_query_wait() -> None:
    bucket = CostBucket()
    bucket.observe(ThrottleStatus(1000, 400, 100), now=0.0)
    bucket.spend(300, now=0.0)
    assert bucket.available(0.0) == 100
    assert bucket.wait_for(300, now=0.0) == pytest.approx(2.0)


def test_shared_pacing_queues_concurrent_callers_behind_each_other() -> None:
    from mirakl_sync.adapters.shopify.cost import QueryCost, ShopifyPacing, ThrottleStatus

    pacing = ShopifyPacing()
    # Nothing known yet: the first call goes at once and teaches the cost.
    assert pacing.reserve("OrderCreateRef", now=0.0) == 0.0
    pacing.observe(
        "OrderCreateRef",
        QueryCost(requested=100.0, actual=10.0, throttle=ThrottleStatus(200.0, 150.0, 50.0)),
        now=0.0,
    )
    # 150 points left: one 100-point call fits now, the next waits for 50 more (1 s),
    # the one after for 150 more (3 s), as if each had been sent in turn.
    assert [pacing.reserve("OrderCreateRef", now=0.0) for _ in range(3)] == [0.0, 1.0, 3.0]


def _pacing_with(available: float) -> ShopifyPacing:
    """A pacing that knows a 2000-point bucket (100/s) holding ``available`` points, and
    that the stock page costs 400 and an order create 20."""
    pacing = ShopifyPacing()
    for document, cost in (("VariantStockPage", 400.0), ("OrderCreateRef", 20.0)):
        pacing.observe(
            document,
            QueryCost(requested=cost, actual=cost, throttle=ThrottleStatus(2000, available, 100)),
            now=0.0,
        )
    return pacing


def test_background_work_leaves_a_quarter_of_the_bucket_to_urgent_work() -> None:
    # 900 points: a 400-point page would leave 500, the reserve (25% of 2000): it goes.
    pacing = _pacing_with(900.0)
    assert pacing.reserve("VariantStockPage", now=0.0, background=True) == 0.0
    # 500 left: another page would dip into the reserve. It waits 4 s (until 900) and
    # spends nothing meanwhile, so an order create still goes at once.
    assert pacing.reserve("VariantStockPage", now=0.0, background=True) == 4.0
    assert pacing.reserve("OrderCreateRef", now=0.0) == 0.0
    assert pacing.bucket.available(0.0) == 480.0


def test_urgent_work_spends_even_when_it_must_wait() -> None:
    pacing = _pacing_with(10.0)
    # 10 points: the create waits 0.1 s but takes its 20 points now, so the caller after
    # it queues behind it (0.3 s), and background waits for both plus the reserve.
    assert pacing.reserve("OrderCreateRef", now=0.0) == pytest.approx(0.1)
    assert pacing.reserve("OrderCreateRef", now=0.0) == pytest.approx(0.3)
    assert pacing.reserve("VariantStockPage", now=0.0, background=True) == pytest.approx(9.3)
