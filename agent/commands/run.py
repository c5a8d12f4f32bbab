"""``run``: the agent itself, as systemd starts it (``Type=notify``).

Relays are set to power on first, then the MQTT link and the probe loop
start. SIGTERM or SIGINT stops it cleanly: relays restored, ``agent_stopping``
and ``offline`` published. Exit codes: 0 clean stop, 78 bad configuration,
1 relay or other failure. See docs/agent-mqtt.md.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from agent.commands import add_config_option
from agent.settings import ConfigChild


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run", help="run the agent (the systemd service)", description=__doc__
    )
    add_config_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    child = ConfigChild(args.config)  # checks the file while the MQTT stack is imported
    from agent.service import run as serve  # the MQTT stack only for the command that needs it

    return serve(args.config, child=child, level=logging.DEBUG if args.verbose else logging.INFO)
