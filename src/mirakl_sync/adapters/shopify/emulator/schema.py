"""The vendored Admin schema, parsed once per process (it is 3.7 MB: about 2 s to build)."""

from __future__ import annotations

import functools
from pathlib import Path

from graphql import GraphQLSchema, build_schema

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "admin-2026-10.graphql"


@functools.cache
def admin_schema() -> GraphQLSchema:
    """The Admin 2026-10 schema, built on first use and shared afterwards (read-only)."""
    return build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
