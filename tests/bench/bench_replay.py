"""Benchmark: ``replay`` of a 100,000-message recording from 2,000 homes.

Prints the time and rate of the full replay (read, parse, engine, JSON out)
next to a baseline measured in the same run: reading and ``protocol.parse``
of the same lines alone, the floor any replay pays. The issue's target is
under 10 s for the full replay on this machine. No assertion: figures only.

Run: ``make bench-engine`` or ``python -m tests.bench.bench_replay [--messages N]``
"""

from __future__ import annotations

import argparse
import io
import time

from central.engine import Engine
from central.policy import load_policy
from central.registry import Registry, read_registry_csv
from central.replay import read_line, replay
from tests.bench.make_recording import make_recording, registry_csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--homes", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    result = read_registry_csv(registry_csv(args.homes))
    registry = Registry(result.homes)
    lines = make_recording(args.homes, args.messages)

    start = time.perf_counter()
    for line in lines:
        read_line(line)
    baseline = time.perf_counter() - start

    engine = Engine(load_policy(), registry)
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    outcome = replay(lines, engine, out, err)
    total = time.perf_counter() - start

    n = len(lines)
    print(
        f"recording: {n} lines, {args.homes} homes; {outcome.decisions} decisions, "
        f"{outcome.bad} bad lines, {len(engine.incidents)} incidents"
    )
    print(f"baseline (read + protocol.parse only): {baseline:6.2f} s  {n / baseline:9.0f} msg/s")
    print(f"replay (parse + engine + JSON out):    {total:6.2f} s  {n / total:9.0f} msg/s")
    print(
        f"engine overhead over baseline:         {total - baseline:6.2f} s  (target: total < 10 s)"
    )


if __name__ == "__main__":
    main()
