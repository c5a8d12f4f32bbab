"""systemd integration: readiness, status and watchdog notifications, and journald logs.

The unit is ``Type=notify`` with ``WatchdogSec=``: systemd restarts an agent
that stops pinging, which catches a hung probe loop that a plain
``Restart=on-failure`` never would. Pings go out at half of ``WATCHDOG_USEC``
(sd_watchdog_enabled(3)) and only while the caller's liveness check passes, so
a wedged loop is restarted rather than kept alive by a healthy side thread.

systemd-python (``systemd.daemon.notify``) is used where installed; otherwise
the datagram is written to ``$NOTIFY_SOCKET`` directly, which is the whole of
the sd_notify protocol (an abstract socket name starts with ``@``).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

Backend = Literal["auto", "systemd", "socket"]
_JOURNAL_SOCKET = Path("/run/systemd/journal/socket")


def _socket_notify(state: str, env: Mapping[str, str]) -> bool:
    """sd_notify(3) without libsystemd: one datagram to ``$NOTIFY_SOCKET``."""
    address = env.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.sendto(state.encode(), address)
    return True


def _systemd_notify() -> Callable[[str], bool] | None:
    try:
        from systemd import daemon
    except ImportError:
        return None
    return lambda state: bool(daemon.notify(state))


class Notifier:
    """Talks to the service manager; every method is a no-op outside systemd.

    :param backend: ``"auto"`` prefers systemd-python, ``"socket"`` forces the
        built-in fallback, ``"systemd"`` requires systemd-python.
    :param env: the environment to read ``NOTIFY_SOCKET``, ``WATCHDOG_USEC``
        and ``WATCHDOG_PID`` from; ``os.environ`` by default.
    """

    def __init__(self, backend: Backend = "auto", env: Mapping[str, str] | None = None) -> None:
        self._env = os.environ if env is None else env
        library = None if backend == "socket" else _systemd_notify()
        if backend == "systemd" and library is None:
            raise ImportError("systemd-python is not installed (pip install systemd-python)")
        # systemd-python reads the process environment; an explicit env needs the fallback.
        self._send: Callable[[str], bool] = self._fallback
        self.backend = "socket"
        if library is not None and env is None:
            self._send, self.backend = library, "systemd"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _fallback(self, state: str) -> bool:
        return _socket_notify(state, self._env)

    def notify(self, state: str) -> bool:
        """Send ``state`` (``KEY=value`` lines); never raises, a failure is logged."""
        try:
            return self._send(state)
        except OSError as exc:
            log.warning("sd_notify %r failed: %s", state.split("=", 1)[0], exc)
            return False

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def stopping(self, status: str = "") -> bool:
        return self.notify("STOPPING=1" + (f"\nSTATUS={status}" if status else ""))

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between pings (half of ``WATCHDOG_USEC``), or None without a watchdog."""
        usec = self._env.get("WATCHDOG_USEC", "")
        pid = self._env.get("WATCHDOG_PID", "")
        if not usec.isdigit() or int(usec) == 0:
            return None
        if pid and pid != str(os.getpid()):
            return None
        return int(usec) / 2_000_000

    def start_watchdog(self, alive: Callable[[], bool]) -> bool:
        """Ping ``WATCHDOG=1`` every :attr:`watchdog_interval` while ``alive()`` is true.

        :returns: False when systemd asked for no watchdog.
        """
        interval = self.watchdog_interval
        if interval is None or self._thread is not None:
            return False
        self._thread = threading.Thread(
            target=self._watch, args=(interval, alive), name="driftvakt-watchdog", daemon=True
        )
        self._thread.start()
        return True

    def _watch(self, interval: float, alive: Callable[[], bool]) -> None:
        while not self._stop.is_set():
            if alive():
                self.notify("WATCHDOG=1")
            else:
                log.error("main loop is not making progress: withholding the watchdog ping")
            self._stop.wait(interval)

    def close(self) -> None:
        """Stop the watchdog thread; calling it again does nothing."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def configure_logging(level: int = logging.INFO, *, journal: bool | None = None) -> str:
    """Send logs to journald where it runs (structured fields), else to stderr.

    :param journal: force the choice; by default journald is used when
        systemd-python is installed and the journal socket exists.
    :returns: ``"journal"`` or ``"stderr"``, for the start-up log line.
    """
    handler: logging.Handler | None = None
    if journal is not False and (journal or _JOURNAL_SOCKET.exists()):
        try:
            from systemd.journal import JournalHandler

            handler = JournalHandler(SYSLOG_IDENTIFIER="driftvakt-agent")
        except ImportError:
            handler = None
    kind = "journal" if handler is not None else "stderr"
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return kind
