"""Fake router and camera: real TCP, HTTP(S) and RTSP responders powered by a relay pin.

Each fake device listens on its own loopback address (``127.0.0.x``) so that
probes reach it over real sockets. It watches a :class:`~sim.pins.PowerLine`:
when power is cut it stops answering at once (listeners and open connections
closed); when power returns it answers again after its boot delay.

Failure modes (:class:`Mode`), set at start or any time with :meth:`FakeDevice.set_mode`:

- ``ok``: answers everything.
- ``hang``: accepts TCP connections but never answers HTTP or RTSP (a hung
  video service); a power cycle cures it (the mode returns to ``ok``).
- ``dead``: never answers, power cycle or not.
- ``flapping``: answers for ``flap_s`` seconds, then refuses for ``flap_s``, over and over.
- A slow boot is just a long ``boot_delay_s``.

Ports are chosen by the kernel at the first boot and kept across power cycles.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterable
from enum import StrEnum

from sim.pins import PowerLine

_FIXED_PORTS = {"tcp": 10023, "http": 10080, "https": 10443, "rtsp": 10554}
"""Ports of the fake services: standard ports plus 10000, outside the kernel's
ephemeral range (32768-60999) so that no outgoing connection can take them."""


class Mode(StrEnum):
    OK = "ok"
    HANG = "hang"
    DEAD = "dead"
    FLAPPING = "flapping"


class FakeDevice:
    """One fake device.

    :param str name: ``router`` or ``camera``, for logs and thread names.
    :param str address: its loopback address, e.g. ``127.0.0.2``.
    :param services: which responders it runs (``http``, ``rtsp``, ``tcp``).
    :param float boot_delay_s: seconds from power-on to answering.
    :param float flap_s: half-period of the ``flapping`` mode, seconds.
    :param upstream: the device this one is reached through (the router): while that one
        does not answer, this one accepts connections but answers nothing.
    :param tls: server context for the ``https`` service (a self-signed certificate, as
        home equipment has).
    """

    def __init__(
        self,
        name: str,
        address: str,
        *,
        services: Iterable[str] = ("http",),
        boot_delay_s: float = 0.3,
        mode: Mode = Mode.OK,
        flap_s: float = 0.5,
        upstream: FakeDevice | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        if "https" in services and tls is None:
            raise ValueError("the https service needs a tls server context")
        self.name, self.address = name, address
        self.services = tuple(services)
        self.boot_delay_s, self.flap_s, self.upstream, self.tls = (
            boot_delay_s,
            flap_s,
            upstream,
            tls,
        )
        self.ports: dict[str, int] = {}
        self.boots = 0
        self._mode = mode
        self._lock = threading.RLock()
        self._listeners: dict[str, socket.socket] = {}
        self._conns: set[socket.socket] = set()
        self._power_epoch = 0
        self._powered = False
        self._up = threading.Event()
        self._line: PowerLine | None = None
        self._reserve_ports()

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def answering(self) -> bool:
        """Whether its responders are open right now."""
        return self._up.is_set()

    @property
    def reachable(self) -> bool:
        """Whether a request to it would be answered now (it and its upstream answer, no hang)."""
        upstream = self.upstream is None or self.upstream.reachable
        return upstream and self.answering and self._mode is not Mode.HANG

    def set_mode(self, mode: Mode) -> None:
        """Change behaviour now (``hang`` takes effect on the next request)."""
        with self._lock:
            self._mode = mode
            if mode is Mode.DEAD:
                self._close_all()

    def attach(self, line: PowerLine) -> FakeDevice:
        """Take power from ``line`` (boots if it is on)."""
        self._line = line
        line.watch(self.power)
        return self

    def wait_answering(self, timeout: float) -> bool:
        """Wait until the device answers; seconds; returns whether it does."""
        return self._up.wait(timeout)

    def power(self, on: bool) -> None:
        """The power supply changed (called by the line)."""
        with self._lock:
            if on == self._powered:
                return
            self._powered = on
            self._power_epoch += 1
            if not on:
                self._close_all()
                if self._mode is Mode.HANG:
                    self._mode = Mode.OK
                return
            epoch = self._power_epoch
        threading.Thread(
            target=self._boot, args=(epoch,), name=f"{self.name}-boot", daemon=True
        ).start()

    def close(self) -> None:
        """Stop watching the line and close every socket."""
        if self._line is not None:
            self._line.close()
            self._line = None
        with self._lock:
            self._power_epoch += 1
            self._powered = False
            self._close_all()

    def __enter__(self) -> FakeDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reserve_ports(self) -> None:
        """Fixed ports below the ephemeral range, as a real device has (each fake
        device has a loopback address of its own, so they never collide). A port
        picked by the kernel could be taken by someone else's socket between two
        boots, and the device would then never answer again."""
        for service in self.services:
            probe = socket.socket()
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((self.address, _FIXED_PORTS.get(service, 0)))
            except OSError:
                probe.bind((self.address, 0))
            self.ports[service] = probe.getsockname()[1]
            probe.close()

    def _boot(self, epoch: int) -> None:
        wake = threading.Event()
        wake.wait(self.boot_delay_s)
        flapping = False
        while True:
            with self._lock:
                if epoch != self._power_epoch:
                    return
                if self._mode is Mode.DEAD:
                    return
                if not flapping:
                    self.boots += 1
                    self._open_all()
                if self._mode is not Mode.FLAPPING:
                    return
            wake.wait(self.flap_s)
            with self._lock:
                if epoch != self._power_epoch:
                    return
                self._close_all()
            flapping = True
            wake.wait(self.flap_s)
            with self._lock:
                if epoch == self._power_epoch and self._mode is Mode.FLAPPING:
                    self._open_all()

    def _open_all(self) -> None:
        for service in self.services:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.address, self.ports[service]))
            sock.listen(16)
            self._listeners[service] = sock
            threading.Thread(
                target=self._accept,
                args=(service, sock),
                name=f"{self.name}-{service}",
                daemon=True,
            ).start()
        self._up.set()

    def _close_all(self) -> None:
        self._up.clear()
        for sock in [*self._listeners.values(), *self._conns]:
            # shutdown wakes the thread blocked in accept() or recv(); that thread closes it
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for sock in self._listeners.values():
            sock.close()
        self._listeners.clear()
        self._conns.clear()

    def _accept(self, service: str, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                if listener not in self._listeners.values():
                    conn.close()
                    return
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(service, conn), daemon=True).start()

    def _serve(self, service: str, conn: socket.socket) -> None:
        try:
            if service == "https":
                conn = self._wrap(conn)
            request = _read_head(conn)
            if request is None or service == "tcp" or not self.reachable:
                _drain(conn)
                return
            conn.sendall(_answer(service, request))
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def _wrap(self, conn: socket.socket) -> socket.socket:
        """TLS on an accepted connection; the tracked socket becomes the TLS one."""
        assert self.tls is not None
        conn.settimeout(5)
        with self._lock:
            self._conns.discard(conn)
        wrapped = self.tls.wrap_socket(conn, server_side=True)
        wrapped.settimeout(None)
        with self._lock:
            self._conns.add(wrapped)
        return wrapped


def _read_head(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk or len(data) > 16384:
            return None
        data += chunk
    return data


def _drain(conn: socket.socket) -> None:
    """Hold the connection without answering until the peer or a power cut closes it."""
    while conn.recv(4096):
        pass


def _answer(service: str, request: bytes) -> bytes:
    if service == "rtsp":
        cseq = "0"
        for line in request.decode("latin-1").split("\r\n"):
            if line.lower().startswith("cseq:"):
                cseq = line.split(":", 1)[1].strip()
        return (
            f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n"
            "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"
        ).encode()
    body = b"ok"
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode() + body


def main(argv: list[str] | None = None) -> int:
    """Run one fake device in its own process, powered through a pin file.

    ``python -m sim.devices camera 127.0.0.3 --pin-file $DRIFTVAKT_PIN_DIR/GPIO27``
    prints ``{"ports": {...}}`` once it listens, then runs until SIGTERM or SIGINT.
    """
    import argparse
    import json
    import signal
    from pathlib import Path

    from sim.pins import FilePinLine

    parser = argparse.ArgumentParser(prog="python -m sim.devices", description=main.__doc__)
    parser.add_argument("name")
    parser.add_argument("address")
    parser.add_argument("--pin-file", type=Path, required=True)
    parser.add_argument("--active-low", action="store_true")
    parser.add_argument("--services", default="http,rtsp")
    parser.add_argument("--boot-delay", type=float, default=0.3)
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.OK.value)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    device = FakeDevice(
        args.name,
        args.address,
        services=args.services.split(","),
        boot_delay_s=args.boot_delay,
        mode=Mode(args.mode),
    )
    with device.attach(FilePinLine(args.pin_file, active_high=not args.active_low)):
        print(json.dumps({"ports": device.ports}), flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
