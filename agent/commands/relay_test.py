"""``relay-test DEVICE``: cut the device's power once for its off-time, then restore it.

For a technician checking the wiring. Asks for confirmation unless ``--yes``.
Ctrl-C or SIGTERM restores the power at once. Not counted in the restart
budget; stop the agent first (``systemctl stop driftvakt-agent``): a pin can
have only one owner.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from signal import SIGINT, SIGTERM
from typing import Any

from agent.commands import add_config_option, config_or_report
from agent.errors import ConfigError, RelayError
from agent.relay import RelayBank
from agent.restart import Policy, RestartPlanner, Timing
from agent.runner import utc_now


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "relay-test", help="power-cycle one device once", description=__doc__
    )
    add_config_option(parser)
    parser.add_argument("device")
    parser.add_argument("--off-time", type=float, help="seconds without power (default: config)")
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = config_or_report(args.config)
    if config is None:
        return 2
    device = config.devices.get(args.device)
    if device is None or device.relay_pin is None:
        with_relay = sorted(n for n, d in config.devices.items() if d.relay_pin is not None)
        print(f"{args.device}: no such device with a relay (have: {with_relay})", file=sys.stderr)
        return 2
    off = args.off_time or device.off_time_s
    question = f"Cut the power of {args.device} (GPIO{device.relay_pin}) for {off:g} s? [y/N] "
    if not args.yes and input(question).strip().lower() not in ("y", "yes"):
        print("nothing done")
        return 1
    stop = threading.Event()
    saved = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (SIGTERM, SIGINT)}
    try:
        with RelayBank.from_config(config) as relays:
            return _cycle(relays, args.device, off, stop)
    except (RelayError, ConfigError) as exc:
        print(f"relay-test: {exc}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _cycle(relays: RelayBank, name: str, off: float, stop: threading.Event) -> int:
    planner = RestartPlanner({name: Timing(off, 1)}, Policy())
    plan = planner.plan((name,), (name,), utc_now())
    started = time.monotonic()
    print(f"{name}: cutting power for {off:g} s", flush=True)
    finished = relays.run(plan, stop)
    took = time.monotonic() - started
    print(f"{name}: power restored after {took:.1f} s{'' if finished else ' (interrupted)'}")
    return 0 if finished else 130
