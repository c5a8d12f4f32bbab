"""``driftvakt-central run --config FILE``: the service (docs/central.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from central.config import load_config
from central.errors import ConfigError
from central.run import run_service, setup_logging


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run", help="run the service: ingest, engine, timers and notifications"
    )
    parser.add_argument("--config", required=True, type=Path, help="central TOML config")
    parser.add_argument(
        "--sim-clock",
        metavar="START,SPEED,ANCHOR",
        help="demo and tests only: run on driftvakt-sim's faster clock (docs/demo.md)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 after a clean stop, 2 for a bad config, 3 when the DB or broker is unreachable."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"driftvakt-central: {exc}", file=sys.stderr)
        return 2
    setup_logging()
    if args.sim_clock is None:
        return run_service(config)
    from sim.clock import ScaledClock
    from sim.errors import SimError

    try:
        clock = ScaledClock.from_spec(args.sim_clock)
    except SimError as exc:
        print(f"driftvakt-central: --sim-clock: {exc}", file=sys.stderr)
        return 2
    return run_service(config, clock)
