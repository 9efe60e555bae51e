"""The pieces every read-side view shares: global ids, money sets, Relay connections and
paging, and the ``View`` base class.

graphql-core's default resolver reads an attribute named like the field and, if it is a
method, calls it with ``(info, **arguments)``; so each view is a small class with
properties for plain fields and methods for fields that take arguments. A field the
emulator does not implement resolves to ``None`` (an error for non-null fields): honest
rather than invented.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeVar

from graphql import GraphQLError

from mirakl_sync.sandbox.shopify.state import ShopData

MAX_PAGE = 250
T = TypeVar("T")


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def parse_gid(value: str, kind: str) -> int | None:
    prefix = f"gid://shopify/{kind}/"
    if not isinstance(value, str) or not value.startswith(prefix):
        return None
    tail = value[len(prefix) :].split("?", 1)[0]
    return int(tail) if tail.isdigit() else None


def money(amount: Decimal, currency: str) -> dict[str, Any]:
    value = {"amount": str(amount.quantize(Decimal("0.01"))), "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": dict(value)}


def _cursor(key: int) -> str:
    return base64.b64encode(f"cursor:{key}".encode()).decode()


def _cursor_key(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode()).decode()
        return int(text.removeprefix("cursor:"))
    except (ValueError, UnicodeDecodeError):
        raise GraphQLError(f"Invalid cursor: {cursor!r}") from None


def connection(
    items: Sequence[tuple[int, Any]],
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool = False,
    **_: Any,
) -> dict[str, Any]:
    """A Relay connection over ``(key, node)`` pairs sorted by key."""
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    for size in (first, last):
        if size is not None and not 0 <= size <= MAX_PAGE:
            raise GraphQLError(f"The first and last arguments must be between 0 and {MAX_PAGE}")
    ordered = sorted(items, key=lambda pair: pair[0], reverse=reverse)
    if after is not None:
        key = _cursor_key(after)
        ordered = [p for p in ordered if (p[0] < key if reverse else p[0] > key)]
    if before is not None:
        key = _cursor_key(before)
        ordered = [p for p in ordered if (p[0] > key if reverse else p[0] < key)]
    has_next = has_previous = False
    if first is not None and len(ordered) > first:
        ordered, has_next = ordered[:first], True
    if last is not None and len(ordered) > last:
        ordered, has_previous = ordered[-last:], True
    edges = [{"cursor": _cursor(k), "node": node} for k, node in ordered]
    return {
        "edges": edges,
        "nodes": [node for _, node in ordered],
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous or after is not None,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _limit(items: list[T], first: int | None) -> list[T]:
    return items[:first] if first is not None else items


class View:
    typename = ""

    def __init__(self, data: ShopData) -> None:
        self.data = data


def _paging(args: dict[str, Any]) -> dict[str, Any]:
    """Keep the paging arguments; the others (``includeInactive``, ...) do not filter here."""
    return {k: args[k] for k in ("first", "after", "last", "before", "reverse") if k in args}
