"""Subcommands of ``driftvakt-agent``, one module each, each with ``add_parser(subparsers)``."""

from __future__ import annotations

import argparse
from pathlib import Path

from agent.config import DEFAULT_PATH


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """The ``--config`` option every command that reads the configuration shares."""
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=DEFAULT_PATH,
        help=f"configuration file (default {DEFAULT_PATH})",
    )
