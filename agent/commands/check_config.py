"""``check-config FILE``: exit 0 on a good file, else list every problem with key, value and fix."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agent.errors import ConfigError


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "check-config", help="validate a configuration file", description=__doc__
    )
    parser.add_argument("file", type=Path)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agent.config import load_config  # here, so that ``run`` never loads pydantic

    try:
        config = load_config(args.file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    relays = [f"{n} on GPIO{d.relay_pin}" for n, d in config.devices.items() if d.relay_pin]
    print(f"{args.file}: ok ({len(config.devices)} devices; relays: {', '.join(relays) or 'none'})")
    return 0
