"""``driftvakt-agent``: the agent and the technician's tools on the gateway.

Each subcommand is a module in :mod:`agent.commands` with an
``add_parser(subparsers)`` that registers it and sets ``func(args) -> int``
as the parser default; modules are found automatically, so adding a command
means adding a file.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
from collections.abc import Sequence

import agent.commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftvakt-agent",
        description="Driftvakt edge agent: probes the router and camera, power-cycles them "
        "through a relay, reports over MQTT.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in sorted(pkgutil.iter_modules(agent.commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"agent.commands.{module.name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
