"""``driftvakt-sim``: simulated homes against any broker, and the demo.

- ``driftvakt-sim demo``: a whole municipality on one machine (docs/demo.md);
  what ``make demo`` runs.
- ``driftvakt-sim fleet``: N simulated homes (real agents) against a broker
  you name, for technicians testing a real central service, driven by a
  scenario file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sim.demo import STORY, DemoOptions, run_demo
from sim.fleet_cli import add_fleet_parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftvakt-sim", description="Simulated Driftvakt homes, and the demo."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = commands.add_parser(
        "demo", help="broker, central service, dashboard, 20 homes and a scripted story"
    )
    demo.add_argument(
        "--start",
        help='Stockholm time the story starts at, e.g. "2027-01-12 13:55" (default: the story\'s)',
    )
    demo.add_argument(
        "--speed", type=float, default=120.0, help="demo seconds per real second (default 120)"
    )
    demo.add_argument("--homes", type=int, default=20, help="number of homes (default 20)")
    demo.add_argument("--port", type=int, default=8080, help="dashboard port (default 8080)")
    demo.add_argument(
        "--data", type=Path, default=Path("demo-data"), help="folder for the demo's files"
    )
    demo.add_argument("--scenario", type=Path, default=STORY, help="scenario file (TOML)")
    demo.set_defaults(func=_demo)
    add_fleet_parser(commands)
    return parser


def _demo(args: argparse.Namespace) -> int:
    options = DemoOptions(args.start, args.speed, args.homes, args.data, args.port, args.scenario)
    return run_demo(options)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
