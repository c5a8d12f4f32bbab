"""ICMP against a device behind a real link in a network namespace (root only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from gpiozero.pins.mock import MockFactory

from agent.config import ProbeModel, compile_probe
from agent.probes import probe_target
from agent.probes.neighbours import NeighbourTable
from agent.relay import Relay
from sim.netns import NetnsDevice
from sim.pins import MockPinLine

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None,
        reason="needs root and iproute2 to make a network namespace (CI runs as root)",
    ),
]


def test_icmp_probe_fails_while_the_relay_cuts_the_link(factory: MockFactory) -> None:
    relay = Relay("camera", 27, active_high=True, pin_factory=factory)
    with NetnsDevice() as device:
        device.attach(MockPinLine(factory.pin(27), active_high=True))
        target = compile_probe(ProbeModel(kind="icmp", host=device.address, timeout_s=1))
        table = NeighbourTable("/nonexistent")
        assert probe_target(target, table).ok
        relay.cut()
        result = probe_target(target, table)
        assert (result.ok, result.detail) == (False, "timeout after 1 s")
        relay.restore()
        assert probe_target(target, table).ok
    relay.close()


def test_icmp_probe_unprivileged_datagram_socket() -> None:
    """Inside a namespace whose ping_group_range admits us, no raw socket is needed."""
    with NetnsDevice() as device:
        ns = ["ip", "netns", "exec", device.namespace]
        subprocess.run([*ns, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"], check=True)
        code = (
            "from agent.probes import icmp\n"
            "sock, raw = icmp.open_icmp_socket()\n"
            f"print(raw, icmp.echo('{device.address}', 1.0) >= 0)\n"
        )
        out = subprocess.run(
            [*ns, sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    assert out == "False True\n"


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
def test_icmp_probe_not_permitted_says_how_to_fix_it() -> None:
    """An unprivileged user outside ping_group_range gets a failed probe with the fix."""
    with NetnsDevice() as device:
        ns = ["ip", "netns", "exec", device.namespace]
        subprocess.run([*ns, "sysctl", "-qw", "net.ipv4.ping_group_range=1 0"], check=True)
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        readable = subprocess.run(
            [*nobody, sys.executable, "-c", "import agent.probes"], capture_output=True, timeout=30
        )
        if readable.returncode != 0:
            pytest.skip("user nobody cannot read this checkout or its virtualenv")
        code = (
            "from agent.config import ProbeModel, compile_probe\n"
            "from agent.probes import probe_target\n"
            "from agent.probes.neighbours import NeighbourTable\n"
            f"target = compile_probe(ProbeModel(kind='icmp', host='{device.address}'))\n"
            "r = probe_target(target, NeighbourTable())\n"
            "print(r.ok, r.detail)\n"
        )
        out = subprocess.run(
            [*ns, *nobody, sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    assert out == (
        "False ICMP echo is not permitted: group 65534 is outside net.ipv4.ping_group_range "
        '(1 0) and the process lacks CAP_NET_RAW; set net.ipv4.ping_group_range = "0 2147483647" '
        "in /etc/sysctl.d/, give the service AmbientCapabilities=CAP_NET_RAW, or use a tcp probe\n"
    )
