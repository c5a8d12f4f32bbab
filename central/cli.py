"""``driftvakt-central``: the central service's command line.

Each subcommand is one module in ``central/commands/`` exposing
``add_parser(subparsers)``, which adds its parser and sets ``func`` (taking the
parsed arguments, returning the exit status). Modules are found by name, so
adding a subcommand is adding a module: no edit here.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import central.commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftvakt-central",
        description="Driftvakt central service: the outage routine for home-care cameras.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(central.commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"central.commands.{info.name}")
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
