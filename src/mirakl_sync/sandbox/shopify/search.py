"""A small reading of Shopify's search syntax, enough for the ``query`` arguments the hub sends.

Supported: ``key:value`` terms, values optionally quoted (double or single quotes, with
``\\`` escapes), joined by spaces or ``AND`` (both mean AND); and, on the keys a resolver
declares ranged (``updated_at`` of orders), the comparators ``<``, ``<=``, ``>``, ``>=``
(``updated_at:>='2026-10-01T00:00:00Z'``; Shopify wants date values quoted). ``OR``,
``NOT``, ``..`` ranges and free text are not emulated: the emulator answers an error
naming the term instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graphql import GraphQLError

_TERM = re.compile(
    r"""\s*([A-Za-z_]+):(<=|>=|<|>)?(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(\S+))\s*"""
)


@dataclass(frozen=True)
class SearchTerm:
    key: str
    value: str
    #: ``""`` (equals), ``"<"``, ``"<="``, ``">"`` or ``">="``.
    comparator: str = ""


def parse_search(query: str | None, allowed: frozenset[str]) -> list[tuple[str, str]]:
    """``'sku:"A-1" AND barcode:5'`` -> ``[("sku", "A-1"), ("barcode", "5")]``."""
    return [(t.key, t.value) for t in parse_search_terms(query, allowed)]


def parse_search_terms(
    query: str | None, allowed: frozenset[str], ranged: frozenset[str] = frozenset()
) -> list[SearchTerm]:
    """Every term of ``query``; comparators only on the keys in ``ranged``."""
    if not query or not query.strip():
        return []
    terms: list[SearchTerm] = []
    position = 0
    text = query.strip()
    while position < len(text):
        if text.startswith("AND ", position):
            position += 4
            continue
        match = _TERM.match(text, position)
        if match is None:
            raise GraphQLError(
                f"The Shopify emulator does not support the search term at {text[position:]!r}"
            )
        key, comparator = match.group(1), match.group(2) or ""
        if key not in allowed:
            raise GraphQLError(
                f"The Shopify emulator does not support the search key {key!r} here "
                f"(supported: {', '.join(sorted(allowed))})"
            )
        if comparator and key not in ranged:
            raise GraphQLError(
                f"The Shopify emulator does not support {comparator!r} on {key!r} "
                f"(ranges only on: {', '.join(sorted(ranged)) or 'none'})"
            )
        quoted = match.group(3) if match.group(3) is not None else match.group(4)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match.group(5)
        terms.append(SearchTerm(key, value, comparator))
        position = match.end()
    return terms
