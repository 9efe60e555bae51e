"""A demo run starts from an empty hub database, as the in-memory sandbox does."""

from __future__ import annotations

from pathlib import Path

from mirakl_sync.entrypoints.demo import forget_previous_run


def test_the_previous_runs_databases_are_removed_and_nothing_else(tmp_path: Path) -> None:
    names = [
        "mirakl-sync.db",
        "mirakl-sync.db-wal",
        "mirakl-sync.db-shm",
        "mirakl-sync-engine.db",
        "mirakl-sync-engine.db-wal",
    ]
    for name in [*names, "mirakl-sync.toml", "notes.txt"]:
        (tmp_path / name).write_text("x")
    gone = forget_previous_run(tmp_path)
    assert sorted(p.name for p in gone) == sorted(names)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mirakl-sync.toml", "notes.txt"]
    assert forget_previous_run(tmp_path) == []
