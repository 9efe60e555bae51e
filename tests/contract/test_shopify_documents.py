"""Every GraphQL document the hub sends is valid against Shopify's real Admin 2026-10 schema."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from mirakl_sync.adapters.shopify.documents import all_documents
from mirakl_sync.sandbox.shopify.querycost import MAX_QUERY_COST, requested_cost
from mirakl_sync.sandbox.shopify.schema import admin_schema

DOCUMENTS = all_documents()

#: The largest ``first`` the client sends with each paged document (see client.py).
PAGE_SIZES = {
    "Locations": 50,
    "VariantsByQuery": 100,
    "VariantStockPage": 25,
    "OrdersByQuery": 5,
    "OrdersChangedSince": 10,
    "WebhookSubscriptions": 100,
}


def schema_errors(document: str) -> list[str]:
    return [error.message for error in validate(admin_schema(), parse(document))]


def test_the_hub_sends_the_operations_it_needs() -> None:
    for name in (
        "ShopInfo",
        "OrderCreate",
        "OrdersByQuery",
        "FulfillmentCreate",
        "RefundCreate",
        "VariantStockPage",
        "WebhookSubscriptionCreate",
    ):
        assert name in DOCUMENTS


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_is_valid_against_the_real_schema(name: str) -> None:
    assert schema_errors(DOCUMENTS[name]) == []


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_is_named_after_its_operation(name: str) -> None:
    assert f"{name}(" in DOCUMENTS[name] or f"{name} {{" in DOCUMENTS[name]


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_stays_under_shopifys_single_query_cost_limit(name: str) -> None:
    variables = {"first": PAGE_SIZES.get(name, 25), "levels": 50 if name == "InventoryItem" else 10}
    assert requested_cost(admin_schema(), parse(DOCUMENTS[name]), None, variables) <= MAX_QUERY_COST


def test_the_validator_rejects_a_field_the_schema_does_not_have() -> None:
    errors = schema_errors("query { shop { name notAShopField } }")
    assert any("notAShopField" in message for message in errors)


def test_the_validator_rejects_a_wrong_argument_type() -> None:
    bad = DOCUMENTS["OrderCreate"].replace("$order: OrderCreateOrderInput!", "$order: String!")
    assert schema_errors(bad) != []


def test_refund_create_carries_an_idempotency_key() -> None:
    assert "@idempotent(key: $idempotencyKey)" in DOCUMENTS["RefundCreate"]
