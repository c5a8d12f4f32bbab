"""The agent's configuration: one TOML file, validated whole.

``load_config`` reads ``/etc/driftvakt/agent.toml`` (or the given path) with
stdlib ``tomllib`` and validates it with pydantic (``extra="forbid"``: a
misspelt key is an error, not a silently ignored default). Field rules live on
the models; rules across sections (dependencies, pins, files, relay safety)
are checked once the fields are valid. Every problem is reported at once, each
with its key path, the value found and the fix, as ``check-config`` prints it.
Relative paths are taken relative to the file's folder.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.errors import ConfigError, Problem
from agent.wiring import KNOWN_BOARDS, Wiring, board_problem, pin_problem
from protocol.broker_url import BrokerAddress, check_broker_url
from protocol.names import DEVICE_RE, GATEWAY_RE, TENANT_RE

DEFAULT_PATH = Path("/etc/driftvakt/agent.toml")
_MAC = r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Gateway(_Section):
    tenant: Annotated[str, Field(pattern=f"^{TENANT_RE.pattern}$")]
    id: Annotated[str, Field(pattern=f"^{GATEWAY_RE.pattern}$")]
    probe_interval_s: Annotated[float, Field(ge=0.1, le=3600)] = 10
    heartbeat_s: Annotated[int, Field(ge=1, le=3600)] = 30
    outbox: Path = Path("/var/lib/driftvakt/outbox.sqlite3")
    state_file: Path = Path("/var/lib/driftvakt/state.json")
    neighbours: str = "/proc/net/arp"
    """Neighbour table for targets named by MAC: a file in /proc/net/arp format, or ``ip-neigh``."""


class Broker(BrokerAddress, _Section):
    url: str
    username: Annotated[str, Field(min_length=1)]
    password: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 60

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_broker_url(value)


class RelayBoard(_Section):
    active_high: bool
    wiring: Wiring = Wiring.NC
    profile: str | None = None
    pin_factory: str | None = None
    """A gpiozero pin factory name (``lgpio``, ``mock``, ``driftvakt-file``); unset: gpiozero's
    choice, which honours ``GPIOZERO_PIN_FACTORY``."""

    @field_validator("profile")
    @classmethod
    def _profile(cls, value: str | None) -> str | None:
        if value is not None and value not in KNOWN_BOARDS:
            raise ValueError(f"unknown board profile; use one of {sorted(KNOWN_BOARDS)} or omit it")
        return value


class Health(_Section):
    down_after: Annotated[int, Field(ge=1, le=100)] = 3
    """Consecutive failed probe rounds before a device is ``down``."""
    arm_after: Annotated[int, Field(ge=1, le=100)] = 2
    """Rounds a device must have been seen up before the agent may restart it."""
    unseen_attempts: Annotated[int, Field(ge=0, le=20)] = 1
    """Power cycles for a device ``down`` and never armed, once its boot wait has passed
    since the agent started (a camera that did not survive a power cut); then ``failed``."""


class Restart(_Section):
    max_consecutive: Annotated[int, Field(ge=1, le=20)] = 3
    max_per_24h: Annotated[int, Field(ge=1, le=100)] = 6
    min_gap_s: Annotated[float, Field(ge=0, le=86400)] = 300
    backoff_base_s: Annotated[float, Field(ge=0, le=86400)] = 60
    backoff_max_s: Annotated[float, Field(ge=0, le=86400)] = 3600
    restore_stagger_s: Annotated[float, Field(ge=0, le=60)] = 0
    """After a cycle of several devices, wait this long between restoring the one
    depended on (the router) and its dependants."""


class Probe(_Section):
    kind: Literal["icmp", "tcp", "http", "https", "rtsp"]
    host: str | None = None
    mac: Annotated[str, Field(pattern=_MAC)] | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    path: str = "/"
    timeout_s: Annotated[float, Field(gt=0, le=30)] = 2
    role: Literal["lan", "wan", "vendor"] = "lan"
    verify_tls: bool = False
    """HTTPS only. Home routers and cameras carry self-signed certificates."""

    @field_validator("mac", mode="before")
    @classmethod
    def _lower_mac(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class Device(_Section):
    relay_pin: Annotated[int, Field(ge=0, le=27)] | None = None
    """BCM pin of the device's relay; none means no automatic restart."""
    off_time_s: Annotated[float, Field(ge=0.1, le=120)] = 10
    boot_wait_s: Annotated[float, Field(ge=0.1, le=1800)] = 180
    depends_on: str | None = None
    match: Literal["any", "all"] = "any"
    probes: Annotated[list[Probe], Field(min_length=1)]


class AgentConfig(_Section):
    gateway: Gateway
    broker: Broker
    relay_board: RelayBoard
    health: Health = Health()
    restart: Restart = Restart()
    devices: Annotated[dict[str, Device], Field(min_length=1)]

    def parents_first(self) -> list[str]:
        """Device names, each after the device it depends on."""
        order: list[str] = []
        for name in sorted(self.devices):
            chain = [name]
            while (parent := self.devices[chain[-1]].depends_on) is not None:
                chain.append(parent)
            order += [n for n in reversed(chain) if n not in order]
        return order


_SECTIONS: tuple[type[BaseModel], ...] = (
    Gateway,
    Broker,
    RelayBoard,
    Health,
    Restart,
    Probe,
    Device,
    AgentConfig,
)


def load_config(path: Path | str = DEFAULT_PATH) -> AgentConfig:
    """Read and validate the configuration, or raise :class:`ConfigError` listing every problem."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            str(path), [Problem("(file)", str(path), exc.strerror or str(exc))]
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            str(path), [Problem("(file)", str(path), f"not valid TOML: {exc}")]
        ) from exc
    try:
        config = AgentConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(str(path), [_problem(e) for e in exc.errors()]) from exc
    config = _resolve_paths(config, path.parent)
    problems = _cross_problems(config)
    if problems:
        raise ConfigError(str(path), problems)
    return config


def _problem(error: Any) -> Problem:
    key = ".".join(str(part) for part in error["loc"]) or "(top)"
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        return Problem(key, error["input"], _unknown_key(str(error["loc"][-1])))
    if kind == "missing":
        return Problem(key, "(missing)", "required: add it")
    template = _FIXES.get(kind)
    message = template.format(**ctx) if template else str(error["msg"])
    message = message.removeprefix("Value error, ")
    return Problem(key, error["input"], message)


_FIXES = {
    "string_pattern_mismatch": "must match {pattern}",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
}


def _unknown_key(name: str) -> str:
    known = {field for model in _SECTIONS for field in model.model_fields}
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f": did you mean {close[0]}?" if close else ""
    return f"unknown key, remove it or correct its spelling{hint}"


def _resolve_paths(config: AgentConfig, base: Path) -> AgentConfig:
    def fix(value: Path | None) -> Path | None:
        return value if value is None or value.is_absolute() else base / value

    broker = config.broker.model_copy(
        update={f: fix(getattr(config.broker, f)) for f in _BROKER_FILES}
    )
    gateway = config.gateway.model_copy(
        update={"outbox": fix(config.gateway.outbox), "state_file": fix(config.gateway.state_file)}
    )
    return config.model_copy(update={"broker": broker, "gateway": gateway})


_BROKER_FILES = ("password_file", "ca_file", "cert_file", "key_file")


def _cross_problems(config: AgentConfig) -> list[Problem]:
    return [
        *_broker_problems(config.broker),
        *_board_problems(config.relay_board),
        *_restart_problems(config.restart),
        *_device_problems(config),
    ]


def _broker_problems(broker: Broker) -> list[Problem]:
    problems = []
    if broker.password is None and broker.password_file is None:
        problems.append(Problem("broker.password", "(missing)", "give password or password_file"))
    if broker.password is not None and broker.password_file is not None:
        problems.append(
            Problem("broker.password", "(hidden)", "give password or password_file, not both")
        )
    for field in _BROKER_FILES:
        value = getattr(broker, field)
        if value is not None and not value.is_file():
            problems.append(Problem(f"broker.{field}", str(value), "no such file: fix the path"))
    if (broker.cert_file is None) != (broker.key_file is None):
        problems.append(
            Problem(
                "broker.cert_file",
                str(broker.cert_file),
                "give both cert_file and key_file, or neither",
            )
        )
    if not broker.tls and (broker.ca_file or broker.cert_file):
        problems.append(Problem("broker.url", broker.url, "TLS files are set: use mqtts://"))
    return problems


def _board_problems(board: RelayBoard) -> list[Problem]:
    problems = []
    profile = KNOWN_BOARDS.get(board.profile or "")
    if profile is not None and profile.active_high != board.active_high:
        problems.append(
            Problem(
                "relay_board.active_high",
                board.active_high,
                f"profile {board.profile!r} is active_high = {str(profile.active_high).lower()}",
            )
        )
    reason = board_problem(board.active_high, board.wiring)
    if reason is not None:
        key = "relay_board.wiring" if board.wiring is not Wiring.NC else "relay_board.active_high"
        value: object = board.wiring.value if board.wiring is not Wiring.NC else board.active_high
        problems.append(Problem(key, value, f"unsafe: {reason}"))
    return problems


def _restart_problems(restart: Restart) -> list[Problem]:
    if restart.backoff_base_s > restart.backoff_max_s:
        return [
            Problem(
                "restart.backoff_base_s",
                restart.backoff_base_s,
                "must not exceed restart.backoff_max_s",
            )
        ]
    return []


def _device_problems(config: AgentConfig) -> list[Problem]:
    problems: list[Problem] = []
    pins: dict[int, str] = {}
    for name, device in sorted(config.devices.items()):
        key = f"devices.{name}"
        if DEVICE_RE.fullmatch(name) is None:
            problems.append(Problem(key, name, f"device names must match {DEVICE_RE.pattern}"))
        problems += _dependency_problems(config, name)
        if device.relay_pin is not None:
            reason = pin_problem(device.relay_pin)
            if reason is not None:
                problems.append(Problem(f"{key}.relay_pin", device.relay_pin, f"unsafe: {reason}"))
            if device.relay_pin in pins:
                problems.append(
                    Problem(
                        f"{key}.relay_pin",
                        device.relay_pin,
                        f"already the relay of {pins[device.relay_pin]}: one pin per device",
                    )
                )
            pins.setdefault(device.relay_pin, name)
        for index, probe in enumerate(device.probes):
            problems += _probe_problems(f"{key}.probes.{index}", probe)
        budget = sum(p.timeout_s for p in device.probes)
        if budget >= config.gateway.probe_interval_s:
            problems.append(
                Problem(
                    f"{key}.probes",
                    f"{budget:g} s of timeouts",
                    "the timeouts must add up to less than gateway.probe_interval_s",
                )
            )
    return problems


def _dependency_problems(config: AgentConfig, name: str) -> list[Problem]:
    key = f"devices.{name}.depends_on"
    parent = config.devices[name].depends_on
    if parent is None:
        return []
    if parent not in config.devices:
        return [Problem(key, parent, f"no such device: use one of {sorted(config.devices)}")]
    seen = {name}
    while parent is not None:
        if parent in seen:
            return [
                Problem(
                    key, config.devices[name].depends_on, "dependencies form a loop: remove one"
                )
            ]
        seen.add(parent)
        parent = config.devices[parent].depends_on if parent in config.devices else None
    return []


def _probe_problems(key: str, probe: Probe) -> list[Problem]:
    problems = []
    if probe.host is None and probe.mac is None:
        problems.append(
            Problem(f"{key}.host", "(missing)", "give host (an address or name), mac, or both")
        )
    if probe.mac is not None and probe.role == "wan":
        problems.append(
            Problem(
                f"{key}.mac",
                probe.mac,
                "a WAN target is outside the home: name it by host, not by MAC",
            )
        )
    if probe.kind == "tcp" and probe.port is None:
        problems.append(Problem(f"{key}.port", "(missing)", "a tcp probe needs a port"))
    if probe.kind == "icmp" and probe.port is not None:
        problems.append(Problem(f"{key}.port", probe.port, "an icmp probe has no port: remove it"))
    return problems
