"""TCP connect, HTTP(S) status and RTSP ``OPTIONS``, stdlib only, each with a timeout.

A camera can answer ping while its video service is dead, so the camera's
proof of life is usually its RTSP service (docs/agent.md, "Probes per camera
model"). Any status below 500 counts as alive: a ``401`` still proves the
service is running; a hang is what these probes exist to catch.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time


def tcp_connect(host: str, port: int, timeout_s: float) -> float:
    """Open and close a TCP connection; returns the connect time in milliseconds."""
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=timeout_s):
        return (time.monotonic() - started) * 1000


def http_status(
    host: str, port: int, path: str, timeout_s: float, *, tls: bool, verify_tls: bool
) -> tuple[int, float]:
    """``GET path``; returns (status, milliseconds to the status line)."""
    started = time.monotonic()
    connection: http.client.HTTPConnection
    if tls:
        context = ssl.create_default_context()
        if not verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(host, port, timeout=timeout_s, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        connection.request("GET", path, headers={"Connection": "close", "User-Agent": "driftvakt"})
        status = connection.getresponse().status
    finally:
        connection.close()
    return status, (time.monotonic() - started) * 1000


def rtsp_options(host: str, port: int, path: str, timeout_s: float) -> tuple[int, float]:
    """``OPTIONS`` over RTSP/1.0; returns (status, milliseconds to the status line).

    :param timeout_s: seconds for the whole exchange, connect included.
    """
    started = time.monotonic()
    deadline = started + timeout_s
    request = (
        f"OPTIONS rtsp://{host}:{port}{path} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: driftvakt\r\n\r\n"
    )
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(request.encode())
        data = b""
        while b"\r\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no RTSP answer within {timeout_s:g} s")
            sock.settimeout(remaining)
            chunk = sock.recv(1024)
            if not chunk:
                raise ConnectionError("connection closed before an RTSP answer")
            data += chunk
    line = data.split(b"\r\n", 1)[0].decode("latin-1").split()
    if len(line) < 2 or not line[0].startswith("RTSP/") or not line[1].isdigit():
        raise ConnectionError(f"not an RTSP answer: {data[:40]!r}")
    return int(line[1]), (time.monotonic() - started) * 1000
