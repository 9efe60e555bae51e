"""Render emulator records as Supercycle Admin API JSON (camelCase, as published)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from mirakl_sync.domain.item_availability import BlockScope
from mirakl_sync.sandbox.supercycle.records import (
    BlockedDateRecord,
    ItemRecord,
    RentalRecord,
    ReturnLineRecord,
    ReturnOrderRecord,
)
from mirakl_sync.sandbox.supercycle.state import SupercycleState


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds, so ``updated`` filters can tell writes apart."""
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def condition_json(state: SupercycleState, condition_id: int | None) -> dict[str, Any] | None:
    condition = state.conditions.get(condition_id) if condition_id is not None else None
    if condition is None:
        return None
    return {
        "id": condition.id,
        "createdAt": timestamp(condition.created_at),
        "severityKey": condition.severity_key,
        "severityTone": condition.severity_tone,
        "title": condition.title,
    }


def item_json(state: SupercycleState, item: ItemRecord) -> dict[str, Any]:
    variant = state.variants[item.shopify_variant_id]
    active = state.active_rental(item.id)
    location = (
        {
            "shopifyId": item.location_shopify_id,
            "name": state.locations.get(item.location_shopify_id),
        }
        if item.location_shopify_id is not None
        else None
    )
    return {
        "id": item.id,
        "createdAt": timestamp(item.created_at),
        # Not in the published item schema; served so incremental sync can be tested.
        "updatedAt": timestamp(item.updated_at),
        "activeRentalId": active.id if active else None,
        "activeReturnId": item.active_return_id,
        "productTitle": variant.product_title,
        "variantTitle": variant.title,
        "serial": item.serial,
        "sequentialId": item.sequential_id,
        "shopifyProductId": variant.shopify_product_id,
        "shopifyVariantId": variant.shopify_id,
        "status": item.status,
        "visibility": item.visibility,
        "tags": list(item.tags),
        "conditionId": item.condition_id,
        "condition": condition_json(state, item.condition_id),
        "imageUrl": None,
        "location": location,
        "pickLocation": item.pick_location,
        "timelineEvents": [],
        "customFields": [],
    }


def customer_json(state: SupercycleState, customer_id: int) -> dict[str, Any] | None:
    customer = state.customers.get(customer_id)
    if customer is None:
        return None
    return {
        "id": customer.id,
        "createdAt": timestamp(customer.created_at),
        "shopifyId": customer.shopify_id,
        "email": customer.email,
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "defaultAddress": None,
    }


def rental_json(state: SupercycleState, rental: RentalRecord) -> dict[str, Any]:
    return {
        "id": rental.id,
        "createdAt": timestamp(rental.created_at),
        "updatedAt": timestamp(rental.updated_at),
        "customer": customer_json(state, rental.customer_id),
        "itemId": rental.item_id,
        "item": item_json(state, state.items[rental.item_id]),
        "packingStatus": rental.packing_status,
        "shopifyOrderId": rental.shopify_order_id,
        "shopifyOrderName": rental.shopify_order_name,
        "shopifyOrderLineId": rental.shopify_order_line_id,
        "methodType": rental.method_type,
        "status": rental.status,
        "fulfillmentStatus": rental.fulfillment_status,
        "receivalStatus": rental.receival_status,
        "fulfillAt": timestamp(rental.fulfill_at),
        "fulfilledAt": timestamp(rental.fulfilled_at),
        "minimumRentalEnd": timestamp(rental.minimum_rental_end),
        "originRentalIntentToken": None,
        "receiveAt": timestamp(rental.receive_at),
        "receivedAt": timestamp(rental.received_at),
        "rentalStart": timestamp(rental.rental_start),
        "rentalEnd": timestamp(rental.rental_end),
        "restockBy": timestamp(rental.restock_by),
        "restockedAt": timestamp(rental.restocked_at),
        "sequentialId": rental.sequential_id,
        "returnOrderId": rental.return_order_id,
        "tags": list(rental.tags),
        "timelineEvents": [],
    }


def return_line_json(state: SupercycleState, line: ReturnLineRecord) -> dict[str, Any]:
    return {
        "id": line.id,
        "createdAt": timestamp(line.created_at),
        "rentalId": line.rental_id,
        "status": line.status,
        "condition": condition_json(state, line.condition_id),
        "item": item_json(state, state.items[line.item_id]),
        "requestedAt": timestamp(line.requested_at),
        "restockedAt": timestamp(line.restocked_at),
    }


def return_order_json(state: SupercycleState, order: ReturnOrderRecord) -> dict[str, Any]:
    return {
        "id": order.id,
        "createdAt": timestamp(order.created_at),
        # Not in the published return order schema.
        "updatedAt": timestamp(order.updated_at),
        "creditStatus": order.credit_status,
        "receivalStatus": order.receival_status,
        "customer": customer_json(state, order.customer_id),
        "returnLines": [return_line_json(state, line) for line in order.lines],
        "requestedAt": timestamp(order.requested_at),
        "sequentialId": order.sequential_id,
        "status": order.status,
        "returnMethod": order.return_method,
        "tags": list(order.tags),
        "timelineEvents": [],
    }


def blocked_date_json(state: SupercycleState, block: BlockedDateRecord) -> dict[str, Any]:
    resource: dict[str, Any] = {"id": block.resource_id}
    if block.resource_type == BlockScope.ITEM and block.resource_id in state.items:
        item = state.items[block.resource_id]
        variant = state.variants[item.shopify_variant_id]
        resource |= {
            "title": f"{variant.product_title} - {variant.title}",
            "formattedId": f"#{item.sequential_id}",
            "shopifyVariantId": variant.shopify_id,
            "shopifyProductId": variant.shopify_product_id,
        }
    elif block.resource_type == BlockScope.VARIANT and block.resource_id in state.variants:
        variant = state.variants[block.resource_id]
        resource |= {
            "title": f"{variant.product_title} - {variant.title}",
            "shopifyVariantId": variant.shopify_id,
            "shopifyProductId": variant.shopify_product_id,
        }
    elif block.resource_type == BlockScope.PRODUCT:
        resource |= {
            "title": state.products.get(block.resource_id),
            "shopifyProductId": block.resource_id,
        }
    return {
        "id": block.id,
        "resourceType": block.resource_type,
        "resourceId": block.resource_id,
        "from": day(block.first),
        "to": day(block.last),
        "description": block.description,
        "createdAt": timestamp(block.created_at),
        "updatedAt": timestamp(block.updated_at),
        "resource": resource,
    }
