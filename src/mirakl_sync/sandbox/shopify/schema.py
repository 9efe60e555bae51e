"""The vendored Admin schema, parsed once per process (it is 3.7 MB: about 2 s to build)."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

from graphql import GraphQLSchema, build_schema

SCHEMA_PATH = Path(__file__).resolve().parent / "vendored" / "admin-2026-10.graphql"


_BUILD_LOCK = threading.Lock()


def admin_schema() -> GraphQLSchema:
    """The Admin 2026-10 schema, built on first use and shared afterwards (read-only).

    The lock matters: ``functools.cache`` alone lets every thread that arrives during the
    first build start its own, and eight worker threads building a 3.7 MB schema at once
    under the GIL stalled the first orders of a run by tens of seconds.
    """
    with _BUILD_LOCK:
        return _build()


@functools.cache
def _build() -> GraphQLSchema:
    return build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
