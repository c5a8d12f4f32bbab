"""A real Mosquitto broker with the project's TLS, passwords and ACL, on a free port.

Used by the tests (``tests/conftest.py``'s ``broker`` fixture), the demo and
the broker role's test. It writes the CA, the server certificate, the password
file, the ACL and ``mosquitto.conf`` (rendered by :mod:`sim.broker_config`, the
same text production gets) into one directory, starts ``mosquitto -c`` on a
free port, and returns only once a TLS handshake with a client certificate
succeeds. :meth:`Broker.stop` always kills the process, and is safe to call
again. Client certificates are made on demand by :meth:`Broker.account`: the
broker needs only the CA to check them.

Example::

    with Broker(tmp_path) as broker:
        broker.add_gateway("botkyrka", "gw-a")
        broker.add_central(["botkyrka"])
        broker.start()
        with broker.client("central") as central:
            central.subscribe("driftvakt/v1/#")
"""

from __future__ import annotations

import ctypes
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sim.broker_client import (
    CONNACK_ACCEPTED,
    DEFAULT_TIMEOUT,
    DISCONNECT_PACKET,
    BrokerClient,
    Credentials,
    Received,
    connect_packet,
    make_client,
)
from sim.broker_config import (
    DEFAULT_LOG_TYPES,
    Account,
    BrokerSettings,
    CentralAccount,
    GatewayAccount,
    TlsFiles,
    render_acl,
    render_mosquitto_conf,
    render_password_file,
)
from sim.certs import CertKey, make_ca, make_client_cert, make_server_cert
from sim.errors import BrokerConnectError, BrokerError

__all__ = [
    "Broker",
    "BrokerClient",
    "BrokerConnectError",
    "BrokerError",
    "CentralAccount",
    "Credentials",
    "GatewayAccount",
    "Received",
    "connect_packet",
    "find_mosquitto",
    "make_client",
    "render_acl",
    "render_mosquitto_conf",
]

START_TIMEOUT = 10.0
"""Seconds a local Mosquitto gets to accept TLS; it normally takes well under one."""

_PORT_ATTEMPTS = 3
"""A free port can be taken by someone else before Mosquitto binds it: try again."""


def find_mosquitto() -> Path:
    """The ``mosquitto`` executable (``$PATH``, then ``/usr/sbin``).

    :raises BrokerError: not installed; the message says how to install it.
    """
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise BrokerError("mosquitto is not installed: run scripts/bootstrap.sh")
    return Path(found)


class Broker:
    """One Mosquitto process and the files it reads.

    :param directory: an empty or new directory for certificates, config and log.
    :param host: address to bind and dial; the server certificate names it and ``localhost``.
    :param debug: also log debug lines, among them every denied publish (``Denied PUBLISH``).
    :param persistence: keep queued QoS 1 messages of persistent sessions across a restart.
    :param mosquitto: the executable; default :func:`find_mosquitto`.
    :param own_group: run Mosquitto in its own process group, so that a Ctrl-C in the
        terminal reaches only the program that started it (the demo stops it last).

    On Linux the broker also gets SIGTERM when the thread that started it
    ends, so a killed test run leaves no broker behind: start it from a thread
    that outlives it (normally the main thread).
    """

    def __init__(
        self,
        directory: Path,
        *,
        host: str = "127.0.0.1",
        debug: bool = False,
        persistence: bool = False,
        mosquitto: Path | None = None,
        own_group: bool = False,
    ) -> None:
        self.directory = directory
        self.own_group = own_group
        self.host = host
        self.port = 0
        self.debug = debug
        self.persistence = persistence
        self._mosquitto = mosquitto or find_mosquitto()
        self._accounts: dict[str, Account] = {}
        self._passwords: dict[str, str] = {}
        self._creds: dict[str, Credentials] = {}
        self._ca: CertKey | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def cafile(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def log_path(self) -> Path:
        return self.directory / "mosquitto.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Mosquitto's process id while it runs."""
        return self._proc.pid if self._proc is not None and self.running else None

    @property
    def accounts(self) -> list[Account]:
        return list(self._accounts.values())

    def add_gateway(self, tenant: str, gateway: str) -> GatewayAccount:
        """Give gateway ``gateway`` of ``tenant`` an account (user name = gateway id)."""
        account = GatewayAccount(tenant, gateway)
        self._add(account)
        return account

    def add_gateways(self, tenant: str, gateways: Iterable[str]) -> list[GatewayAccount]:
        """Many gateways at once, e.g. ``(f"gw-{i:04d}" for i in range(2000))``."""
        return [self.add_gateway(tenant, g) for g in gateways]

    def add_central(self, tenants: Iterable[str], username: str = "central") -> CentralAccount:
        """Give the central service, serving ``tenants``, an account."""
        account = CentralAccount(tuple(tenants), username)
        self._add(account)
        return account

    def _add(self, account: Account) -> None:
        if self.running:
            raise BrokerError("add accounts while stopped: Mosquitto reads them at start")
        if account.username in self._accounts:
            raise BrokerError(f"broker account {account.username!r} exists already")
        self._accounts[account.username] = account
        self._passwords[account.username] = secrets.token_urlsafe(18)

    def start(self, timeout: float = START_TIMEOUT) -> Broker:
        """Write the files, start Mosquitto and wait until it accepts TLS.

        The first start picks a free port; a start after :meth:`stop` reuses it,
        with the same CA and passwords, so connected clients see an outage and
        reconnect to the same address.

        :param timeout: seconds to wait for readiness.
        :raises BrokerError: it exited or did not accept TLS in time (with the log's tail).
        """
        if self.running:
            raise BrokerError("the broker is running already")
        if not self._accounts:
            raise BrokerError("no accounts: add gateways and the central account first")
        self._write_files()
        fixed_port = self.port != 0
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            self.port = self.port if fixed_port else _free_port(self.host)
            offset = self.log_size()
            self._spawn()
            try:
                self._wait_ready(timeout)
                return self
            except BrokerError:
                self.stop()
                in_use = "Address already in use" in self.log_text(since=offset)
                if fixed_port or not in_use or attempt == _PORT_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def account(self, name: str) -> Credentials:
        """Credentials of account ``name``; its client certificate is made on first use."""
        if name not in self._accounts:
            raise KeyError(f"no broker account {name!r}")
        if name not in self._creds:
            clients = self.directory / "clients"
            clients.mkdir(parents=True, exist_ok=True)
            certfile, keyfile = clients / f"{name}.crt", clients / f"{name}.key"
            make_client_cert(self._authority(), name, datetime.now(UTC)).write(certfile, keyfile)
            password = self._passwords[name]
            self._creds[name] = Credentials(name, password, certfile, keyfile, self.cafile)
        return self._creds[name]

    def client(
        self, name: str, *, timeout: float = DEFAULT_TIMEOUT, **options: Any
    ) -> BrokerClient:
        """A connected, looping client of account ``name``; close it when done.

        :param options: passed to :func:`sim.broker_client.make_client`
            (``client_id``, ``protocol``, ``clean_session``, ...).
        """
        paho = make_client(self.account(name), **options)
        return BrokerClient.connect(paho, self.host, self.port, timeout=timeout)

    def log_size(self) -> int:
        """Bytes logged so far: pass to :meth:`log_text` to read only what came after."""
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_text(self, since: int = 0) -> str:
        """What Mosquitto has logged, from byte offset ``since`` on."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(since)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, text: str, since: int = 0, timeout: float = DEFAULT_TIMEOUT) -> str:
        """Wait until ``text`` appears in the log after byte ``since``; returns that line.

        For events only the broker sees, such as a client's connection being gone.

        :raises TimeoutError: not logged in time.
        """
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log_text(since).splitlines():
                if text in line:
                    return line
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{text!r} not in the broker log within {timeout} s")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop Mosquitto (SIGTERM, then SIGKILL after 5 s); safe to call again."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Broker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _authority(self) -> CertKey:
        if self._ca is None:
            now = datetime.now(UTC)
            self.directory.mkdir(parents=True, exist_ok=True)
            self._ca = make_ca("Driftvakt test CA", now)
            self._ca.write(self.cafile, self.directory / "ca.key")
            hosts = list(dict.fromkeys([self.host, "localhost", "127.0.0.1"]))
            make_server_cert(self._ca, hosts, now).write(
                self.directory / "server.crt", self.directory / "server.key"
            )
        return self._ca

    def _write_files(self) -> None:
        self._authority()
        if self.persistence:
            (self.directory / "data").mkdir(exist_ok=True)
        salts = {u: os.urandom(12) for u in self._passwords}
        (self.directory / "passwords").write_text(render_password_file(self._passwords, salts))
        (self.directory / "acl").write_text(render_acl(self._accounts.values()))

    def _settings(self) -> BrokerSettings:
        d = self.directory
        log_types = (*DEFAULT_LOG_TYPES, "debug") if self.debug else DEFAULT_LOG_TYPES
        return BrokerSettings(
            port=self.port,
            bind_address=self.host,
            tls=TlsFiles(d / "ca.crt", d / "server.crt", d / "server.key"),
            password_file=d / "passwords",
            acl_file=d / "acl",
            persistence_dir=d / "data" if self.persistence else None,
            # Started as root, Mosquitto drops to the `mosquitto` user, which cannot
            # read a test's private directory: stay the user who started it.
            user=_current_user(),
            log_types=log_types,
        )

    def _spawn(self) -> None:
        conf = self.directory / "mosquitto.conf"
        conf.write_text(render_mosquitto_conf(self._settings()))
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            [str(self._mosquitto), "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
            process_group=0 if self.own_group else None,
        )

    def _wait_ready(self, timeout: float) -> None:
        """Ready means: TLS with a client certificate, then CONNACK 0 for a real account."""
        deadline = time.monotonic() + timeout
        creds = self.account(next(iter(self._accounts)))
        context = creds.ssl_context()
        last = "not tried"
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise BrokerError(
                    f"mosquitto exited with {self._proc.returncode}; log:\n{self._tail()}"
                )
            try:
                connack = self._probe(context, creds)
            except OSError as exc:
                last = repr(exc)
                time.sleep(0.02)
                continue
            if connack == CONNACK_ACCEPTED:
                return
            raise BrokerError(f"mosquitto refused {creds.username!r}: CONNACK {connack!r}")
        raise BrokerError(
            f"mosquitto did not accept TLS on {self.host}:{self.port} within {timeout} s "
            f"(last: {last}); log:\n{self._tail()}"
        )

    def _probe(self, context: ssl.SSLContext, creds: Credentials) -> bytes:
        with (
            socket.create_connection((self.host, self.port), timeout=1.0) as raw,
            context.wrap_socket(raw, server_hostname=self.host) as sock,
        ):
            sock.sendall(connect_packet(creds.username, creds.password, "driftvakt-ready-probe"))
            connack = sock.recv(4)
            sock.sendall(DISCONNECT_PACKET)
            return connack

    def _tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def _die_with_parent() -> None:
    """In the child before exec: on Linux, get SIGTERM when the starting thread ends.

    So a test run killed with SIGKILL leaves no broker behind. The starting
    thread must outlive the broker (normally it is the main thread).
    """
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name
