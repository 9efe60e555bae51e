"""Mirakl's two pagination styles, walked generically.

- **Offset** (OR11, OF21, IV01): ``max`` (at most 100) and ``offset``; the answer carries
  ``total_count``. We walk until ``offset >= total_count`` or an empty page.
- **Seek** (OF04, PRI02, ST11, TL02, SBC11): ``limit`` and ``page_token``; the answer
  carries ``next_page_token`` (absent on the last page). Mirakl ignores every other
  parameter when ``page_token`` is given, so later pages send only the token.

``get_page(params, first)`` performs one call (``first`` tells the caller whether this is
the first page of the walk, which matters for the IV01/SBC11 "+ pages" call budgets).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from mirakl_sync.adapters.mirakl.errors import MiraklUnavailableError

PageFetcher = Callable[[dict[str, Any], bool], Awaitable[Mapping[str, Any]]]

OFFSET_MAX_PAGE = 100


async def walk_offset(
    get_page: PageFetcher,
    params: Mapping[str, Any],
    items_key: str,
    *,
    page_size: int = OFFSET_MAX_PAGE,
) -> AsyncIterator[Mapping[str, Any]]:
    """Yield every item of an offset-paged listing."""
    if not 1 <= page_size <= OFFSET_MAX_PAGE:
        raise ValueError(f"offset page size must be 1..{OFFSET_MAX_PAGE}, got {page_size}")
    offset = 0
    while True:
        page = await get_page({**params, "max": page_size, "offset": offset}, offset == 0)
        items = page.get(items_key) or []
        for item in items:
            yield item
        offset += len(items)
        total = page.get("total_count")
        if not items or total is None or offset >= int(total):
            return


async def walk_seek(
    get_page: PageFetcher,
    params: Mapping[str, Any],
    items_key: str = "data",
    *,
    page_size: int = 100,
    max_page_size: int = 100,
) -> AsyncIterator[Mapping[str, Any]]:
    """Yield every item of a seek-paged listing."""
    if not 1 <= page_size <= max_page_size:
        raise ValueError(f"seek page size must be 1..{max_page_size}, got {page_size}")
    query: dict[str, Any] = {**params, "limit": page_size}
    seen_tokens: set[str] = set()
    first = True
    while True:
        page = await get_page(query, first)
        first = False
        for item in page.get(items_key) or []:
            yield item
        token = page.get("next_page_token")
        if not token:
            return
        if token in seen_tokens:
            # A token seen before would loop for ever; stop and let the next run resume.
            raise MiraklUnavailableError(
                f"Mirakl returned the same next_page_token twice ({token!r}); try again later"
            )
        seen_tokens.add(token)
        query = {"page_token": token}
