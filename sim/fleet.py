"""Many simulated homes in one process: each a real agent with its own MQTT link.

A :class:`SimHome` is one home: a fake router and camera (:mod:`sim.devices`,
real sockets on their own loopback addresses) powered through the relays of
an in-process mock GPIO header (:mod:`sim.pins`), and the real agent parts
(config file, :class:`~agent.relay.RelayBank`, :class:`~agent.outbox.Outbox`,
:class:`~agent.mqtt_link.MqttLink`, :class:`~agent.runner.Runner`) wired as
``driftvakt-agent run`` wires them, with an injected clock. It adds what a
home has and an agent does not: mains power. A power cut takes the gateway
down without a goodbye (the broker publishes its last will) and the devices
with it; power back boots a new agent (a new ``boot``) on the same outbox and
state file.

A :class:`Fleet` is N homes ``gw-01`` .. ``gw-NN``. Threads per home: the
runner, two probe workers, the MQTT worker and paho's loop, and the fake
devices' listeners; twenty homes are about 200 mostly sleeping threads.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from agent.config import load_config
from agent.mqtt_link import LinkSettings, MqttLink
from agent.outbox import Outbox
from agent.relay import RelayBank
from agent.runner import Runner
from agent.settings import AgentConfig
from protocol import EventType
from sim.devices import FakeDevice, Mode
from sim.errors import SimError
from sim.pins import Listener, MockPinLine, ObservedMockPin, observed_mock_factory

log = logging.getLogger("driftvakt.sim.fleet")

Clock = Callable[[], datetime]
ROUTER_PIN, CAMERA_PIN = 17, 27
DEVICES = ("router", "camera")
HEARTBEAT_MARGIN = 3
"""The heartbeat a home promises is this many times the interval it keeps: on a loaded
2-core machine a few real seconds of delay are many clock minutes at high speed, and
must not look like the fleet going silent."""


def gateway_id(index: int) -> str:
    """``gw-01`` .. ``gw-99``, then ``gw-100``: the demo's pseudonymous gateway ids."""
    return f"gw-{index:02d}"


@dataclass(frozen=True, slots=True)
class Account:
    """How one gateway reaches the broker (the files are the agent's own)."""

    url: str
    username: str
    password: str
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


@dataclass(frozen=True, slots=True)
class Timing:
    """The homes' timings.

    Real seconds (loops that wait, unchanged by the clock's speed): probe
    interval and timeout, heartbeat, relay off-time, a device's boot delay.
    Clock seconds (judged on the injected clock): ``boot_wait_s``,
    ``min_gap_s``, ``backoff_base_s``. :meth:`for_speed` keeps the two
    consistent: the boot wait must outlast a real cycle seen through the clock.
    """

    probe_interval_s: float = 1.0
    probe_timeout_s: float = 0.3
    heartbeat_s: int = 2
    off_time_s: float = 0.5
    boot_delay_s: float = 0.5
    down_after: int = 2
    arm_after: int = 1
    max_consecutive: int = 3
    boot_wait_s: float = 180.0
    min_gap_s: float = 300.0
    backoff_base_s: float = 60.0
    keepalive_s: int = 5

    @classmethod
    def for_speed(cls, speed: float) -> Timing:
        """Real intervals as above; clock-judged waits that stay true at ``speed``."""
        base = cls()
        real_cycle = base.off_time_s + base.boot_delay_s + 3 * base.probe_interval_s
        return cls(boot_wait_s=max(base.boot_wait_s, round(real_cycle * speed)))


class _Supply:
    """A device's power: the mains and its relay's NC contact, in series."""

    def __init__(self, device: FakeDevice) -> None:
        self.device = device
        self.mains = True
        self.relay = True
        self._lock = threading.Lock()

    def relay_changed(self, powered: bool) -> None:
        with self._lock:
            self.relay = powered
            self._apply()

    def set_mains(self, on: bool) -> None:
        with self._lock:
            self.mains = on
            self._apply()

    def _apply(self) -> None:
        self.device.power(self.mains and self.relay)


class _Agent:
    """One boot of a home's agent: link and runner on their own threads."""

    def __init__(self, config: AgentConfig, relays: RelayBank, clock: Clock, speed: float) -> None:
        self.outbox = Outbox(config.gateway.outbox)
        settings = LinkSettings.from_config(config)
        # heartbeat_s is read by central on its (scaled) clock: report it in clock seconds,
        # with room for a busy machine (sending more often than promised is allowed).
        reported = max(1, round(config.gateway.heartbeat_s * speed * HEARTBEAT_MARGIN))
        settings = replace(settings, heartbeat_s=reported)
        self.link = MqttLink(settings, self.outbox, devices=tuple(config.devices), clock=clock)
        self.runner = Runner(config, self.link, relays, clock=clock)
        self.link.target = self.runner
        self.stop = threading.Event()
        self.clock = clock
        self.thread = threading.Thread(
            target=self.runner.run, args=(self.stop,), name=f"agent-{config.gateway.id}"
        )

    def start(self, devices: Sequence[str]) -> None:
        self.link.start()
        self.link.event(EventType.AGENT_STARTED, None, {"devices": list(devices)}, self.clock())
        self.thread.start()

    def shutdown(self, reason: str) -> None:
        """A clean stop, as SIGTERM gives: ``agent_stopping``, then ``offline``."""
        self.stop.set()
        self.thread.join()
        self.link.stop(reason)
        self.outbox.close()

    def lose_power(self) -> None:
        """No goodbye: the connection is cut, the broker publishes the last will."""
        sock = self.link.client.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.stop.set()
        self.thread.join()
        self.link.stop(None, timeout=0.1)
        self.outbox.close()


class SimHome:
    """One simulated home.

    :param gateway: its gateway id.
    :param index: 1.. ; picks its loopback addresses ``127.<block>.<index>.1`` and ``.2``.
    :param root: its own folder (config, outbox, state).
    :param account: its broker account.
    :param clock: the shared clock.
    :param speed: the clock's speed (reported heartbeat in clock seconds).
    """

    def __init__(
        self,
        gateway: str,
        index: int,
        root: Path,
        account: Account,
        *,
        tenant: str = "botkyrka",
        clock: Clock = lambda: datetime.now(UTC),
        speed: float = 1.0,
        timing: Timing | None = None,
        block: int = 77,
    ) -> None:
        high, low = divmod(index, 250)
        if index < 1 or block + high > 254:
            raise SimError(f"home index {index} out of range for addresses 127.{block}.*")
        self.gateway, self.tenant, self.clock, self.speed = gateway, tenant, clock, speed
        self.timing = timing or Timing.for_speed(speed)
        net = f"127.{block + high}.{low}"
        t = self.timing
        self.router = FakeDevice(
            "router", f"{net}.1", services=("http",), boot_delay_s=t.boot_delay_s
        )
        self.camera = FakeDevice(
            "camera", f"{net}.2", services=("rtsp",), boot_delay_s=t.boot_delay_s
        )
        self.devices = {"router": self.router, "camera": self.camera}
        self.supplies = {name: _Supply(device) for name, device in self.devices.items()}
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.config_path = root / "agent.toml"
        self.config_path.write_text(agent_toml(gateway, tenant, account, self.timing, self))
        self.config = load_config(self.config_path)
        self.factory: MockFactory = observed_mock_factory()
        self.relays: RelayBank | None = None
        self.agent: _Agent | None = None
        self._lines: list[MockPinLine] = []
        self.powered = False

    def start(self) -> SimHome:
        """Mains on: the devices boot, the agent starts (relays first, powered)."""
        self.relays = RelayBank.from_config(self.config, self.factory)
        self._watch_relays()
        for supply in self.supplies.values():
            supply.set_mains(True)
        self.agent = _Agent(self.config, self.relays, self.clock, self.speed)
        self.agent.start(tuple(self.config.devices))
        self.powered = True
        return self

    def power_off(self) -> None:
        """The home loses mains power: gateway and devices at once."""
        if not self.powered:
            return
        self.powered = False
        for supply in self.supplies.values():
            supply.set_mains(False)
        self._end_agent(lambda agent: agent.lose_power())

    def power_on(self) -> None:
        """Mains back: everything boots again, the agent with a new ``boot`` id."""
        if not self.powered:
            self.start()

    def set_mode(self, device: str, mode: Mode) -> None:
        """Make ``device`` hang, die, flap or (``ok``) work again."""
        self.devices[device].set_mode(mode)

    def replace(self, device: str) -> None:
        """Someone unplugs ``device``, fixes or swaps it, plugs it in: it works again."""
        supply = self.supplies[device]
        self.devices[device].set_mode(Mode.OK)
        if supply.mains:
            supply.set_mains(False)
            supply.set_mains(True)

    def close(self) -> None:
        """A clean stop (``agent_stopping``, ``offline``), then the devices' sockets."""
        self._end_agent(lambda agent: agent.shutdown("demo_stopped"))
        for device in self.devices.values():
            device.close()

    def _end_agent(self, how: Callable[[_Agent], None]) -> None:
        agent, self.agent = self.agent, None
        if agent is not None:
            how(agent)
        for line in self._lines:
            line.close()
        self._lines = []
        if self.relays is not None:
            self.relays.close()
            self.relays = None

    def _watch_relays(self) -> None:
        for name, pin_number in (("router", ROUTER_PIN), ("camera", CAMERA_PIN)):
            pin = self.factory.pin(pin_number)
            assert isinstance(pin, ObservedMockPin)
            line = MockPinLine(pin, active_high=True)
            listener: Listener = self.supplies[name].relay_changed
            line.watch(listener)
            self._lines.append(line)


def _together(jobs: Sequence[Callable[[], None]]) -> None:
    """Run the jobs on threads of their own and wait for all: a home's stop takes a second."""
    threads = [threading.Thread(target=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def agent_toml(gateway: str, tenant: str, account: Account, t: Timing, home: SimHome) -> str:
    """The home's agent configuration: the production format, demo timings."""

    def path(key: str, value: Path | None) -> str:
        return f'{key} = "{value}"\n' if value is not None else ""

    router, camera = home.router, home.camera
    return f"""# Simulated home {gateway} (driftvakt-sim); see docs/demo.md, "Time".
[gateway]
tenant = "{tenant}"
id = "{gateway}"
probe_interval_s = {t.probe_interval_s}
heartbeat_s = {t.heartbeat_s}
outbox = "outbox.sqlite3"
state_file = "state.json"

[broker]
url = "{account.url}"
username = "{account.username}"
password = "{account.password}"
keepalive_s = {t.keepalive_s}
{path("ca_file", account.ca_file)}{path("cert_file", account.cert_file)}\
{path("key_file", account.key_file)}
[relay_board]
active_high = true
wiring = "nc"
pin_factory = "mock"

[health]
down_after = {t.down_after}
arm_after = {t.arm_after}

[restart]
max_consecutive = {t.max_consecutive}
max_per_24h = 12
min_gap_s = {t.min_gap_s}
backoff_base_s = {t.backoff_base_s}
backoff_max_s = 3600

[devices.router]
relay_pin = {ROUTER_PIN}
off_time_s = {t.off_time_s}
boot_wait_s = {t.boot_wait_s}
probes = [{{ kind = "http", host = "{router.address}", port = {router.ports["http"]}, \
timeout_s = {t.probe_timeout_s} }}]

[devices.camera]
relay_pin = {CAMERA_PIN}
depends_on = "router"
off_time_s = {t.off_time_s}
boot_wait_s = {t.boot_wait_s}
probes = [{{ kind = "rtsp", host = "{camera.address}", port = {camera.ports["rtsp"]}, \
timeout_s = {t.probe_timeout_s} }}]
"""


class AddressClaim:
    """Loopback addresses ``127.<block>.*`` held by one fleet while it lives.

    The fake devices listen on fixed ports, and a dead or unpowered device frees its
    port: another simulation on the same machine (the demo beside ``make test``)
    using the same addresses would then answer this fleet's probes, and a dead
    camera would come back. Each fleet holds a bound socket on ``127.<b>.0.254``
    for every second octet it uses; the kernel refuses a second fleet that socket,
    so it moves on to the next free block. ``127.77`` is left to the agent's tests.

    :param span: how many consecutive second octets the fleet needs (250 homes each).
    """

    FIRST, PORT = 78, 9999

    def __init__(self, span: int) -> None:
        self._held: list[socket.socket] = []
        for block in range(self.FIRST, 256 - span):
            if self._take(block, span):
                self.block = block
                return
        raise SimError("no free loopback block 127.78-254.*: too many fleets on this machine")

    def _take(self, block: int, span: int) -> bool:
        for octet in range(block, block + span):
            sock = socket.socket()
            try:
                sock.bind((f"127.{octet}.0.254", self.PORT))
            except OSError:
                sock.close()
                self.release()
                return False
            self._held.append(sock)
        return True

    def release(self) -> None:
        for sock in self._held:
            sock.close()
        self._held.clear()


class Fleet:
    """Homes ``gw-01`` .. ``gw-NN`` of one tenant, started and stopped together.

    :param accounts: gateway id to its broker account.
    """

    def __init__(
        self,
        root: Path,
        accounts: dict[str, Account],
        *,
        tenant: str = "botkyrka",
        clock: Clock = lambda: datetime.now(UTC),
        speed: float = 1.0,
        timing: Timing | None = None,
    ) -> None:
        self._claim = AddressClaim(1 + len(accounts) // 250)
        self.homes = {
            gateway: SimHome(
                gateway,
                index,
                root / gateway,
                account,
                tenant=tenant,
                clock=clock,
                speed=speed,
                timing=timing,
                block=self._claim.block,
            )
            for index, (gateway, account) in enumerate(sorted(accounts.items()), start=1)
        }

    def __iter__(self) -> Iterator[SimHome]:
        return iter(self.homes.values())

    def __getitem__(self, gateway: str) -> SimHome:
        try:
            return self.homes[gateway]
        except KeyError:
            raise SimError(f"no home {gateway!r} in the fleet") from None

    def start(self) -> Fleet:
        for home in self:
            home.start()
        return self

    def power_off(self, gateways: Sequence[str]) -> None:
        """These homes lose mains power at the same moment (an area's power cut)."""
        _together([self[g].power_off for g in gateways])

    def power_on(self, gateways: Sequence[str]) -> None:
        """Power returns to these homes at the same moment."""
        _together([self[g].power_on for g in gateways])

    def close(self) -> None:
        """Stop every home cleanly, in parallel (each waits for its broker's PUBACKs)."""
        _together([home.close for home in self])
        self._claim.release()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
