"""A whole municipality's central side on one machine: config, registry, accounts, process.

Used by ``driftvakt-sim demo`` and by the end-to-end tests, so that both run
the central service exactly as production does: ``driftvakt-central run
--config FILE`` in its own process, on SQLite, with the shipped policy, the
registry imported and staff accounts made through the same code as the
``registry import`` and ``users add`` commands, plus ``--sim-clock`` so that
it shares the simulator's clock.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sim.broker import Broker
from sim.errors import SimError

TENANT = "botkyrka"
GROUPS = ("alby", "tumba-norra", "fittja", "hallunda")
"""Home-care groups, five homes each in gateway order (``gw-11`` .. ``gw-15``: fittja)."""
CHECKS = ("22:00 01:00 04:00", "22:30 02:30 05:30", "23:00 03:00")
ROLE_CONTACTS = {
    "larmgruppen": ("larmgruppen@botkyrka.example", "+46700000101"),
    "nattpatrullen": ("nattpatrullen@botkyrka.example", "+46700000102"),
    "it_funktion": ("it-bestallningar@botkyrka.example", "+46700000103"),
    "digital_tillsyn": ("digital-tillsyn@botkyrka.example", "+46700000104"),
    "enhetschef": ("enhetschef-natt@botkyrka.example", "+46700000105"),
    "jour": ("jour@botkyrka.example", "+46700000106"),
}
"""Demo addresses: ``.example`` mail and 0700-series numbers reach only the local sinks."""


@dataclass(frozen=True, slots=True)
class StaffAccount:
    username: str
    role: str
    password: str
    name: str


DEMO_ACCOUNTS = (
    StaffAccount("demo", "admin", "driftvakt-demo", "Demo (admin)"),
    StaffAccount("natt", "nattpatrullen", "driftvakt-natt", "Nattpatrullen (demo)"),
)


def registry_csv(gateways: list[str]) -> str:
    """The registry of the demo's homes: every one active, with a relay and night checks."""
    lines = ["gateway,homecare_group,night_checks,active,label,camera_serial,router_serial,relay"]
    for index, gateway in enumerate(gateways):
        group = GROUPS[min(index // 5, len(GROUPS) - 1)]
        checks = CHECKS[index % len(CHECKS)]
        number = gateway.removeprefix("gw-")
        label = f"Brukare {number} (påhittad)"
        lines.append(
            f"{gateway},{group},{checks},yes,{label},CAM-DEMO-{number},RTR-DEMO-{number},yes"
        )
    return "\n".join(lines) + "\n"


@dataclass
class Sinks:
    """Where central's channels point: the local mail, SMS and webhook sinks."""

    smtp_port: int
    sms_url: str
    sms_username: str
    sms_password: str
    webhook_url: str


@dataclass
class CentralSite:
    """The files of one central service and how to reach its dashboard.

    :param root: a folder of its own (config, database, log).
    """

    root: Path
    broker: Broker
    gateways: list[str]
    sinks: Sinks
    web_port: int
    inbox: Path | None = None
    fast_policy: dict[str, str] = field(default_factory=dict)
    """Replacements in the shipped policy's text (tests shorten deadlines)."""

    @property
    def config_path(self) -> Path:
        return self.root / "central.toml"

    @property
    def db_path(self) -> Path:
        return self.root / "central.db"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def write(self) -> CentralSite:
        """Write the config, import the registry and add the staff accounts."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "registry.csv").write_text(registry_csv(self.gateways))
        self.config_path.write_text(self._config_toml())
        self._prepare_store()
        return self

    def _policy_line(self) -> str:
        if not self.fast_policy:
            return ""
        from central.policy import default_policy_text

        text = default_policy_text()
        for old, new in self.fast_policy.items():
            if old not in text:
                raise SimError(f"the shipped policy has no {old!r} to replace")
            text = text.replace(old, new)
        (self.root / "policy.toml").write_text(text)
        return f'policy = "{self.root / "policy.toml"}"\n'

    def _config_toml(self) -> str:
        creds = self.broker.account("central")
        contacts = "".join(
            f'[contacts.roles.{role}]\nemail = ["{mail}"]\nphone = ["{phone}"]\n\n'
            for role, (mail, phone) in ROLE_CONTACTS.items()
        )
        groups = "".join(
            f'[contacts.groups.{g}]\nemail = ["hemtjanst.{g}@botkyrka.example"]\n'
            f'phone = ["+467000002{i:02d}"]\n\n'
            for i, g in enumerate(GROUPS)
        )
        inbox = f'demo_inbox = "{self.inbox}"\n' if self.inbox is not None else ""
        s = self.sinks
        return f"""# Written by driftvakt-sim for the demo (docs/demo.md); not a production example.
tenants = ["{TENANT}"]
registry = "{self.root / "registry.csv"}"
{self._policy_line()}
[broker]
url = "mqtts://{self.broker.host}:{self.broker.port}"
ca_file = "{creds.cafile}"
cert_file = "{creds.certfile}"
key_file = "{creds.keyfile}"
username = "{creds.username}"
password = "{creds.password}"
client_id = "driftvakt-central-demo"
keepalive_s = 5
reconnect_max_s = 2

[database]
url = "sqlite:///{self.db_path}"

{contacts}{groups}[smtp]
host = "127.0.0.1"
port = {s.smtp_port}
security = "none"
from_addr = "driftvakt@botkyrka.example"
timeout_s = 5

[sms]
url = "{s.sms_url}"
username = "{s.sms_username}"
password = "{s.sms_password}"
sender = "Driftvakt"

[webhook]
url = "{s.webhook_url}"

[links]
public_url = "{self.url}"
secret = "{secrets.token_hex(24)}"

[timing]
timer_poll_s = 0.1
outbox_poll_s = 0.2
liveness_poll_s = 0.2
retry_base_s = 1
retry_max_s = 10

[web]
host = "127.0.0.1"
port = {self.web_port}
live_poll_s = 0.5
{inbox}"""

    def _prepare_store(self) -> None:
        from central.config import load_config
        from central.registry import read_registry_csv
        from central.store import Store
        from central.store import registry as registry_rows
        from central.web.accounts import Accounts

        config = load_config(self.config_path)
        homes = read_registry_csv(registry_csv(self.gateways))
        if not homes.ok:
            raise SimError(f"demo registry: {homes.problems}")
        store = Store(config.database.url)
        try:
            store.upgrade()
            with store.session() as session:
                registry_rows.replace(session, TENANT, homes.homes)
            accounts, now = Accounts(store), datetime.now(UTC)
            for a in DEMO_ACCOUNTS:
                accounts.add(
                    a.username, a.role, a.password, now=now, by="driftvakt-sim", display_name=a.name
                )
        finally:
            store.close()


class CentralProcess:
    """``driftvakt-central run`` as a child process, its output in ``central.log``.

    :param clock_spec: :meth:`sim.clock.ScaledClock.spec`, or ``None`` for the real clock.
    """

    def __init__(self, site: CentralSite, clock_spec: str | None) -> None:
        self.site, self.clock_spec = site, clock_spec
        self.log_path = site.root / "central.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> CentralProcess:
        """Start it and wait until ``/healthz`` answers 200.

        :raises SimError: it exited or did not become healthy in time (with its log's tail).
        """
        command = [
            sys.executable,
            "-m",
            "central.cli",
            "run",
            "--config",
            str(self.site.config_path),
        ]
        if self.clock_spec is not None:
            command += ["--sim-clock", self.clock_spec]
        with self.log_path.open("ab") as log:
            # Its own process group: Ctrl-C reaches the demo, which stops central in order.
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
            )
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise SimError(f"driftvakt-central exited ({self.proc.returncode}):\n{self.tail()}")
            if self.healthy():
                return
            time.sleep(0.1)
        raise SimError(f"driftvakt-central not healthy within {timeout} s:\n{self.tail()}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.site.url + "/healthz", timeout=2) as answer:
                return bool(answer.status == 200 and json.loads(answer.read()))
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait (SIGKILL after ``timeout``); the exit code. Safe to call again."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode
