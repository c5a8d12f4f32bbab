from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from agent.cli import main
from agent.config import DeviceModel, ProbeModel, compile_device, compile_probe
from agent.probes import icmp, probe_device, probe_target
from agent.probes.neighbours import NeighbourTable, parse_ip_neigh, parse_proc_arp
from agent.relay import Relay
from agent.settings import Probe
from sim.certs import make_ca, make_server_cert
from sim.devices import FakeDevice, Mode
from sim.pins import MockPinLine
from tests.agent.conftest import loopback

MAC = "02:00:5e:10:00:01"
OTHER_MAC = "02:00:5e:10:00:02"
T0_NOW = datetime.now(UTC)


@pytest.fixture
def camera(factory: MockFactory) -> Iterator[tuple[FakeDevice, Relay]]:
    relay = Relay("camera", 27, active_high=True, pin_factory=factory)
    device = FakeDevice("camera", loopback(), services=("http", "rtsp", "tcp"), boot_delay_s=0.05)
    device.attach(MockPinLine(factory.pin(27), active_high=True))
    assert device.wait_answering(5)
    yield device, relay
    device.close()
    relay.close()


def probe(device: FakeDevice, kind: str, **extra: object) -> Probe:
    service = {"https": "http"}.get(kind, kind)
    port = device.ports.get(service)
    return compile_probe(
        ProbeModel.model_validate(
            {"kind": kind, "host": device.address, "port": port, "timeout_s": 0.5, **extra}
        )
    )


def test_probes_answer_while_powered(camera: tuple[FakeDevice, Relay]) -> None:
    device, _ = camera
    table = NeighbourTable("/nonexistent")
    for kind in ("tcp", "http", "rtsp"):
        result = probe_target(probe(device, kind), table)
        assert result.ok, result
        assert result.rtt_ms is not None and result.rtt_ms >= 0


def test_probes_fail_when_the_relay_cuts_power(camera: tuple[FakeDevice, Relay]) -> None:
    device, relay = camera
    relay.cut()
    table = NeighbourTable("/nonexistent")
    for kind in ("tcp", "http", "rtsp"):
        result = probe_target(probe(device, kind), table)
        assert (result.ok, result.detail) == (False, "connection refused")
    relay.restore()
    assert device.wait_answering(5)
    assert probe_target(probe(device, "rtsp"), table).ok


def test_probes_hang_passes_tcp_but_fails_rtsp_and_http(camera: tuple[FakeDevice, Relay]) -> None:
    device, relay = camera
    device.set_mode(Mode.HANG)
    table = NeighbourTable("/nonexistent")
    assert probe_target(probe(device, "tcp"), table).ok
    for kind in ("rtsp", "http"):
        result = probe_target(probe(device, kind), table)
        assert (result.ok, result.detail) == (False, "timeout after 0.5 s")
    relay.cut()
    relay.restore()
    assert device.wait_answering(5)
    assert probe_target(probe(device, "rtsp"), table).ok


def test_probes_any_and_all(camera: tuple[FakeDevice, Relay]) -> None:
    device, _ = camera
    device.set_mode(Mode.HANG)
    targets = [asdict(probe(device, "tcp")), asdict(probe(device, "rtsp"))]
    table = NeighbourTable("/nonexistent")
    assert probe_device(
        compile_device(DeviceModel.model_validate({"probes": targets, "match": "any"})), table
    ).ok
    assert not probe_device(
        compile_device(DeviceModel.model_validate({"probes": targets, "match": "all"})), table
    ).ok


def write_arp(path: Path, rows: list[tuple[str, str, str]]) -> None:
    lines = ["IP address       HW type     Flags       HW address            Mask     Device"]
    lines += [
        f"{ip:<16} 0x1         {flags:<11} {mac}     *        eth0" for ip, mac, flags in rows
    ]
    path.write_text("\n".join(lines) + "\n")


def test_probes_mac_target_follows_a_new_dhcp_address(
    camera: tuple[FakeDevice, Relay], tmp_path: Path
) -> None:
    device, _ = camera
    arp = tmp_path / "arp"
    old = "127.77.251.9"  # where the camera was before the router restart: nobody there now
    write_arp(arp, [(device.address, MAC, "0x2"), (old, OTHER_MAC, "0x2")])
    table = NeighbourTable(str(arp))
    target = probe(device, "rtsp", host=old, mac=MAC.upper())
    result = probe_target(target, table)
    assert result.ok, result
    assert result.target.endswith(f"-> {device.address}")
    assert result.detail == "ok via neighbour table"


def test_probes_mac_target_never_probes_another_devices_address(tmp_path: Path) -> None:
    arp = tmp_path / "arp"
    write_arp(arp, [("127.77.251.9", OTHER_MAC, "0x2")])
    target = compile_probe(
        ProbeModel(kind="tcp", mac=MAC, host="127.77.251.9", port=9, timeout_s=0.2)
    )
    result = probe_target(target, NeighbourTable(str(arp)))
    assert (result.ok, result.detail) == (False, f"{MAC} not in the neighbour table ({arp})")


def test_probes_mac_target_remembers_where_it_was_last_seen(
    camera: tuple[FakeDevice, Relay], tmp_path: Path
) -> None:
    device, _ = camera
    arp = tmp_path / "arp"
    write_arp(arp, [(device.address, MAC, "0x2")])
    table = NeighbourTable(str(arp))
    assert probe_target(probe(device, "rtsp", host=None, mac=MAC), table).ok
    write_arp(arp, [(device.address, MAC, "0x0")])
    result = probe_target(probe(device, "rtsp", host=None, mac=MAC), table)
    assert (result.ok, result.detail) == (True, "ok via last seen")


def test_probes_parse_neighbour_tables() -> None:
    arp = (
        "IP address       HW type     Flags       HW address            Mask     Device\n"
        "192.168.1.1      0x1         0x2         AA:BB:CC:DD:EE:01     *        eth0\n"
        "192.168.1.7      0x1         0x0         00:00:00:00:00:00     *        eth0\n"
    )
    assert parse_proc_arp(arp) == {"aa:bb:cc:dd:ee:01": "192.168.1.1"}
    neigh = (
        "192.168.1.1 dev eth0 lladdr aa:bb:cc:dd:ee:01 REACHABLE\n"
        "192.168.1.50 dev eth0 lladdr aa:bb:cc:dd:ee:02 STALE\n"
        "192.168.1.9 dev eth0  FAILED\n"
    )
    assert parse_ip_neigh(neigh) == {
        "aa:bb:cc:dd:ee:01": "192.168.1.1",
        "aa:bb:cc:dd:ee:02": "192.168.1.50",
    }


def test_probes_icmp_echo_on_loopback() -> None:
    try:
        rtt = icmp.echo("localhost", 1.0)
    except icmp.IcmpNotPermitted as exc:
        pytest.skip(f"no ICMP socket allowed here: {exc}")
    assert 0 <= rtt < 1000


def test_probes_timeout_on_a_silent_listener() -> None:
    with socket.socket() as silent:
        silent.bind((loopback(), 0))
        silent.listen(1)
        host, port = silent.getsockname()
        target = compile_probe(ProbeModel(kind="rtsp", host=host, port=port, timeout_s=0.3))
        result = probe_target(target, NeighbourTable("/nonexistent"))
    assert (result.ok, result.detail) == (False, "timeout after 0.3 s")


def test_probes_probe_command_prints_a_table(
    camera: tuple[FakeDevice, Relay], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device, relay = camera
    config = tmp_path / "agent.toml"
    config.write_text(
        f"""
[gateway]
tenant = "test"
id = "gw-probe"
[broker]
url = "mqtt://127.0.0.1:1883"
username = "gw-probe"
password = "x"
[relay_board]
active_high = true
[devices.camera]
match = "all"
[[devices.camera.probes]]
kind = "rtsp"
host = "{device.address}"
port = {device.ports["rtsp"]}
timeout_s = 0.5
[[devices.camera.probes]]
kind = "tcp"
host = "{device.address}"
port = {device.ports["tcp"]}
timeout_s = 0.5
"""
    )
    assert main(["probe", "-c", str(config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["DEVICE", "TARGET", "OK", "RTT", "MS", "DETAIL"]
    assert out[1].startswith(f"camera  rtsp {device.address}:{device.ports['rtsp']}/")
    assert out[1].split()[3] == "yes"
    assert out[1].endswith("ok via configured host")
    assert out[-1] == "camera: answers (all of 2)"
    relay.cut()
    assert main(["probe", "-c", str(config)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1].endswith("NO  -       connection refused")
    assert out[-1] == "camera: DOES NOT ANSWER (all of 2)"


def test_probes_https_with_a_self_signed_certificate(factory: MockFactory, tmp_path: Path) -> None:
    ca = make_ca("home camera", T0_NOW)
    address = loopback()
    cert = make_server_cert(ca, [address], T0_NOW)
    cert.write(tmp_path / "cert.pem", tmp_path / "key.pem")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    relay = Relay("camera", 27, active_high=True, pin_factory=factory)
    with FakeDevice("camera", address, services=("https",), boot_delay_s=0.01, tls=context) as dev:
        dev.attach(MockPinLine(factory.pin(27), active_high=True))
        assert dev.wait_answering(5)
        table = NeighbourTable("/nonexistent")
        port = dev.ports["https"]
        assert probe_target(
            compile_probe(ProbeModel(kind="https", host=address, port=port)), table
        ).ok
        strict = compile_probe(ProbeModel(kind="https", host=address, port=port, verify_tls=True))
        result = probe_target(strict, table)
        assert not result.ok and "CERTIFICATE_VERIFY_FAILED" in result.detail
        relay.cut()
        result = probe_target(
            compile_probe(ProbeModel(kind="https", host=address, port=port)), table
        )
        assert (result.ok, result.detail) == (False, "connection refused")
    relay.close()
