"""``driftvakt-sim fleet``: simulated homes against a broker you name.

For technicians testing a real central service: N homes ``gw-01`` ..
``gw-NN``, each a real agent with the fake router and camera, connect to
``--broker`` with their own accounts (``--credentials DIR`` holds
``<gateway>.password`` and, for brokers that want client certificates,
``<gateway>.crt`` and ``<gateway>.key``) and play a scenario file. The clock
is real time by default, as a real central service's is: use ``+10m`` times in
the scenario. ``--speed`` above 1 is only for a central started with the same
``--sim-clock`` (printed at start).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sim.clock import ScaledClock, parse_local
from sim.errors import SimError
from sim.fleet import Account, Fleet, gateway_id
from sim.scenario import FleetTarget, ScenarioRunner, Step, load_scenario, schedule


def add_fleet_parser(commands: Any) -> None:
    fleet = commands.add_parser("fleet", help="run N simulated homes against any broker")
    fleet.add_argument("--broker", required=True, help="mqtts://host:8883 (or mqtt://)")
    fleet.add_argument("--homes", type=int, default=20, help="number of homes (default 20)")
    fleet.add_argument("--scenario", type=Path, help="scenario file (TOML); none: all stay well")
    fleet.add_argument("--tenant", default="botkyrka")
    fleet.add_argument("--credentials", type=Path, required=True, help="folder of account files")
    fleet.add_argument("--ca-file", type=Path, help="the broker's CA certificate (PEM)")
    fleet.add_argument("--start", help="clock start, Stockholm time (default: now)")
    fleet.add_argument("--speed", type=float, default=1.0, help="clock speed (default 1)")
    fleet.add_argument("--data", type=Path, default=Path("fleet-data"), help="homes' files")
    fleet.set_defaults(func=run_fleet)


def accounts_from(
    folder: Path, url: str, gateways: list[str], ca: Path | None
) -> dict[str, Account]:
    """Each gateway's account from ``folder``.

    :raises SimError: a password file is missing (named, with the fix).
    """
    out = {}
    for gateway in gateways:
        secret = folder / f"{gateway}.password"
        try:
            password = secret.read_text().strip()
        except OSError:
            raise SimError(f"no {secret}: write {gateway}'s broker password there") from None
        cert, key = folder / f"{gateway}.crt", folder / f"{gateway}.key"
        has_cert = cert.is_file() and key.is_file()
        out[gateway] = Account(
            url, gateway, password, ca, cert if has_cert else None, key if has_cert else None
        )
    return out


def run_fleet(args: argparse.Namespace) -> int:
    """Run the homes until Ctrl-C or SIGTERM."""
    try:
        start = parse_local(args.start) if args.start else datetime.now(UTC)
        clock = ScaledClock(start, args.speed)
        gateways = [gateway_id(i) for i in range(1, args.homes + 1)]
        steps: list[Step] = []
        if args.scenario is not None:
            steps = schedule(load_scenario(args.scenario), start, gateways)
        accounts = accounts_from(args.credentials, args.broker, gateways, args.ca_file)
    except SimError as exc:
        print(f"driftvakt-sim fleet: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    fleet = Fleet(args.data, accounts, tenant=args.tenant, clock=clock, speed=args.speed)
    print(f"{len(gateways)} homes against {args.broker}; clock {clock.spec()}", flush=True)
    try:
        fleet.start()
        runner = ScenarioRunner(steps, clock, FleetTarget(fleet), _announce).start()
        stop.wait()
        runner.close()
    finally:
        fleet.close()
    return 0


def _announce(step: Step) -> None:
    print(f"{step.when:%H:%M} {step.do} {' '.join(step.homes)} {step.device or ''}", flush=True)
