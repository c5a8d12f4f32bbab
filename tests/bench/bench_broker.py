"""Figures for the broker harness: start time by fleet size, password hashing, key making.

Run: ``make bench-broker`` (or ``.venv/bin/python -m tests.bench.bench_broker``).
Each figure is printed beside a baseline measured in the same run, never asserted.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from sim.broker import Broker
from sim.broker_config import password_line
from sim.certs import make_ca, make_client_cert


def per_call(fn: Callable[[], object], repeat: int) -> float:
    """Mean milliseconds per call of ``fn``."""
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) * 1000 / repeat


def bench_start(gateways: int) -> tuple[float, float]:
    """Seconds to write files and reach readiness, and to connect the last gateway."""
    with tempfile.TemporaryDirectory() as tmp, Broker(Path(tmp)) as broker:
        broker.add_gateways("botkyrka", (f"gw-{i:05d}" for i in range(gateways)))
        broker.add_central(["botkyrka"])
        start = time.perf_counter()
        broker.start()
        ready = time.perf_counter() - start
        start = time.perf_counter()
        with broker.client(f"gw-{gateways - 1:05d}"):
            connected = time.perf_counter() - start
    return ready, connected


def main() -> None:
    print("broker start (files + CONNACK 0 probe), by gateway accounts:")
    for n in (1, 1000, 5000):
        ready, connected = bench_start(n)
        ms = ready * 1000, connected * 1000
        print(f"  {n:>5} gateways: start {ms[0]:7.1f} ms, first client {ms[1]:6.1f} ms")

    with tempfile.TemporaryDirectory() as tmp:
        passwd = Path(tmp) / "passwd"
        subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "u0", "p"], check=True)
        baseline = per_call(
            lambda: subprocess.run(["mosquitto_passwd", "-b", str(passwd), "u", "p"], check=True),
            20,
        )
    direct = per_call(lambda: password_line("u", "p", os.urandom(12)), 2000)
    print(f"password line: direct {direct:.3f} ms/user, mosquitto_passwd -b {baseline:.1f} ms/user")

    now = datetime.now(UTC)
    ca = make_ca("bench CA", now)
    ec = per_call(lambda: make_client_cert(ca, "gw-1", now), 200)
    rsa_key = per_call(lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), 5)
    print(f"client certificate: EC P-256 key + signature {ec:.2f} ms")
    print(f"  baseline: RSA-2048 key alone {rsa_key:.1f} ms")


if __name__ == "__main__":
    main()
