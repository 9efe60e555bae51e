"""What every ``mirakl-sync`` command shares: the ``--config`` option (before or after
the command), loading the settings, and failing with an exit code.

Exit codes: 0 done; 1 the command ran but found problems; 2 configuration or usage error;
3 could not run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from mirakl_sync.config import Settings, load_settings, resolve_config_path
from mirakl_sync.errors import ConfigError

# No envvar here: resolve_config_path reads $MIRAKL_SYNC_CONFIG after both --config
# places, so a --config before the command is not overridden by the environment.
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (TOML); also accepted before the command. "
        "Default: $MIRAKL_SYNC_CONFIG, else ./mirakl-sync.toml",
        show_default=False,
    ),
]

#: ``--config`` given before the command (set by ``cli._global_options``).
GLOBAL_CONFIG: list[Path] = []


def config_path(config: Path | None) -> Path:
    """The command's own ``--config``, else the one before the command, else the defaults."""
    return resolve_config_path(config or (GLOBAL_CONFIG[0] if GLOBAL_CONFIG else None))


def fail(message: str, code: int = 3) -> NoReturn:
    typer.echo(f"mirakl-sync: {message}", err=True)
    raise typer.Exit(code)


def cli_settings(config: Path | None) -> Settings:
    path = config_path(config)
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        raise typer.Exit(2) from None
    from mirakl_sync.entrypoints.logs import configure_logging

    configure_logging(settings)
    return settings


def check_marketplace(settings: Settings, code: str | None) -> None:
    """A mistyped ``--marketplace`` is a usage error (exit 2), never a silent empty answer."""
    if code is not None and code != "*":
        settings.marketplace(code)  # raises ConfigError naming the known codes
