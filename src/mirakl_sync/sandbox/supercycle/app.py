"""The emulator's ASGI app: Supercycle's Admin API under ``/api/v1``.

Routes match on the path below the app's mount point (Starlette strips ``root_path``),
so the sandbox can mount it at ``/supercycle`` and clients use
``http://host:port/supercycle/api/v1`` as their base URL.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mirakl_sync.sandbox.supercycle.limits import SlidingWindowLimit
from mirakl_sync.sandbox.supercycle.records import EmulatorError
from mirakl_sync.sandbox.supercycle.serialize import (
    blocked_date_json,
    item_json,
    rental_json,
    return_order_json,
)
from mirakl_sync.sandbox.supercycle.state import SupercycleState


class ServedEmulator(Protocol):
    """What the HTTP app serves (``SupercycleEmulator`` is one): the facade builds the app,
    and the app never imports it back."""

    state: SupercycleState
    api_key: str
    request_limit: SlidingWindowLimit
    timelines_limit: SlidingWindowLimit


Handler = Callable[[Request], Awaitable[tuple[int, Any]]]
R = TypeVar("R")
PREFIX = "/api/v1"
DEFAULT_LIMIT, MAX_LIMIT = 50, 100


def errors(status: int, *messages: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"errors": list(messages)}, status_code=status, headers=headers)


def build_app(emulator: ServedEmulator) -> Starlette:
    state = emulator.state

    def endpoint(
        handler: Handler, *, timelines: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            auth = request.headers.get("authorization", "")
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or token.strip() != emulator.api_key:
                return errors(401, "Unauthorized: send 'Authorization: Bearer <API key>'")
            wait = emulator.timelines_limit.retry_after(token) if timelines else None
            if wait is None:
                wait = emulator.request_limit.retry_after(token)
            if wait is not None:
                return errors(
                    429, "Too many requests, retry later", headers={"Retry-After": str(wait)}
                )
            try:
                status, payload = await handler(request)
            except EmulatorError as exc:
                return errors(exc.status, *exc.messages)
            return JSONResponse(payload, status_code=status)

        return run

    async def list_items(request: Request) -> tuple[int, Any]:
        q = request.query_params
        rows = sorted(state.items.values(), key=lambda i: i.id)
        if q.get("sku"):
            rows = [i for i in rows if state.variants[i.shopify_variant_id].sku == q["sku"]]
        if q.get("serial"):
            rows = [i for i in rows if i.serial == q["serial"]]
        if q.get("query"):
            needle = q["query"].lower()
            rows = [i for i in rows if needle in _haystack(state, i.id)]
        if q.get("visibility"):
            rows = [i for i in rows if i.visibility == q["visibility"]]
        if _flag(q.get("withActiveRental")):
            rows = [i for i in rows if state.active_rental(i.id) is not None]
        rows = _time_filtered(rows, q, "updated", lambda i: i.updated_at)
        rows = _time_filtered(rows, q, "created", lambda i: i.created_at)
        return 200, _page(q, rows, lambda i: i.id, lambda i: item_json(state, i))

    async def create_items(request: Request) -> tuple[int, Any]:
        body = await _body(request)
        variant_id = _required_int(body, "shopifyVariantId")
        visibility = body.get("visibility")
        if visibility is None:
            raise EmulatorError(422, "visibility is required")
        serials = list(body.get("serials") or [])
        quantity = int(body.get("quantity") or max(1, len(serials)))
        if not 1 <= quantity <= 100:
            raise EmulatorError(422, "quantity must be between 1 and 100")
        created = [
            state.add_item(
                shopify_variant_id=variant_id,
                visibility=visibility,
                serial=serials[n] if n < len(serials) else None,
                condition_id=body.get("conditionId"),
                location_shopify_id=body.get("locationShopifyId"),
                pick_location=body.get("pickLocation"),
            )
            for n in range(quantity)
        ]
        return 200, [item_json(state, item) for item in created]

    async def get_item(request: Request) -> tuple[int, Any]:
        return 200, item_json(state, state.item(request.path_params["item_id"]))

    async def update_item(request: Request) -> tuple[int, Any]:
        item = state.update_item(request.path_params["item_id"], await _body(request))
        return 200, item_json(state, item)

    async def list_rentals(request: Request) -> tuple[int, Any]:
        q = request.query_params
        rows = sorted(state.rentals.values(), key=lambda r: r.id)
        if q.get("shopifyOrderId"):
            rows = [r for r in rows if str(r.shopify_order_id) == q["shopifyOrderId"]]
        if q.get("itemId"):
            rows = [r for r in rows if str(r.item_id) == q["itemId"]]
        if q.get("shopifyVariantId"):
            wanted = q["shopifyVariantId"]
            rows = [r for r in rows if str(state.items[r.item_id].shopify_variant_id) == wanted]
        if _flag(q.get("unfulfilled")):
            rows = [r for r in rows if r.status in ("scheduled", "unfulfilled")]
        if q.get("status"):
            rows = [r for r in rows if r.status == q["status"]]
        rows = _time_filtered(rows, q, "updated", lambda r: r.updated_at)
        rows = _time_filtered(rows, q, "created", lambda r: r.created_at)
        rows = _time_filtered(rows, q, "rentalStart", lambda r: r.rental_start)
        return 200, _page(q, rows, lambda r: r.id, lambda r: rental_json(state, r))

    async def get_rental(request: Request) -> tuple[int, Any]:
        return 200, rental_json(state, state.rental(request.path_params["rental_id"]))

    async def update_rental(request: Request) -> tuple[int, Any]:
        rental = state.update_rental(request.path_params["rental_id"], await _body(request))
        return 200, rental_json(state, rental)

    async def list_returns(request: Request) -> tuple[int, Any]:
        q = request.query_params
        rows = sorted(state.returns.values(), key=lambda r: r.id)
        return 200, _page(q, rows, lambda r: r.id, lambda r: return_order_json(state, r))

    async def create_return(request: Request) -> tuple[int, Any]:
        body = await _body(request)
        data = body.get("data") or []
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise EmulatorError(400, "Invalid request body")
        rental_ids = [_required_int(d, "rentalId") for d in data]
        statuses = {_required_int(d, "rentalId"): d["status"] for d in data if d.get("status")}
        orders, problems = state.create_return(
            rental_ids,
            serials=[str(s) for s in body.get("serials") or []],
            line_statuses=statuses,
            return_method=body.get("returnMethodAttributes"),
        )
        payload = {
            "errors": problems,
            "returnOrders": [return_order_json(state, o) for o in orders],
        }
        # Nothing created at all is a client error; a partial success is a 200 with errors.
        return (200 if orders else 422), payload

    async def get_return(request: Request) -> tuple[int, Any]:
        order = state.return_order(request.path_params["return_id"])
        return 200, return_order_json(state, order)

    async def update_return(request: Request) -> tuple[int, Any]:
        order = state.update_return(request.path_params["return_id"], await _body(request))
        return 200, return_order_json(state, order)

    async def availability_timeline(request: Request) -> tuple[int, Any]:
        q = request.query_params
        if not q.get("variant_shopify_id"):
            raise EmulatorError(400, "variant_shopify_id is required")
        method = q.get("delivery_method_type", "shipping")
        if method not in ("shipping", "pick_up"):
            raise EmulatorError(400, "delivery_method_type must be shipping or pick_up")
        location = q.get("location_id")
        return 200, state.availability_timeline(
            _int_param("variant_shopify_id", q["variant_shopify_id"]),
            location_id=_int_param("location_id", location) if location else None,
        )

    async def list_blocked(request: Request) -> tuple[int, Any]:
        q = request.query_params
        rows = sorted(state.blocked_dates.values(), key=lambda b: b.id)
        if q.get("resourceType"):
            kinds = set(q["resourceType"].split(","))
            rows = [b for b in rows if b.resource_type in kinds]
        for param, kind in (
            ("itemId", "Item"),
            ("shopifyVariantId", "Shopify::Variant"),
            ("shopifyProductId", "Shopify::Product"),
        ):
            if q.get(param):
                rows = [
                    b for b in rows if b.resource_type == kind and str(b.resource_id) == q[param]
                ]
        if q.get("activeFrom"):
            start = _date_param("activeFrom", q["activeFrom"])
            rows = [b for b in rows if b.last is None or b.last >= start]
        if q.get("activeTo"):
            end = _date_param("activeTo", q["activeTo"])
            rows = [b for b in rows if b.first is None or b.first <= end]
        rows = _time_filtered(rows, q, "updated", lambda b: b.updated_at)
        rows = _time_filtered(rows, q, "created", lambda b: b.created_at)
        return 200, _page(q, rows, lambda b: b.id, lambda b: blocked_date_json(state, b))

    async def get_blocked(request: Request) -> tuple[int, Any]:
        block = state.blocked_date(request.path_params["blocked_id"])
        return 200, blocked_date_json(state, block)

    async def create_blocked(request: Request) -> tuple[int, Any]:
        body = await _body(request)
        if not body.get("resourceType"):
            raise EmulatorError(422, "resourceType is required")
        block = state.create_blocked_date(
            str(body["resourceType"]),
            _required_int(body, "resourceId"),
            _date_param("from", body["from"]) if body.get("from") else None,
            _date_param("to", body["to"]) if body.get("to") else None,
            body.get("description"),
        )
        return 201, blocked_date_json(state, block)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return errors(status, f"{request.method} {request.url.path}: {status}")

    routes = [
        Route(f"{PREFIX}/items", endpoint(list_items), methods=["GET"]),
        Route(f"{PREFIX}/items", endpoint(create_items), methods=["POST"]),
        Route(f"{PREFIX}/items/{{item_id:int}}", endpoint(get_item), methods=["GET"]),
        Route(f"{PREFIX}/items/{{item_id:int}}", endpoint(update_item), methods=["PUT"]),
        Route(f"{PREFIX}/rentals", endpoint(list_rentals), methods=["GET"]),
        Route(f"{PREFIX}/rentals/{{rental_id:int}}", endpoint(get_rental), methods=["GET"]),
        Route(f"{PREFIX}/rentals/{{rental_id:int}}", endpoint(update_rental), methods=["PUT"]),
        Route(f"{PREFIX}/return_orders", endpoint(list_returns), methods=["GET"]),
        Route(f"{PREFIX}/return_orders", endpoint(create_return), methods=["POST"]),
        Route(f"{PREFIX}/return_orders/{{return_id:int}}", endpoint(get_return), methods=["GET"]),
        Route(
            f"{PREFIX}/return_orders/{{return_id:int}}", endpoint(update_return), methods=["PUT"]
        ),
        Route(
            f"{PREFIX}/availability_timelines",
            endpoint(availability_timeline, timelines=True),
            methods=["GET"],
        ),
        Route(f"{PREFIX}/blocked_dates", endpoint(list_blocked), methods=["GET"]),
        Route(f"{PREFIX}/blocked_dates", endpoint(create_blocked), methods=["POST"]),
        Route(f"{PREFIX}/blocked_dates/{{blocked_id:int}}", endpoint(get_blocked), methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: not_found})


# --- request helpers ------------------------------------------------------------------


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise EmulatorError(400, "Invalid request body: not JSON") from None
    if not isinstance(body, dict):
        raise EmulatorError(400, "Invalid request body: expected a JSON object")
    return body


def _flag(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1")


def _int_param(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise EmulatorError(400, f"{name} must be an integer") from None


def _required_int(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise EmulatorError(422, f"{name} is required and must be an integer")
    try:
        return int(value)
    except ValueError:
        raise EmulatorError(422, f"{name} must be an integer") from None


def _date_param(name: str, value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise EmulatorError(400, f"{name} must be a date (YYYY-MM-DD)") from None


def _time_filtered(
    rows: list[R], query: Mapping[str, str], name: str, when: Callable[[R], datetime | None]
) -> list[R]:
    """Apply ``name[gt|gte|lt|lte]=ISO 8601`` bounds (combined with AND)."""
    for op in ("gt", "gte", "lt", "lte"):
        raw = query.get(f"{name}[{op}]")
        if raw is None:
            continue
        try:
            bound = datetime.fromisoformat(raw.replace(" ", "+"))
        except ValueError:
            raise EmulatorError(400, f"{name}[{op}] must be an ISO 8601 date-time") from None
        if bound.tzinfo is None:
            raise EmulatorError(400, f"{name}[{op}] needs a timezone (e.g. Z)")
        rows = [r for r in rows if (t := when(r)) is not None and _compare(op, t, bound)]
    return rows


def _compare(op: str, value: datetime, bound: datetime) -> bool:
    if op == "gt":
        return value > bound
    if op == "gte":
        return value >= bound
    if op == "lt":
        return value < bound
    return value <= bound


def _page(
    query: Mapping[str, str],
    rows: list[R],
    key: Callable[[R], int],
    render: Callable[[R], dict[str, Any]],
) -> dict[str, Any]:
    """One ``{data, nextPage}`` page; the cursor is the last id served (stable under writes)."""
    try:
        limit = int(query.get("limit", DEFAULT_LIMIT))
    except ValueError:
        raise EmulatorError(400, "limit must be an integer") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise EmulatorError(400, f"limit must be between 1 and {MAX_LIMIT}")
    after = _decode_cursor(query["page"]) if query.get("page") else None
    if after is not None:
        rows = [r for r in rows if key(r) > after]
    chunk = rows[:limit]
    more = len(rows) > limit
    next_page = _encode_cursor(key(chunk[-1])) if more and chunk else None
    return {"data": [render(r) for r in chunk], "nextPage": next_page}


def _encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = text.partition(":")
        if prefix != "after":
            raise ValueError(cursor)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise EmulatorError(400, "page is not a valid cursor") from None


def _haystack(state: SupercycleState, item_id: int) -> str:
    item = state.items[item_id]
    variant = state.variants[item.shopify_variant_id]
    return " ".join([variant.product_title, variant.title, variant.sku, item.serial or ""]).lower()
