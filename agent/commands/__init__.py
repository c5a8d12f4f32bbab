"""Subcommands of ``driftvakt-agent``, one module each, each with ``add_parser(subparsers)``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.errors import ConfigError
from agent.settings import DEFAULT_PATH, AgentConfig


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """The ``--config`` option every command that reads the configuration shares."""
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=DEFAULT_PATH,
        help=f"configuration file (default {DEFAULT_PATH})",
    )


def config_or_report(path: Path) -> AgentConfig | None:
    """The configuration, or ``None`` after printing every problem to stderr."""
    from agent.config import load_config  # here, so that ``run`` never loads pydantic

    try:
        return load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return None
