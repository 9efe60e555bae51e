"""``ShopifyEmulator``: the emulated shop, its operations, test helpers and ASGI app.

    emulator = ShopifyEmulator(webhook_sender=captured.append_async)
    emulator.load_catalogue(build_catalogue(products=20))
    transport = httpx.ASGITransport(app=emulator.asgi_app())

Operations (``create_order``, ``create_fulfillment``, ``create_refund``, ``cancel_order_by_id``,
``set_available``) change state and emit webhooks; the GraphQL mutations and the test
helpers (``fulfil_order``, ``refund_order``, ``cancel_order``, ``set_available``) share them.
Webhook deliveries run as tasks on the running event loop (like Shopify, after the
response); ``await emulator.drain_webhooks()`` waits for them. ``webhooks_sent`` keeps
every message for assertions.

The facade is built from the operation mixins in :mod:`.shop_core`, :mod:`.shop_inventory`,
:mod:`.shop_orders`, :mod:`.shop_fulfilment` and :mod:`.shop_refunds`; this module adds
the GraphQL endpoint (access token, API version, query cost and throttling).
"""

from __future__ import annotations

import json
from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    validate,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mirakl_sync.sandbox.shopify.mutations import MutationRoot
from mirakl_sync.sandbox.shopify.querycost import MAX_QUERY_COST, actual_cost, requested_cost
from mirakl_sync.sandbox.shopify.resolvers import QueryRoot, resolve_type
from mirakl_sync.sandbox.shopify.schema import admin_schema
from mirakl_sync.sandbox.shopify.shop_fulfilment import FulfilmentOperations
from mirakl_sync.sandbox.shopify.shop_orders import OrderOperations
from mirakl_sync.sandbox.shopify.shop_refunds import RefundOperations

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


class ShopifyEmulator(OrderOperations, FulfilmentOperations, RefundOperations):
    """The emulated shop: the operations of its mixins, and the Admin GraphQL endpoint."""

    # -- the API ---------------------------------------------------------------------------

    def asgi_app(self) -> Starlette:
        return Starlette(
            routes=[Route("/admin/api/{version}/graphql.json", self._graphql, methods=["POST"])]
        )

    def _bucket(self) -> float:
        now = self.clock()
        self._available = min(
            self.bucket_size, self._available + max(0.0, now - self._bucket_at) * self.restore_rate
        )
        self._bucket_at = now
        return self._available

    def _throttle_status(self) -> dict[str, float]:
        return {
            "maximumAvailable": self.bucket_size,
            "currentlyAvailable": round(self._bucket(), 2),
            "restoreRate": self.restore_rate,
        }

    async def _graphql(self, request: Request) -> JSONResponse:
        headers = {"X-Shopify-API-Version": self.api_version}
        if request.headers.get("X-Shopify-Access-Token") != self.access_token:
            return JSONResponse({"errors": INVALID_TOKEN}, status_code=401, headers=headers)
        if request.path_params["version"] != self.api_version:
            return JSONResponse({"errors": "Not Found"}, status_code=404, headers=headers)
        try:
            body = json.loads(await request.body())
            query = body["query"]
            variables = body.get("variables") or {}
            operation_name = body.get("operationName")
            if not isinstance(query, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Parameter Missing or Invalid",
                            "extensions": {"code": "BAD_REQUEST"},
                        }
                    ]
                },
                status_code=400,
                headers=headers,
            )
        result = self.run(query, variables, operation_name)
        self._schedule()
        return JSONResponse(result, headers=headers)

    def run(
        self, query: str, variables: dict[str, Any], operation_name: str | None = None
    ) -> dict[str, Any]:
        """Validate, cost, and execute one document; answer the JSON body Shopify would."""
        schema = admin_schema()
        try:
            document = parse(query)
        except GraphQLError as error:
            return {"errors": [error.formatted]}
        errors = validate(schema, document)
        if errors:
            return {"errors": [e.formatted for e in errors]}
        cost = requested_cost(schema, document, operation_name, variables)
        if cost > MAX_QUERY_COST:
            return {
                "errors": [
                    {
                        "message": f"Query cost is {cost}, which exceeds the single query max cost "
                        f"limit ({MAX_QUERY_COST}).",
                        "extensions": {
                            "code": "MAX_COST_EXCEEDED",
                            "cost": cost,
                            "maxCost": MAX_QUERY_COST,
                        },
                    }
                ]
            }
        if self._bucket() < cost:
            self.throttled_count += 1
            return {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/limits#rate-limits",
                        },
                    }
                ],
                "extensions": {
                    "cost": {
                        "requestedQueryCost": cost,
                        "actualQueryCost": None,
                        "throttleStatus": self._throttle_status(),
                    }
                },
            }
        self._available -= cost
        root: Any = QueryRoot(self.data, self.api_version)
        operation = _operation(document, operation_name)
        mutation = operation is not None and operation.operation is OperationType.MUTATION
        if mutation:
            root = MutationRoot(self)
        outcome = execute(
            schema,
            document,
            root_value=root,
            variable_values=variables,
            operation_name=operation_name,
            type_resolver=resolve_type,
        )
        assert isinstance(outcome, ExecutionResult)
        response: dict[str, Any] = {}
        if outcome.errors:
            response["errors"] = [e.formatted for e in outcome.errors]
        response["data"] = outcome.data
        actual = cost if mutation else min(cost, actual_cost(outcome.data))
        # Refund what was charged up front but not used, as Shopify does.
        self._available = min(self.bucket_size, self._available + cost - actual)
        name = operation.name.value if operation is not None and operation.name else "anonymous"
        self.points_by_operation[name] += actual
        self.requests_by_operation[name] += 1
        response["extensions"] = {
            "cost": {
                "requestedQueryCost": cost,
                "actualQueryCost": actual,
                "throttleStatus": self._throttle_status(),
            }
        }
        return response


def _operation(document: Any, operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation a request runs: the one named ``operation_name``, else the first."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None or (definition.name and definition.name.value == operation_name)
        ):
            return definition
    return None
