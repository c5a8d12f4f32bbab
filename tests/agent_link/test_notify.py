"""sd_notify through a real datagram socket, both with systemd-python and with the fallback."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.notify import Notifier, configure_logging


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    yield sock, path
    sock.close()


def _receive_until(sock: socket.socket, wanted: str, count: int) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + 5
    while sum(wanted in m for m in seen) < count and time.monotonic() < deadline:
        seen.append(sock.recv(4096).decode())
    return seen


@pytest.mark.parametrize("backend", ["systemd", "socket"])
def test_notifier_sends_ready_and_status(
    backend: str, notify_socket: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, path = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    notifier = Notifier(backend)  # type: ignore[arg-type]
    assert notifier.backend == backend
    assert notifier.ready("probing 2 devices")
    assert sock.recv(4096) == b"READY=1\nSTATUS=probing 2 devices"
    assert notifier.status("camera down")
    assert sock.recv(4096) == b"STATUS=camera down"


def test_notifier_fallback_reaches_abstract_socket() -> None:
    name = f"driftvakt-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        notifier = Notifier("socket", env={"NOTIFY_SOCKET": "@" + name})
        assert notifier.stopping("SIGTERM")
        assert sock.recv(4096) == b"STOPPING=1\nSTATUS=SIGTERM"


def test_notifier_without_socket_is_a_quiet_no_op() -> None:
    notifier = Notifier("socket", env={})
    assert notifier.ready() is False
    assert notifier.watchdog_interval is None
    assert notifier.start_watchdog(lambda: True) is False


def test_notifier_watchdog_interval_is_half_and_respects_pid() -> None:
    mine = Notifier("socket", env={"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": str(os.getpid())})
    other = Notifier("socket", env={"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"})
    assert mine.watchdog_interval == 1.5
    assert other.watchdog_interval is None


def test_notifier_pings_watchdog_periodically(notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    notifier = Notifier("socket", env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"})
    assert notifier.start_watchdog(lambda: True)
    seen = _receive_until(sock, "WATCHDOG=1", 3)
    notifier.close()
    notifier.close()
    assert seen[:3] == ["WATCHDOG=1"] * 3


def test_notifier_withholds_watchdog_while_loop_is_stuck(
    notify_socket: tuple[socket.socket, str],
) -> None:
    sock, path = notify_socket
    alive = {"ok": False}
    notifier = Notifier("socket", env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"})
    notifier.start_watchdog(lambda: alive["ok"])
    sock.settimeout(0.3)  # three intervals without a ping
    with pytest.raises(TimeoutError):
        sock.recv(4096)
    alive["ok"] = True
    sock.settimeout(5)
    assert sock.recv(4096) == b"WATCHDOG=1"
    notifier.close()


def test_configure_logging_falls_back_to_stderr() -> None:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        assert configure_logging(journal=False) == "stderr"
        assert [type(h) for h in root.handlers] == [logging.StreamHandler]
    finally:
        root.handlers[:], root.level = saved, level
