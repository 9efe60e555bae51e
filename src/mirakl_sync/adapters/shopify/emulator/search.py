"""A small reading of Shopify's search syntax, enough for the ``query`` arguments the hub sends.

Supported: ``key:value`` terms, values optionally double-quoted (with ``\\"`` escapes),
joined by spaces or ``AND`` (both mean AND). ``OR``, ``NOT``, ranges and free text are not
emulated: the emulator answers an error naming the term instead of guessing.
"""

from __future__ import annotations

import re

from graphql import GraphQLError

_TERM = re.compile(r'\s*([A-Za-z_]+):(?:"((?:[^"\\]|\\.)*)"|(\S+))\s*')


def parse_search(query: str | None, allowed: frozenset[str]) -> list[tuple[str, str]]:
    """``'sku:"A-1" AND barcode:5'`` -> ``[("sku", "A-1"), ("barcode", "5")]``."""
    if not query or not query.strip():
        return []
    terms: list[tuple[str, str]] = []
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
        key = match.group(1)
        if key not in allowed:
            raise GraphQLError(
                f"The Shopify emulator does not support the search key {key!r} here "
                f"(supported: {', '.join(sorted(allowed))})"
            )
        quoted = match.group(2)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match.group(3)
        terms.append((key, value))
        position = match.end()
    return terms
