"""Supercycle models (tolerant parsing) and HTTP error translation."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest

from mirakl_sync.adapters.supercycle.errors import error_messages, translate
from mirakl_sync.adapters.supercycle.models import BlockedDate, Item, Page, TimeFilter
from mirakl_sync.domain.item_availability import BlockScope
from mirakl_sync.errors import (
    AuthenticationError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RetryableError,
)

NOW = 1_750_000_000.0


def response(
    status: int, body: object = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    request = httpx.Request("PUT", "https://app.supercycle.com/api/v1/items/7")
    if body is None:
        return httpx.Response(status, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


def test_item_tolerates_new_enum_values_and_unknown_fields() -> None:
    item = Item.model_validate(
        {
            "id": 7,
            "visibility": "archived",  # not a value documented today
            "status": "quarantined",
            "brandNewField": {"x": 1},
            "activeRentalId": 12,
            "shopifyVariantId": 45,
            "createdAt": "2023-11-07T05:31:56Z",
        }
    )
    assert (item.visibility, item.status) == ("archived", "quarantined")
    assert item.created_at == datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)
    assert item.facts().has_active_rental is True
    assert item.facts().shopify_variant_id == 45


def test_page_parses_data_and_cursor() -> None:
    page = Page[Item].model_validate(
        {"data": [{"id": 1, "visibility": "sold", "status": "processed"}], "nextPage": "abc"}
    )
    assert [i.id for i in page.data] == [1] and page.next_page == "abc"


@pytest.mark.parametrize(
    ("resource_type", "resource", "expected"),
    [
        ("Item", {"id": 5}, (BlockScope.ITEM, 5)),
        ("Shopify::Variant", {"id": 9, "shopifyVariantId": 45}, (BlockScope.VARIANT, 45)),
        ("Shopify::Variant", None, (BlockScope.VARIANT, 5)),
        ("Shopify::Product", {"shopifyProductId": 80}, (BlockScope.PRODUCT, 80)),
    ],
)
def test_blocked_date_maps_to_the_rule(
    resource_type: str, resource: dict[str, int] | None, expected: tuple[BlockScope, int]
) -> None:
    block = BlockedDate.model_validate(
        {
            "id": 1,
            "resourceType": resource_type,
            "resourceId": 5,
            "from": None,
            "to": "2025-06-20",
            "resource": resource,
        }
    )
    result = block.blocked_range()
    assert result is not None
    assert (result.scope, result.target_id) == expected
    assert result.days.first is None and result.days.last == date(2025, 6, 20)


def test_blocked_date_of_unknown_type_is_ignored_by_the_rule() -> None:
    block = BlockedDate.model_validate({"id": 1, "resourceType": "Location", "resourceId": 5})
    assert block.blocked_range() is None


def test_time_filter_uses_bracket_operators() -> None:
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert TimeFilter(gte=moment, lt=moment).to_params("updated") == {
        "updated[gte]": "2025-01-02T03:04:05Z",
        "updated[lt]": "2025-01-02T03:04:05Z",
    }


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (422, PermanentError),
        (400, PermanentError),
        (429, RateLimitedError),
        (500, RetryableError),
        (503, RetryableError),
    ],
)
def test_status_translation(status: int, error_type: type[Exception]) -> None:
    error = translate(response(status, {"errors": ["first", "second"]}), now=NOW)
    assert type(error) is error_type
    assert "first; second" in str(error)


def test_error_messages_from_various_bodies() -> None:
    assert error_messages(response(422, {"errors": ["a", "b"]})) == ["a", "b"]
    assert error_messages(response(422, {"errors": "only one"})) == ["only one"]
    assert error_messages(response(422, {"message": "m"})) == ["m"]
    assert error_messages(response(422)) == []
    text = httpx.Response(
        502, text="<html>bad gateway</html>", request=httpx.Request("GET", "http://x")
    )
    assert error_messages(text) == ["<html>bad gateway</html>"]


def test_rate_limited_error_carries_retry_after() -> None:
    error = translate(response(429, {"errors": ["slow down"]}, {"Retry-After": "12"}), now=NOW)
    assert isinstance(error, RateLimitedError) and error.retry_after == 12.0
