"""The agent process end to end: real Mosquitto, real sockets, fake devices on relay pin files."""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.config import load_config
from agent.mqtt_link import LinkSettings, MqttLink
from agent.outbox import Outbox
from agent.relay import RelayBank
from agent.runner import Runner
from protocol import Command, CommandResult, CommandType, TopicKind, gateway_topic
from sim.broker import Broker
from sim.devices import Mode
from sim.pins import FilePinFactory
from tests.agent_link.conftest import LINK_GATEWAYS, TENANT
from tests.agent_link.home import CAMERA_PIN, AgentHome, Watcher, agent_command, wait_until

HANG_CYCLE = ["device_down", "restart_started", "restart_succeeded", "device_up"]


@pytest.fixture
def make_home(tmp_path: Path) -> Iterator[Callable[..., AgentHome]]:
    homes: list[AgentHome] = []

    def make(broker: Broker, gateway: str, **options: object) -> AgentHome:
        home = AgentHome(tmp_path / f"home-{len(homes)}", broker, gateway, **options)  # type: ignore[arg-type]
        homes.append(home)
        return home

    yield make
    for home in homes:
        home.close()


def _up(watcher: Watcher) -> bool:
    return {"router", "camera"} <= {e.device for e in watcher.events() if e.type == "device_up"}


@contextlib.contextmanager
def _running(
    broker: Broker, home: AgentHome, signum: signal.Signals = signal.SIGTERM
) -> Iterator[Watcher]:
    """The agent started with both devices seen up; on leaving, a clean stop by
    ``signum``, after which everything the agent sent has arrived (``offline`` comes last)."""
    with broker.client("central") as client:
        watcher = Watcher(client, home.gateway)
        home.start()
        watcher.wait(_up)
        yield watcher
        assert home.stop(signum) == 0
        watcher.wait(lambda w: w.availability()[-1:] == [b"offline"])


def test_agent_cycles_hung_camera_and_reports_in_order(
    link_broker: Broker, make_home: Callable[..., AgentHome]
) -> None:
    home = make_home(link_broker, LINK_GATEWAYS[8])
    with _running(link_broker, home) as watcher:
        home.hang_camera()
        watcher.wait(lambda w: w.types("camera")[-4:] == HANG_CYCLE)
        assert home.camera.boots == 2  # the relay really cut its power
    assert watcher.types("camera") == ["device_up", *HANG_CYCLE]
    assert watcher.types(None) == ["agent_started", "agent_stopping"]
    assert watcher.events(None)[-1].detail == {"reason": "sigterm"}
    assert not home.relay_cut(CAMERA_PIN)


def test_agent_process_never_loads_pydantic(
    link_broker: Broker, make_home: Callable[..., AgentHome]
) -> None:
    """pydantic costs the Pi about 10 MB: the config is validated in a child process instead."""
    home = make_home(link_broker, LINK_GATEWAYS[20])
    with _running(link_broker, home):
        assert home.proc is not None
        maps = Path(f"/proc/{home.proc.pid}/maps").read_text()
        assert "_ssl." in maps  # the reading works: TLS's extension module is there
        assert "pydantic" not in maps


def test_agent_dead_camera_fails_after_exactly_the_configured_attempts(
    link_broker: Broker, make_home: Callable[..., AgentHome]
) -> None:
    home = make_home(link_broker, LINK_GATEWAYS[9])
    with _running(link_broker, home) as watcher:
        home.camera.set_mode(Mode.DEAD)
        watcher.wait(lambda w: "restart_exhausted" in w.types("camera"))
    assert watcher.types("camera") == [
        "device_up",
        "device_down",
        "restart_started",
        "restart_failed",
        "restart_started",
        "restart_failed",
        "restart_exhausted",
    ]
    second = [e for e in watcher.events("camera") if e.type == "restart_started"][1]
    assert second.detail["devices"] == ["router", "camera"]  # camera alone first, then both
    assert not home.relay_cut(CAMERA_PIN)


def test_agent_router_dead_makes_camera_unreachable_and_cycles_router_first(
    link_broker: Broker, make_home: Callable[..., AgentHome]
) -> None:
    home = make_home(link_broker, LINK_GATEWAYS[10])
    with _running(link_broker, home) as watcher:
        # Router first: behind a dead router the camera cannot be reached either.
        home.router.set_mode(Mode.DEAD)
        home.camera.set_mode(Mode.DEAD)
        watcher.wait(lambda w: "restart_started" in w.types("router"))
        watcher.wait(lambda w: "device_unreachable" in w.types("camera"))
    starts = [e.device for e in watcher.events() if e.type == "restart_started"]
    assert starts[0] == "router"
    assert "device_down" not in watcher.types("camera")
    assert watcher.types("router")[:3] == ["device_up", "device_down", "restart_started"]


@pytest.mark.parametrize(("signum", "gateway"), [(signal.SIGTERM, 15), (signal.SIGINT, 14)])
def test_agent_stop_signal_during_cut_restores_power_at_once(
    link_broker: Broker, make_home: Callable[..., AgentHome], signum: signal.Signals, gateway: int
) -> None:
    home = make_home(link_broker, LINK_GATEWAYS[gateway], timing={"off_time_s": 60})
    with _running(link_broker, home, signum) as watcher:
        home.hang_camera()
        wait_until(lambda: home.relay_cut(CAMERA_PIN), 10)
    assert not home.relay_cut(CAMERA_PIN)  # long before the 60 s off-time
    assert watcher.types()[-2:] == ["restart_started", "agent_stopping"]
    assert watcher.events(None)[-1].detail == {"reason": signum.name.lower()}
    assert home.camera.wait_answering(5)


def test_agent_sigkill_during_cut_power_is_back_within_2_s_of_next_start(
    link_broker: Broker, make_home: Callable[..., AgentHome]
) -> None:
    home = make_home(link_broker, LINK_GATEWAYS[11], timing={"off_time_s": 30})
    with link_broker.client("central") as client:
        watcher = Watcher(client, home.gateway)
        home.start()
        watcher.wait(_up)
        home.hang_camera()
        wait_until(lambda: home.relay_cut(CAMERA_PIN), 10)
        home.kill()
        watcher.wait(lambda w: w.availability()[-1:] == [b"offline"])  # the last will
        assert home.relay_cut(CAMERA_PIN)  # a killed agent restores nothing
        started = time.monotonic()
        home.start()
        wait_until(lambda: not home.relay_cut(CAMERA_PIN), 2.0, poll=0.005)
        restored_after = time.monotonic() - started
        watcher.wait(lambda w: w.availability()[-1:] == [b"online"])
        assert home.stop() == 0
    print(f"relay back to power-on {restored_after:.2f} s after the restart")
    assert restored_after < 2.0
    assert home.camera.wait_answering(5)


_LOGGED = re.compile(r"agent\.mqtt_link: event (\S+) (\S+) device=(\S+)")


def _logged(home: AgentHome) -> list[tuple[str, str, str]]:
    """(id, type, device) of every event the agent stored, in the order it stored them."""
    found = _LOGGED.findall(home.log_text())
    return [(i, t, d) for i, t, d in found]


def _logged_count(home: AgentHome, type: str, device: str = "-") -> int:
    return sum(1 for _, t, d in _logged(home) if (t, d) == (type, device))


def _wait_camera_ups(home: AgentHome, count: int) -> None:
    wait_until(lambda: _logged_count(home, "device_up", "camera") >= count, 15)


@pytest.mark.slow
def test_agent_outbox_survives_broker_outage_and_two_agent_restarts(
    tmp_path: Path, make_home: Callable[..., AgentHome]
) -> None:
    gw = "gw-outage"
    broker = Broker(tmp_path / "broker", persistence=True)
    broker.add_gateway(TENANT, gw)
    broker.add_central([TENANT])
    (broker.directory / "data").mkdir(parents=True, exist_ok=True)
    with broker.start():
        client = broker.client("central", client_id="central-outage", clean_session=False)
        client.client.reconnect_delay_set(min_delay=1, max_delay=1)
        watcher = Watcher(client, gw)
        home = make_home(broker, gw)
        home.start()
        watcher.wait(_up)
        broker.stop()  # down for the whole outage, through two agent restarts
        for boot in (1, 2, 3):
            if boot > 1:
                assert home.stop() == 0
                home.start()
            _wait_camera_ups(home, 2 * boot - 1)
            home.hang_camera()
            _wait_camera_ups(home, 2 * boot)
        assert home.camera.boots == 4
        broker.start()  # the third agent run reconnects and empties its outbox
        watcher.wait(lambda w: len({e.id for e in w.events()}) == len(_logged(home)), timeout=30)
        assert home.stop() == 0
        expected = _logged(home)
        watcher.wait(lambda w: len({e.id for e in w.events()}) == len(expected), timeout=15)
        client.close()
    seen: dict[str, tuple[str, str]] = {}
    for event in watcher.events():  # a reader deduplicating by id
        seen.setdefault(event.id, (event.type, event.device or "-"))
    assert list(seen.items()) == [(i, (t, d)) for i, t, d in expected]
    boots = list(dict.fromkeys(e.boot for e in watcher.events()))
    assert len(boots) == 3
    cycles = [t for i, (t, d) in seen.items() if d == "camera" and t != "device_up"]
    assert cycles == ["device_down", "restart_started", "restart_succeeded"] * 3


def test_agent_notifies_systemd_ready_watchdog_and_stopping(
    link_broker: Broker,
    make_home: Callable[..., AgentHome],
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(10)
        home = make_home(
            link_broker,
            LINK_GATEWAYS[12],
            extra_env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"},
        )
        home.start()
        received: list[str] = []
        while received.count("WATCHDOG=1") < 3 or not any("camera=up" in m for m in received):
            received.append(sock.recv(4096).decode())
        assert home.stop() == 0
        while not received[-1].startswith("STOPPING=1"):
            received.append(sock.recv(4096).decode())
    assert received[0] == "READY=1\nSTATUS=watching router, camera"
    assert "STATUS=router=up camera=up" in received
    assert received[-1] == "STOPPING=1\nSTATUS=stopping: sigterm"
    state = subprocess.run(
        agent_command(home.config, "state"), capture_output=True, text=True, check=True
    )
    shown = state.stdout
    assert f"gateway {TENANT}/{home.gateway}" in shown
    assert re.search(r"camera\s+up\s+since", shown)


@contextlib.contextmanager
def _in_process(home: AgentHome) -> Iterator[MqttLink]:
    """The agent's parts wired as ``run`` wires them, in this process, with a clock
    taken as synchronised (this machine's is not): what commands need."""
    config = load_config(home.config)
    relays = RelayBank.from_config(config, FilePinFactory(home.pins))
    outbox = Outbox(config.gateway.outbox)
    link = MqttLink(
        LinkSettings.from_config(config), outbox, devices=tuple(config.devices), synced=lambda: True
    )
    runner = Runner(config, link, relays)
    link.target = runner
    stop = threading.Event()
    loop = threading.Thread(target=runner.run, args=(stop,))
    link.start()
    loop.start()
    try:
        yield link
    finally:
        stop.set()
        loop.join()
        link.stop("test")
        relays.close()
        outbox.close()


def test_agent_power_cycle_command_counts_against_the_restart_budget(
    link_broker: Broker, make_home: Callable[..., AgentHome]
) -> None:
    home = make_home(link_broker, LINK_GATEWAYS[16], timing={"max_per_24h": 1})
    cmd = gateway_topic(TENANT, home.gateway, TopicKind.CMD)
    results = gateway_topic(TENANT, home.gateway, TopicKind.CMD_RESULT)
    with link_broker.client("central") as client, _in_process(home):
        watcher = Watcher(client, home.gateway)
        watcher.wait(_up)
        client.publish(cmd, _command("01JCMDE2E0000000000000001"))
        watcher.wait(lambda w: w.types("camera")[-2:] == ["restart_succeeded", "device_up"])
        client.publish(cmd, _command("01JCMDE2E0000000000000002"))
        watcher.wait(lambda w: "command_rejected" in w.types("camera"))
        answers = [
            CommandResult.model_validate_json(m.payload)
            for m in watcher.messages + client.received()
            if m.topic == results
        ]
    assert home.camera.boots == 2  # one cycle: the first command's
    assert [(a.id, a.ok) for a in answers] == [
        ("01JCMDE2E0000000000000001", True),
        ("01JCMDE2E0000000000000002", False),
    ]
    assert answers[0].detail == "power cycle started: camera"
    rejected = [e for e in watcher.events("camera") if e.type == "command_rejected"]
    assert rejected[0].detail["command_id"] == "01JCMDE2E0000000000000002"
    assert rejected[0].detail["reason"] == answers[1].detail
    assert "24 h" in answers[1].detail or "24h" in answers[1].detail, answers[1].detail
    assert watcher.types("camera")[:4] == [
        "device_up",
        "restart_started",
        "restart_succeeded",
        "device_up",
    ]


def _command(command_id: str) -> bytes:
    now = datetime.now(UTC)
    return Command(
        v=1,
        id=command_id,
        ts=now,
        type=CommandType.POWER_CYCLE,
        device="camera",
        by="op-7",
        expires=now + timedelta(minutes=5),
    ).to_payload()


def test_agent_camera_dead_from_the_start_is_cycled_once_then_failed(
    link_broker: Broker, make_home: Callable[..., AgentHome]
) -> None:
    home = make_home(link_broker, LINK_GATEWAYS[18])
    home.camera.set_mode(Mode.DEAD)  # did not survive the power cut that booted the gateway
    with link_broker.client("central") as client:
        watcher = Watcher(client, home.gateway)
        home.start()
        watcher.wait(lambda w: "restart_exhausted" in w.types("camera"))
        assert home.stop() == 0
        watcher.wait(lambda w: w.availability()[-1:] == [b"offline"])
    assert watcher.types("camera") == [
        "device_down",
        "restart_started",
        "restart_failed",
        "restart_exhausted",
    ]
    started, exhausted = (
        e for e in watcher.events("camera") if e.type in ("restart_started", "restart_exhausted")
    )
    assert started.detail["devices"] == ["camera"]
    assert exhausted.detail["reason"].startswith("never armed")
    assert watcher.types("router") == ["device_up"]
    assert not home.relay_cut(CAMERA_PIN)


def test_agent_flapping_camera_never_exceeds_its_24h_budget(
    link_broker: Broker, make_home: Callable[..., AgentHome]
) -> None:
    home = make_home(link_broker, LINK_GATEWAYS[13], timing={"max_per_24h": 2})
    home.camera.flap_s = 1.0
    home.camera.set_mode(Mode.FLAPPING)
    wait_until(lambda: home.camera.boots == 1, 5)
    home.camera.power(False)  # a blip, so that it boots flapping
    home.camera.power(True)
    with _running(link_broker, home) as watcher:
        watcher.wait(lambda w: "restart_exhausted" in w.types("camera"), timeout=60)
        first = watcher.types("camera").index("restart_exhausted")
        # it keeps flapping: answering leaves `failed`, the next outage finds the budget spent
        watcher.wait(lambda w: w.types("camera")[first:].count("device_up") >= 2, timeout=30)
    camera = watcher.types("camera")
    assert camera.count("restart_started") == 2
    assert "restart_started" not in camera[first:]
    assert home.camera.boots == 2 + 2  # its first boot, the blip, two relay cycles
    assert "restart_started" not in watcher.types("router")
