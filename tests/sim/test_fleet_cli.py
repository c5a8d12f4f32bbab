"""``driftvakt-sim fleet`` against a broker it does not own, as a technician runs it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sim.broker import Broker, BrokerClient

HOMES = ["gw-01", "gw-02"]


def test_fleet_cli_runs_homes_against_a_named_broker_and_stops_cleanly(tmp_path: Path) -> None:
    with Broker(tmp_path / "broker") as broker:
        broker.add_gateways("botkyrka", HOMES)
        broker.add_central(["botkyrka"])
        broker.start()
        creds = tmp_path / "accounts"
        creds.mkdir()
        for g in HOMES:
            c = broker.account(g)
            (creds / f"{g}.password").write_text(c.password + "\n")
            (creds / f"{g}.crt").write_bytes(c.certfile.read_bytes())
            (creds / f"{g}.key").write_bytes(c.keyfile.read_bytes())
        scenario = tmp_path / "story.toml"
        scenario.write_text(
            '[[events]]\nat = "+4s"\ndo = "hang"\nhomes = ["gw-02"]\ndevice = "camera"\n'
        )
        with broker.client("central", client_id="cli-watch") as watch:
            watch.subscribe(
                "driftvakt/v1/botkyrka/+/availability", "driftvakt/v1/botkyrka/+/events"
            )
            command = [sys.executable, "-m", "sim.cli", "fleet", "--homes", "2"]
            command += [
                "--broker",
                f"mqtts://{broker.host}:{broker.port}",
                "--ca-file",
                str(broker.cafile),
            ]
            command += [
                "--credentials",
                str(creds),
                "--scenario",
                str(scenario),
                "--data",
                str(tmp_path / "homes"),
            ]
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            try:
                seen = _collect(
                    watch, lambda got: b"restart_succeeded" in got.get("gw-02/events", b"")
                )
            finally:
                proc.send_signal(signal.SIGINT)
                out, _ = proc.communicate(timeout=20)
            seen_after = _collect(
                watch, lambda got: got.get("gw-01/availability", b"").endswith(b"offline")
            )
    assert proc.returncode == 0, out.decode()
    assert seen["gw-01/availability"].startswith(b"online")
    assert b"2 homes against mqtts://" in out
    assert b"agent_stopping" in seen_after.get("gw-01/events", b"")


def _collect(
    watch: BrokerClient, done: Callable[[dict[str, bytes]], bool], timeout: float = 20.0
) -> dict[str, bytes]:
    got: dict[str, bytes] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in watch.received():
            key = "/".join(m.topic.split("/")[3:5])
            got[key] = got.get(key, b"") + m.payload
        if done(got):
            return got
        time.sleep(0.05)
    raise TimeoutError(f"not seen within {timeout} s; got {sorted(got)}")
