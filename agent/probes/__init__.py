"""Probes: is a device alive, by ICMP, TCP, HTTP(S) or RTSP, with a timeout each.

:func:`probe_device` probes every target of a device and combines them by the
device's ``match`` rule (``any`` or ``all``). Targets named by MAC are
resolved through the neighbour table first (:mod:`agent.probes.neighbours`).
A probe never raises for a device that does not answer; it returns a failed
:class:`~agent.results.TargetResult` saying why. Only a probe that cannot be
carried out at all (ICMP not permitted) is reported as such in ``detail``.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from agent.errors import ProbeError
from agent.probes import icmp, sockets
from agent.probes.neighbours import NeighbourTable
from agent.results import DeviceResult, TargetResult
from agent.settings import Device, Probe

_DEFAULT_PORTS = {"http": 80, "https": 443, "rtsp": 554}


def describe(probe: Probe) -> str:
    """How a technician would name the target: ``rtsp aa:bb:..:ff :554/``."""
    where = probe.mac or probe.host or "?"
    if probe.mac and probe.host:
        where = f"{probe.mac} (last {probe.host})"
    port = f":{probe.port}" if probe.port else ""
    path = probe.path if probe.kind in ("http", "https", "rtsp") else ""
    return f"{probe.kind} {where}{port}{path}"


def probe_target(probe: Probe, neighbours: NeighbourTable) -> TargetResult:
    """Probe one target once."""
    name = describe(probe)
    address, how = probe.host, "configured host"
    if probe.mac is not None:
        address, how = neighbours.resolve(probe.mac, probe.host)
    if address is None:
        return TargetResult(name, False, None, how)
    if probe.mac is not None:
        name = f"{name} -> {address}"
    try:
        rtt, problem = _run(probe, address)
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        return TargetResult(name, False, None, _reason(exc, probe.timeout_s))
    return TargetResult(name, problem is None, rtt, problem or f"ok via {how}")


def probe_device(device: Device, neighbours: NeighbourTable) -> DeviceResult:
    """Probe every target of a device, one after the other, and combine them."""
    results = tuple(probe_target(p, neighbours) for p in device.probes)
    return DeviceResult.combine(device.match, results)


def probe_all(
    devices: Mapping[str, Device], neighbours: NeighbourTable, pool: ThreadPoolExecutor
) -> dict[str, DeviceResult]:
    """Probe every device at once, one thread each: a hung camera must not delay the router."""
    futures = {
        name: pool.submit(probe_device, device, neighbours) for name, device in devices.items()
    }
    return {name: future.result() for name, future in futures.items()}


def _run(probe: Probe, address: str) -> tuple[float, str | None]:
    port = probe.port or _DEFAULT_PORTS.get(probe.kind, 0)
    if probe.kind == "icmp":
        return icmp.echo(address, probe.timeout_s), None
    if probe.kind == "tcp":
        return sockets.tcp_connect(address, port, probe.timeout_s), None
    if probe.kind == "rtsp":
        status, rtt = sockets.rtsp_options(address, port, probe.path, probe.timeout_s)
    else:
        tls = probe.kind == "https"
        status, rtt = sockets.http_status(
            address, port, probe.path, probe.timeout_s, tls=tls, verify_tls=probe.verify_tls
        )
    return rtt, None if status < 500 else f"{probe.kind.upper()} {status}"


def _reason(exc: BaseException, timeout_s: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"timeout after {timeout_s:g} s"
    if isinstance(exc, ProbeError):
        return str(exc)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return f"{type(exc).__name__}: {exc}"
