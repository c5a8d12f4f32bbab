"""Helpers of the service tests: a configuration pointing at the real test
servers, a settable clock, a running in-process service, and gateway payloads."""

from __future__ import annotations

import json
import secrets
import threading
import time as time_module
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from central.config import CentralConfig, parse_config
from central.policy import default_policy_text
from central.registry import Home
from central.run import Central
from central.store import Store
from central.store import registry as registry_rows
from protocol import format_time, new_id
from sim.broker import Broker

TENANT = "botkyrka"
LARM_MAIL, LARM_PHONE = "larmgruppen@botkyrka.example", "+46700000001"
NATT_MAIL, NATT_PHONE = "nattpatrullen@botkyrka.example", "+46700000002"
JOUR_MAIL, JOUR_PHONE = "jour@botkyrka.example", "+46700000003"


class FakeClock:
    """A clock the test moves; thread-safe because the service's threads read it."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now


def fast_policy(tmp: Path, ack: str = "3s", settle: str = "2s") -> Path:
    """The shipped policy with short deadlines, every role on e-mail and SMS."""
    text = default_policy_text().replace('ack_deadline = "15m"', f'ack_deadline = "{ack}"')
    text = text.replace('settle = "10m"', f'settle = "{settle}"')
    text = text.replace('channels = ["sms", "webhook"]', 'channels = ["sms", "email"]')
    path = tmp / "policy.toml"
    path.write_text(text)
    return path


def make_config(
    broker: Broker, db_url: str, smtp_port: int, sms_url: str, tmp: Path, **extra: Any
) -> dict[str, Any]:
    """A config document (TOML-shaped dict) wired to the test servers."""
    creds = broker.account("central")
    contact = {
        "larmgruppen": {"email": [LARM_MAIL], "phone": [LARM_PHONE]},
        "nattpatrullen": {"email": [NATT_MAIL], "phone": [NATT_PHONE]},
        "jour": {"email": [JOUR_MAIL], "phone": [JOUR_PHONE]},
    }
    data: dict[str, Any] = {
        "tenants": [TENANT],
        "broker": {
            "url": f"mqtts://{broker.host}:{broker.port}",
            "ca_file": str(creds.cafile),
            "cert_file": str(creds.certfile),
            "key_file": str(creds.keyfile),
            "username": creds.username,
            "password": creds.password,
            "client_id": f"central-{secrets.token_hex(4)}",
        },
        "database": {"url": db_url},
        "contacts": {"roles": contact},
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none", "timeout_s": 2},
        "sms": {"url": sms_url, "username": "u-test", "password": "p-test"},
        "links": {"secret": "s" * 32, "public_url": "https://driftvakt.test"},
        "web": {"port": 0},  # the dashboard on a free port: tests may overlap
        "timing": {
            "timer_poll_s": 0.05,
            "outbox_poll_s": 0.05,
            "liveness_poll_s": 0.5,
            "retry_base_s": 0.2,
            "retry_max_s": 1.0,
            "max_attempts": 200,
        },
    }
    data.update(extra)
    return data


def seed_registry(db_url: str, gateways: list[str]) -> None:
    store = Store(db_url)
    store.upgrade()
    homes = [
        Home(
            gateway=g,
            homecare_group="tumba-norra",
            night_checks=(time(22, 30), time(2, 0)),
            camera_serial=f"CAM-{g}",
        )
        for g in gateways
    ]
    with store.session() as session:
        registry_rows.replace(session, TENANT, homes)
    store.close()


@contextmanager
def running(config: CentralConfig, clock: Any) -> Iterator[Central]:
    """The service in this process, its timer loop on a thread; closed afterwards."""
    central = Central(config, clock).start()
    loop = threading.Thread(target=central.run_until_stopped, daemon=True)
    loop.start()
    try:
        yield central
    finally:
        central.stop()
        loop.join(timeout=10)
        central.close()


def snapshot(camera: str, at: datetime, seq: int, boot: str = "BOOT1") -> bytes:
    return json.dumps(
        {
            "v": 1,
            "ts": format_time(at),
            "boot": boot,
            "seq": seq,
            "agent": "0.1.0",
            "uptime_s": 100,
            "heartbeat_s": 30,
            "time_synced": True,
            "devices": {
                "router": {"health": "up", "since": format_time(at)},
                "camera": {"health": camera, "since": format_time(at), "restarts_24h": 3},
            },
        }
    ).encode()


def event(kind: str, at: datetime, seq: int, device: str = "camera", boot: str = "BOOT1") -> bytes:
    return json.dumps(
        {
            "v": 1,
            "id": new_id(),
            "ts": format_time(at),
            "boot": boot,
            "seq": seq,
            "type": kind,
            "device": device,
            "detail": {"attempts": 3} if kind == "restart_exhausted" else {},
        }
    ).encode()


def config_of(data: dict[str, Any]) -> CentralConfig:
    return parse_config(data)


def to_toml(data: dict[str, Any]) -> str:
    """Enough TOML for a config document: tables of strings, numbers, booleans and lists."""
    head: list[str] = []
    tables: list[str] = []

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(str(v))

    def table(name: str, body: dict[str, Any]) -> None:
        plain = {k: v for k, v in body.items() if not isinstance(v, dict)}
        tables.append(f"[{name}]\n" + "".join(f"{k} = {value(v)}\n" for k, v in plain.items()))
        for k, v in body.items():
            if isinstance(v, dict):
                table(f"{name}.{k}", v)

    for key, v in data.items():
        if isinstance(v, dict):
            table(key, v)
        else:
            head.append(f"{key} = {value(v)}\n")
    return "".join(head) + "\n" + "\n".join(tables)


class TickingClock:
    """Real time passing, but starting at a chosen moment (a weekday morning)."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._t0 = time_module.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time_module.monotonic() - self._t0)
