"""Shopify webhook bodies: read a signed body into the payload a handler can take, or refuse it.

A signed body is Shopify's word, but not a guarantee of shape: a JSON array, a string,
``null``, a quantity of ``"lots"`` or 200 KB of nested arrays (``json.loads`` recursed
until ``RecursionError``) used to reach the handlers and answer 500 (issue 10, item 9).
:func:`read_payload` runs, in order, after the receiver has checked the size and the
signature:

1. JSON, with a nesting limit (:data:`MAX_DEPTH`; Shopify's payloads nest a few levels);
2. a JSON object (every Shopify webhook payload is one);
3. for the topics a flow acts on, the shape of the fields the handlers read
   (``services.shop_feed.fulfilment_from_shopify``, ``split_shop_refund``,
   ``services.change_feed.inventory_item_ids``, ``workflows.dispatch``'s order id).

It returns the parsed dict itself, unchanged: the models only check it, so the handlers
get the same dict as before. Anything else raises :class:`WebhookPayloadError` with a
short reason.

The contract is those fields, not the whole payload: Shopify's webhook payloads are the
REST resources (shopify.dev/docs/api/webhooks, "Topics", with an example payload per
topic; the REST Admin resources Fulfillment, Refund, Order, InventoryLevel), which are
not in the GraphQL schema. Fields the handlers do not read are ignored, so a new field
from Shopify never makes a body invalid. ``lines``, ``tracking`` and ``legacy_id`` are
the shapes the GraphQL port gives the same readers; a webhook does not send them, but
if one did, they are read, so they are checked too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StrictStr, ValidationError

#: Deepest nesting of arrays and objects accepted (Shopify's payloads nest about 4 deep).
MAX_DEPTH = 32
#: The reasons a body is refused, as recorded in the exception's ``details.kind``.
NOT_JSON = "not_json"
TOO_DEEP = "too_deep"
NOT_AN_OBJECT = "not_an_object"
WRONG_SHAPE = "wrong_shape"


class WebhookPayloadError(ValueError):
    """A signed body no handler can take; ``kind`` is one of the constants above."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def _shopify_id(value: Any) -> int | str:
    # One check with one message (a union of int and str would report both halves).
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("should be a Shopify id (a positive number or a gid)")
    if (isinstance(value, int) and value <= 0) or (isinstance(value, str) and not value.strip()):
        raise ValueError("should be a Shopify id (a positive number or a gid)")
    return value


#: A Shopify id as the readers take it: a positive number (REST) or a gid/text.
ShopifyId = Annotated[int | str, PlainValidator(_shopify_id)]
#: ``int(quantity or 0)`` in the readers: a whole number of units, as a number or text.
Quantity = Annotated[int, Field(ge=0)] | None
Text = StrictStr | None


class _Checked(BaseModel):
    # Only the fields the handlers read are checked; everything else passes untouched.
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Line(_Checked):
    sku: Text = None
    quantity: Quantity = None


class _Tracking(_Checked):
    company: Text = None
    number: Text = None
    url: Text = None


class FulfillmentPayload(_Checked):
    """``fulfillments/create`` (REST Fulfillment): what ``fulfilment_from_shopify`` reads."""

    id: ShopifyId
    order_id: ShopifyId
    legacy_id: ShopifyId | None = None
    line_items: list[_Line] | None = None
    lines: list[_Line] | None = None
    tracking: list[_Tracking] | None = None
    tracking_company: Text = None
    tracking_number: Text = None
    tracking_url: Text = None


class _RefundLineItem(_Checked):
    sku: Text = None


class _RefundLine(_Checked):
    sku: Text = None
    quantity: Quantity = None
    restock_type: Text = None
    line_item: _RefundLineItem | None = None


class RefundPayload(_Checked):
    """``refunds/create`` (REST Refund): what ``split_shop_refund`` reads."""

    id: ShopifyId
    order_id: ShopifyId
    legacy_id: ShopifyId | None = None
    refund_line_items: list[_RefundLine] | None = None
    lines: list[_RefundLine] | None = None


class OrderPayload(_Checked):
    """``orders/cancelled`` (REST Order): the dispatch handler reads the order's ``id``."""

    id: ShopifyId


class InventoryLevelPayload(_Checked):
    """``inventory_levels/update`` (REST InventoryLevel): the item the stock flow marks."""

    inventory_item_id: ShopifyId


#: Topic (``X-Shopify-Topic``) -> the model of what its handler reads. Other topics reach
#: the router only as JSON objects (it acts on none of them).
MODELS: dict[str, type[_Checked]] = {
    "fulfillments/create": FulfillmentPayload,
    "refunds/create": RefundPayload,
    "orders/cancelled": OrderPayload,
    "inventory_levels/update": InventoryLevelPayload,
}


def read_payload(topic: str, body: bytes, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """The payload of a signed body (the parsed dict, unchanged), or ``WebhookPayloadError``."""
    try:
        payload = json.loads(body)
    except RecursionError:
        # Deeper than the interpreter's own stack allows: refused before it costs more.
        raise WebhookPayloadError(TOO_DEEP, f"nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an over-long number
        raise WebhookPayloadError(NOT_JSON, f"not JSON ({_short(str(exc))})") from None
    if not isinstance(payload, dict):
        kind = "null" if payload is None else type(payload).__name__
        raise WebhookPayloadError(NOT_AN_OBJECT, f"a JSON {kind}, not an object")
    if nesting(payload) > max_depth:
        raise WebhookPayloadError(TOO_DEEP, f"nested deeper than {max_depth} levels")
    model = MODELS.get(topic)
    if model is not None:
        try:
            model.model_validate(payload)
        except ValidationError as exc:
            raise WebhookPayloadError(WRONG_SHAPE, describe(exc)) from None
    return payload


def nesting(value: Any) -> int:
    """How deep arrays and objects nest in ``value`` (1 for a flat object); no recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def describe(exc: ValidationError, limit: int = 3) -> str:
    """``line_items.0.quantity: Input should be a valid integer`` (the first few errors)."""
    errors = exc.errors(include_url=False, include_input=False)
    parts = [
        f"{'.'.join(str(p) for p in error['loc']) or 'body'}: "
        + _MODEL_NAME.sub("", error["msg"]).removeprefix("Value error, ")
        for error in errors[:limit]
    ]
    more = f" (+{len(errors) - limit} more)" if len(errors) > limit else ""
    return _short("; ".join(parts) + more)


#: "... a valid dictionary or instance of _RefundLine": our class names mean nothing to ops.
_MODEL_NAME = re.compile(r" or instance of \w+")


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
