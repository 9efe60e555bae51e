"""The emulator's request plumbing: the parsed call, API errors, paging and replies."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.responses import JSONResponse, Response

from mirakl_sync.sandbox.mirakl.state import MarketState

T = TypeVar("T")


class ApiError(Exception):
    """Answered as ``{"status": <int>, "message": "..."}``, the body Mirakl is observed to send."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def response(self) -> Response:
        return JSONResponse(
            {"status": self.status, "message": self.message},
            status_code=self.status,
            headers=self.headers,
        )


@dataclass
class Settings:
    """The emulator's time rules, in seconds of its clock."""

    acceptance_window_seconds: float
    debit_delay_seconds: float
    import_processing_seconds: float
    export_processing_seconds: float
    refund_delay_seconds: float
    receive_delay_seconds: float | None
    close_delay_seconds: float | None
    billing_cycle_seconds: float | None


@dataclass
class Call:
    """One authenticated request to one marketplace, parsed before the lock is taken."""

    market: MarketState
    now: float
    settings: Settings
    base_url: str
    query: dict[str, list[str]] = field(default_factory=dict)
    path: dict[str, str] = field(default_factory=dict)
    body: Any = None
    form: dict[str, str] = field(default_factory=dict)
    file: bytes | None = None

    def q(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def q_list(self, name: str) -> list[str]:
        """A list parameter, repeated (``?p=a&p=b``) or comma-separated (``?p=a,b``)."""
        out: list[str] = []
        for value in self.query.get(name, []):
            out.extend(v.strip() for v in value.split(",") if v.strip())
        return out

    def q_bool(self, name: str) -> bool | None:
        value = self.q(name)
        if value is None:
            return None
        if value.lower() not in ("true", "false"):
            raise ApiError(400, f"Parameter {name} must be true or false, got {value!r}")
        return value.lower() == "true"

    def q_int(self, name: str, default: int) -> int:
        value = self.q(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise ApiError(400, f"Parameter {name} must be an integer, got {value!r}") from None

    def json_object(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise ApiError(400, "The request body must be a JSON object")
        return self.body


def json_reply(payload: Any, status: int = 200) -> Response:
    return JSONResponse(payload, status_code=status)


def no_content() -> Response:
    return Response(status_code=204)


#: General Notes: offset paging ``max`` defaults to 10 and may not exceed 100. Whether Mirakl
#: clamps or rejects a larger value is not documented; the emulator rejects it (400) so a
#: client that asks for more finds out in tests rather than silently getting fewer rows.
MAX_PAGE = 100


def offset_page(call: Call, items: Sequence[T]) -> tuple[list[T], int]:
    """Offset paging (``max``, ``offset``): the page and the total count."""
    size = call.q_int("max", 10)
    offset = call.q_int("offset", 0)
    if not 1 <= size <= MAX_PAGE:
        raise ApiError(400, f"Parameter max must be between 1 and {MAX_PAGE}, got {size}")
    if offset < 0:
        raise ApiError(400, f"Parameter offset must be positive, got {offset}")
    return list(items[offset : offset + size]), len(items)


def _encode_token(query: dict[str, list[str]], offset: int, limit: int) -> str:
    raw = json.dumps({"q": query, "o": offset, "l": limit}, sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[dict[str, list[str]], int, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        return dict(data["q"]), int(data["o"]), int(data["l"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(
            400, f"Invalid page_token {token!r}: pass a token from a previous page"
        ) from None


def seek_page(
    call: Call,
    select: Callable[[Call], Sequence[T]],
    *,
    max_limit: int = MAX_PAGE,
) -> tuple[list[T], dict[str, str]]:
    """Seek paging: ``limit`` + ``page_token``; with a token every other parameter is ignored.

    The token carries the original query, so ``select`` re-applies the first page's filters.
    Returns the page and the ``next_page_token`` / ``previous_page_token`` fields to merge.
    """
    token = call.q("page_token")
    if token:
        query, offset, limit = _decode_token(token)
        call.query = query
    else:
        query = {k: v for k, v in call.query.items() if k not in ("page_token", "shop_id")}
        limit = call.q_int("limit", 10)
        offset = 0
        if not 1 <= limit <= max_limit:
            raise ApiError(400, f"Parameter limit must be between 1 and {max_limit}, got {limit}")
    items = select(call)
    page = list(items[offset : offset + limit])
    tokens: dict[str, str] = {}
    if offset + limit < len(items):
        tokens["next_page_token"] = _encode_token(query, offset + limit, limit)
    if offset > 0:
        tokens["previous_page_token"] = _encode_token(query, max(offset - limit, 0), limit)
    return page, tokens
