"""``probe``: probe every device once and print a table, for a technician on site."""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agent.commands import add_config_option, config_or_report
from agent.probes import probe_all
from agent.probes.neighbours import NeighbourTable
from agent.results import DeviceResult


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "probe", help="probe every device once and print a table", description=__doc__
    )
    add_config_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = config_or_report(args.config)
    if config is None:
        return 2
    with ThreadPoolExecutor(max_workers=len(config.devices)) as pool:
        results = probe_all(config.devices, NeighbourTable(config.gateway.neighbours), pool)
    print(table(results, {n: d.match for n, d in config.devices.items()}))
    return 0 if all(r.ok for r in results.values()) else 1


def table(results: dict[str, DeviceResult], match: dict[str, str]) -> str:
    """One line per target, then one verdict per device."""
    rows = [("DEVICE", "TARGET", "OK", "RTT MS", "DETAIL")]
    for name, result in results.items():
        for t in result.targets:
            rtt = f"{t.rtt_ms:.1f}" if t.rtt_ms is not None else "-"
            rows.append((name, t.target, "yes" if t.ok else "NO", rtt, t.detail))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    ]
    verdicts = [
        f"{name}: {'answers' if r.ok else 'DOES NOT ANSWER'} ({match[name]} of {len(r.targets)})"
        for name, r in results.items()
    ]
    return "\n".join([*lines, "", *verdicts])
