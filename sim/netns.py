"""A fake device behind a real link: a network namespace joined by a veth pair.

Loopback addresses always answer ping, so the ICMP probe is tested against a
device in a network namespace of its own: cutting its relay takes its end of
the link down, and echo requests go unanswered. Needs root (``ip netns``);
the addresses are private ones inside namespaces this process made itself.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import threading
import time
from pathlib import Path

from sim.pins import PowerLine

_count = itertools.count(1)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


class NetnsDevice:
    """A namespace at ``address`` reached from this one over a veth pair.

    Use as a context manager; everything it made is deleted on exit.
    """

    def __init__(self) -> None:
        n = next(_count)
        tag = f"{os.getpid() % 100000}{n}"
        self.namespace = f"dvk-{tag}"
        self.host_if, self.device_if = f"dvh{tag}"[:15], f"dvd{tag}"[:15]
        subnet = f"10.231.{os.getpid() % 250}.{(n % 60) * 4}"
        base = subnet.rsplit(".", 1)
        self.host_address = f"{base[0]}.{int(base[1]) + 1}"
        self.address = f"{base[0]}.{int(base[1]) + 2}"
        self._line: PowerLine | None = None
        _ip("netns", "add", self.namespace)
        try:
            _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.device_if)
            _ip("link", "set", self.device_if, "netns", self.namespace)
            _ip("addr", "add", f"{self.host_address}/30", "dev", self.host_if)
            _ip("link", "set", self.host_if, "up")
            _ip("-n", self.namespace, "addr", "add", f"{self.address}/30", "dev", self.device_if)
            _ip("-n", self.namespace, "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise

    def attach(self, line: PowerLine) -> NetnsDevice:
        """Take power from ``line``: the device's link is up exactly while it is powered."""
        self._line = line
        line.watch(self.power)
        return self

    def power(self, on: bool) -> None:
        """Take the device's end of the link up or down; returns once the host end agrees."""
        _ip("-n", self.namespace, "link", "set", self.device_if, "up" if on else "down")
        state = Path(f"/sys/class/net/{self.host_if}/operstate")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if (state.read_text().strip() == "up") == on:
                # forget an address resolution that failed while the link was down, so that
                # the next packet asks again at once instead of after the retransmit timer
                _ip("neigh", "flush", "dev", self.host_if)
                return
            threading.Event().wait(0.01)
        raise TimeoutError(f"{self.host_if} did not go {'up' if on else 'down'} within 5 s")

    def close(self) -> None:
        """Delete the namespace (and with it the veth pair). Safe to call again."""
        if self._line is not None:
            self._line.close()
            self._line = None
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, timeout=10)
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=10)

    def __enter__(self) -> NetnsDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
