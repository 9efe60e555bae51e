"""``Retry-After`` is read one way by every client (Mirakl, Shopify, Supercycle)."""

from __future__ import annotations

import httpx
import pytest

from mirakl_sync.adapters.retry_after import retry_after_seconds

NOW = 1_750_000_000.0


def _answer(header: str | None) -> httpx.Response:
    headers = {} if header is None else {"Retry-After": header}
    return httpx.Response(429, headers=headers, request=httpx.Request("GET", "http://x"))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("30", 30.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-5", 0.0),  # never a negative wait
        ("Sun, 15 Jun 2025 15:07:40 GMT", 60.0),  # NOW + 60 s as an HTTP date
        ("Sun, 15 Jun 2025 15:05:40 GMT", 0.0),  # a date already past
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_parsing(header: str | None, expected: float | None) -> None:
    assert retry_after_seconds(_answer(header), NOW) == expected
