"""``driftvakt-central replay``: the engine over a recorded JSONL of MQTT
messages and human input, printing every decision (docs/replay.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from central.engine import Engine
from central.errors import DriftvaktError, ReplayInputError
from central.policy import load_policy
from central.registry import load_registry
from central.replay import parse_time, replay


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay", help="run the routine engine over a recording and print every decision"
    )
    parser.add_argument("--registry", required=True, help="registry CSV (docs/registry.md)")
    parser.add_argument("--policy", help="policy TOML (default: the shipped Botkyrka policy)")
    parser.add_argument(
        "--until", help="RFC 3339 time to run to (default: 24 h after the last line)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 if any input line was bad")
    parser.add_argument("messages", help="recording, one JSON object per line ('-' for stdin)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        engine = Engine(load_policy(args.policy), load_registry(args.registry))
        until = parse_time(args.until, "--until") if args.until else None
    except (DriftvaktError, ReplayInputError) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    try:
        source = sys.stdin if args.messages == "-" else open(args.messages, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        print(f"replay: cannot read {args.messages}: {exc.strerror}", file=sys.stderr)
        return 2
    with source:
        result = replay(source, engine, sys.stdout, sys.stderr, until)
    sys.stdout.flush()
    return 1 if args.strict and result.bad else 0
