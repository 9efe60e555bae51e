"""Only the ``mirakl_sync.workflows.engine`` package may import ``dbos`` (the engine boundary)."""

from __future__ import annotations

import ast
from pathlib import Path

import mirakl_sync

SOURCE_ROOT = Path(mirakl_sync.__file__).resolve().parent
ENGINE_PACKAGE = SOURCE_ROOT / "workflows" / "engine"
#: The engine is a package: each of its parts may import dbos.
ALLOWED = frozenset(ENGINE_PACKAGE.rglob("*.py"))


def _imported_names(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module or "")
        elif (
            # importlib.import_module("dbos") / __import__("dbos") would dodge the rule too.
            isinstance(node, ast.Call)
            and _callee(node) in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.append(node.args[0].value)
    return names


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _imports_dbos(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return any(name.split(".")[0] == "dbos" for name in _imported_names(tree))


def test_engine_module_is_the_only_dbos_importer() -> None:
    modules = sorted(SOURCE_ROOT.rglob("*.py"))
    assert ENGINE_PACKAGE / "__init__.py" in modules
    offenders = [
        str(path.relative_to(SOURCE_ROOT))
        for path in modules
        if path not in ALLOWED and _imports_dbos(path)
    ]
    assert offenders == [], f"import dbos only in workflows/engine/, not in {offenders}"


def test_the_detector_sees_the_engine_import() -> None:
    # Guards the test above against a detector that never fires.
    assert any(_imports_dbos(path) for path in ALLOWED)
