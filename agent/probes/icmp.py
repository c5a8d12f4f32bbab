"""ICMP echo without root where the system allows it.

Linux lets an unprivileged process open a datagram ICMP socket
(``SOCK_DGRAM``/``IPPROTO_ICMP``) when its group is inside
``net.ipv4.ping_group_range``; the kernel then fills in the identifier and
filters replies for us. Otherwise a raw socket needs ``CAP_NET_RAW``. Where
neither is allowed, :class:`~agent.errors.IcmpNotPermitted` says how to fix it.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
import time
from pathlib import Path

from agent.errors import IcmpNotPermitted

__all__ = ["IcmpNotPermitted", "echo", "open_icmp_socket"]

_ECHO_REQUEST, _ECHO_REPLY = 8, 0
_sequence = itertools.count(1)
RANGE_FILE = Path("/proc/sys/net/ipv4/ping_group_range")


def echo(address: str, timeout_s: float) -> float:
    """Send one echo request and wait for its reply.

    :param address: IPv4 address or host name (resolved first, without a timeout of its own).
    :param timeout_s: seconds to wait for the reply.
    :returns: round-trip time in milliseconds.
    :raises TimeoutError: no reply in time.
    :raises IcmpNotPermitted: this process may open no ICMP socket.
    """
    address = socket.gethostbyname(address)
    sock, raw = open_icmp_socket()
    with sock:
        ident, seq, token = os.getpid() & 0xFFFF, next(_sequence) & 0xFFFF, os.urandom(8)
        started = time.monotonic()
        deadline = started + timeout_s
        sock.sendto(_packet(ident, seq, token), (address, 0))
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            try:
                data, source = sock.recvfrom(2048)
            except TimeoutError:
                break
            if raw:
                data = data[(data[0] & 0x0F) * 4 :]
            if source[0] == address and _is_reply(data, ident if raw else None, seq, token):
                return (time.monotonic() - started) * 1000
    raise TimeoutError(f"no echo reply from {address} within {timeout_s:g} s")


def open_icmp_socket() -> tuple[socket.socket, bool]:
    """A datagram ICMP socket if allowed, else a raw one; and whether it is raw."""
    try:
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP), False
    except PermissionError:
        pass
    try:
        return socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP), True
    except PermissionError as exc:
        raise IcmpNotPermitted(_not_permitted()) from exc


def _not_permitted() -> str:
    try:
        current = " ".join(RANGE_FILE.read_text().split())
    except OSError:
        current = "unknown"
    return (
        f"ICMP echo is not permitted: group {os.getgid()} is outside net.ipv4.ping_group_range "
        f"({current}) and the process lacks CAP_NET_RAW; set "
        f'net.ipv4.ping_group_range = "0 2147483647" in /etc/sysctl.d/, '
        f"give the service AmbientCapabilities=CAP_NET_RAW, or use a tcp probe"
    )


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = int(sum(struct.unpack(f"!{len(data) // 2}H", data)))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _packet(ident: int, seq: int, token: bytes) -> bytes:
    header = struct.pack("!BBHHH", _ECHO_REQUEST, 0, 0, ident, seq)
    checksum = _checksum(header + token)
    return struct.pack("!BBHHH", _ECHO_REQUEST, 0, checksum, ident, seq) + token


def _is_reply(data: bytes, ident: int | None, seq: int, token: bytes) -> bool:
    if len(data) < 8 + len(token):
        return False
    kind, _code, _sum, rid, rseq = struct.unpack("!BBHHH", data[:8])
    same_id = ident is None or rid == ident
    return kind == _ECHO_REPLY and same_id and rseq == seq and data[8 : 8 + len(token)] == token
