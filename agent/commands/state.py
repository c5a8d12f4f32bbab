"""``state``: what the agent last published (health of each device, link, outbox).

Read from the file the running agent writes beside ``gateway.state_file``
(``published.json``), so it works while the agent runs and after it stopped.
"""

from __future__ import annotations

import argparse
from typing import Any

from agent.commands import add_config_option


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "state", help="show what the agent last published", description=__doc__
    )
    add_config_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agent.service import show_state  # no MQTT stack for the other commands

    return show_state(args.config)
