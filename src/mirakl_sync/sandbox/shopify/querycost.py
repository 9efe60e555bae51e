"""The requested cost of a document, by Shopify's published rules.

* scalar and enum fields cost 0, object fields 1;
* a connection (a type named ``*Connection``) costs 2 + ``first`` (or ``last``) x the cost
  of one node's selection (``nodes`` or ``edges { node }``); ``pageInfo`` is free;
* a list field with a ``first`` argument costs ``first`` x one element's cost;
* interfaces and unions cost their most expensive fragment;
* each mutation field costs 10, plus what its payload selects.

Shopify charges the requested cost up front and refunds the difference with the actual
cost after execution. ``actual_cost`` counts what the result holds by the same rules (a
connection costs 2 plus the nodes it returned); for mutations the emulator reports the
requested cost as actual.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_list_type,
)
from graphql.type.definition import get_nullable_type

MUTATION_COST = 10
MAX_QUERY_COST = 1000


def requested_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
) -> int:
    operation = _operation(document, operation_name)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    calc = _Calculator(schema, fragments, variables)
    if operation is None:
        return 0
    if operation.operation is OperationType.MUTATION:
        root = schema.mutation_type
        assert root is not None
        total = 0
        for field in calc.fields(operation.selection_set, root):
            total += MUTATION_COST + calc.field_children(field, root)
        return total
    root_query = schema.query_type
    assert root_query is not None
    return calc.selection(operation.selection_set, root_query)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        return next((o for o in operations if o.name and o.name.value == name), None)
    return operations[0] if operations else None


class _Calculator:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def fields(self, selection_set: SelectionSetNode | None, parent: Any) -> list[FieldNode]:
        """The field nodes of a selection set, fragments flattened (for ``parent``)."""
        found: list[FieldNode] = []
        if selection_set is None:
            return found
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                found.extend(self.fields(selection.selection_set, parent))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    found.extend(self.fields(fragment.selection_set, parent))
        return found

    def selection(self, selection_set: SelectionSetNode | None, parent: Any) -> int:
        if selection_set is None:
            return 0
        if isinstance(parent, GraphQLInterfaceType | GraphQLUnionType):
            # The most expensive possible type's selection, approximated by the whole set.
            parent = None
        return sum(self.field(f, parent) for f in self.fields(selection_set, parent))

    def _definition_type(self, field: FieldNode, parent: Any) -> Any:
        if field.name.value == "__typename":
            return None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(field.name.value)
            return definition.type if definition is not None else None
        return None

    def _int_arg(self, field: FieldNode, name: str) -> int | None:
        for argument in field.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                raw = self.variables.get(value.name.value)
                return int(raw) if isinstance(raw, int) else None
        return None

    def field(self, field: FieldNode, parent: Any) -> int:
        field_type = self._definition_type(field, parent)
        if field_type is None:
            return 0
        named = get_named_type(field_type)
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            return 0
        size = self._int_arg(field, "first") or self._int_arg(field, "last")
        if named.name.endswith("Connection") and isinstance(named, GraphQLObjectType):
            return 2 + (size or 0) * self._node_cost(field, named)
        child = self.selection(field.selection_set, named)
        if is_list_type(get_nullable_type(field_type)):
            return (size or 1) * (1 + child)
        return 1 + child

    def field_children(self, field: FieldNode, parent: Any) -> int:
        field_type = self._definition_type(field, parent)
        if field_type is None:
            return 0
        return self.selection(field.selection_set, get_named_type(field_type))

    def _node_cost(self, field: FieldNode, connection: GraphQLObjectType) -> int:
        best = 0
        for child in self.fields(field.selection_set, connection):
            name = child.name.value
            if name == "nodes":
                node_type = get_named_type(connection.fields["nodes"].type)
                best = max(best, 1 + self.selection(child.selection_set, node_type))
            elif name == "edges":
                edge_type = get_named_type(connection.fields["edges"].type)
                for edge_field in self.fields(child.selection_set, edge_type):
                    if edge_field.name.value == "node":
                        best = max(best, self.field(edge_field, edge_type))
        return best


def actual_cost(data: Any) -> int:
    """The cost of what a query returned: objects 1, connections 2 + the nodes returned."""
    if isinstance(data, dict):
        return sum(_value_cost(value) for value in data.values())
    return 0


def _value_cost(value: Any) -> int:
    if isinstance(value, list):
        return sum(_value_cost(item) for item in value)
    if not isinstance(value, dict):
        return 0
    if "nodes" in value or "edges" in value or "pageInfo" in value:
        by_nodes = sum(_value_cost(node) for node in value.get("nodes") or [])
        by_edges = sum(_value_cost(edge.get("node")) for edge in value.get("edges") or [] if edge)
        return 2 + max(by_nodes, by_edges)
    return 1 + sum(_value_cost(child) for child in value.values())
