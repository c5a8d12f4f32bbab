"""The agent's configuration: one TOML file, validated whole.

``load_config`` reads ``/etc/driftvakt/agent.toml`` (or the given path) with
stdlib ``tomllib`` and validates it with pydantic (``extra="forbid"``: a
misspelt key is an error, not a silently ignored default). Field rules live on
the models; the valid file is then compiled into the plain objects of
:mod:`agent.settings` (relative paths taken relative to the file's folder),
and rules across sections (dependencies, pins, files, relay safety) are
checked on those. Every problem is reported at once, each with its key path,
the value found and the fix, as ``check-config`` prints it.

``python -m agent.config FILE`` is the child process that
:func:`agent.settings.load_in_child` runs, so that the agent itself never
imports pydantic.
"""

from __future__ import annotations

import difflib
import pickle
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.errors import ConfigError, Problem
from agent.settings import (
    DEFAULT_PATH,
    AgentConfig,
    Broker,
    Device,
    Gateway,
    HealthRules,
    Probe,
    RelayBoard,
    RestartRules,
)
from agent.wiring import KNOWN_BOARDS, Wiring, board_problem, pin_problem
from protocol.broker_url import BrokerAddress, check_broker_url
from protocol.names import DEVICE_RE, GATEWAY_RE, TENANT_RE

_MAC = r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GatewayModel(_Section):
    tenant: Annotated[str, Field(pattern=f"^{TENANT_RE.pattern}$")]
    id: Annotated[str, Field(pattern=f"^{GATEWAY_RE.pattern}$")]
    probe_interval_s: Annotated[float, Field(ge=0.1, le=3600)] = 10
    retry_interval_s: Annotated[float, Field(ge=0.1, le=3600)] | None = None
    """Rounds after a failed one come this soon, to confirm a device down quickly.
    Unset: half of ``probe_interval_s``."""
    heartbeat_s: Annotated[int, Field(ge=1, le=3600)] = 30
    outbox: Path = Path("/var/lib/driftvakt/outbox.sqlite3")
    state_file: Path = Path("/var/lib/driftvakt/state.json")
    neighbours: str = "/proc/net/arp"
    """Neighbour table for targets named by MAC: a file in /proc/net/arp format, or ``ip-neigh``."""


class BrokerModel(BrokerAddress, _Section):
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


class RelayBoardModel(_Section):
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


class HealthModel(_Section):
    down_after: Annotated[int, Field(ge=1, le=100)] = 3
    """Consecutive failed probe rounds before a device is ``down``."""
    arm_after: Annotated[int, Field(ge=1, le=100)] = 2
    """Rounds a device must have been seen up before the agent may restart it."""
    unseen_attempts: Annotated[int, Field(ge=0, le=20)] = 1
    """Power cycles for a device ``down`` and never armed, once its boot wait has passed
    since the agent started (a camera that did not survive a power cut); then ``failed``."""


class RestartModel(_Section):
    max_consecutive: Annotated[int, Field(ge=1, le=20)] = 3
    max_per_24h: Annotated[int, Field(ge=1, le=100)] = 6
    min_gap_s: Annotated[float, Field(ge=0, le=86400)] = 300
    backoff_base_s: Annotated[float, Field(ge=0, le=86400)] = 60
    backoff_max_s: Annotated[float, Field(ge=0, le=86400)] = 3600
    restore_stagger_s: Annotated[float, Field(ge=0, le=60)] = 0
    """After a cycle of several devices, wait this long between restoring the one
    depended on (the router) and its dependants."""


class ProbeModel(_Section):
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


class DeviceModel(_Section):
    relay_pin: Annotated[int, Field(ge=0, le=27)] | None = None
    """BCM pin of the device's relay; none means no automatic restart."""
    off_time_s: Annotated[float, Field(ge=0.1, le=120)] = 10
    boot_wait_s: Annotated[float, Field(ge=0.1, le=1800)] = 180
    depends_on: str | None = None
    match: Literal["any", "all"] = "any"
    probes: Annotated[list[ProbeModel], Field(min_length=1)]


class AgentConfigModel(_Section):
    gateway: GatewayModel
    broker: BrokerModel
    relay_board: RelayBoardModel
    health: HealthModel = HealthModel()
    restart: RestartModel = RestartModel()
    devices: Annotated[dict[str, DeviceModel], Field(min_length=1)]


_SECTIONS: tuple[type[BaseModel], ...] = (
    GatewayModel,
    BrokerModel,
    RelayBoardModel,
    HealthModel,
    RestartModel,
    ProbeModel,
    DeviceModel,
    AgentConfigModel,
)


def load_config(path: Path | str = DEFAULT_PATH) -> AgentConfig:
    """Read, validate and compile the file, or raise :class:`ConfigError` listing every problem."""
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
    return parse_config(raw, path.parent, str(path))


def parse_config(data: Mapping[str, Any], base: Path, source: str = "configuration") -> AgentConfig:
    """Validate and compile configuration data as read from TOML.

    :param base: the folder relative paths are taken from (the file's own).
    :param source: names the file in the error.
    """
    try:
        model = AgentConfigModel.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, [_problem(e) for e in exc.errors()]) from exc
    config = compile_config(model, base)
    problems = _cross_problems(config)
    if problems:
        raise ConfigError(source, problems)
    return config


def compile_config(model: AgentConfigModel, base: Path) -> AgentConfig:
    """The plain runtime objects of a valid model, relative paths resolved against ``base``."""

    def fix(value: Path | None) -> Path | None:
        return None if value is None else _resolve(base, value)

    gateway, broker = model.gateway, model.broker
    return AgentConfig(
        gateway=Gateway(
            **_fields(gateway, "retry_interval_s"),
            retry_interval_s=gateway.retry_interval_s or gateway.probe_interval_s / 2,
            outbox=_resolve(base, gateway.outbox),
            state_file=_resolve(base, gateway.state_file),
        ),
        broker=Broker(
            **_fields(broker),
            password_file=fix(broker.password_file),
            ca_file=fix(broker.ca_file),
            cert_file=fix(broker.cert_file),
            key_file=fix(broker.key_file),
        ),
        relay_board=RelayBoard(**_fields(model.relay_board)),
        health=HealthRules(**_fields(model.health)),
        restart=RestartRules(**_fields(model.restart)),
        devices={name: compile_device(device) for name, device in model.devices.items()},
    )


def _resolve(base: Path, path: Path) -> Path:
    return path if path.is_absolute() else base / path


def compile_device(model: DeviceModel) -> Device:
    """One device's runtime object (probes in file order)."""
    return Device(**_fields(model, "probes"), probes=tuple(compile_probe(p) for p in model.probes))


def compile_probe(model: ProbeModel) -> Probe:
    return Probe(**_fields(model))


def _fields(model: BaseModel, *leave: str) -> dict[str, Any]:
    return {
        name: getattr(model, name)
        for name in type(model).model_fields
        if name not in leave and name not in _PATHS
    }


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


_BROKER_FILES = ("password_file", "ca_file", "cert_file", "key_file")
_PATHS = frozenset((*_BROKER_FILES, "outbox", "state_file"))


def _cross_problems(config: AgentConfig) -> list[Problem]:
    return [
        *_broker_problems(config.broker),
        *_board_problems(config.relay_board),
        *_order_problems(config),
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


def _order_problems(config: AgentConfig) -> list[Problem]:
    """Pairs of keys where the first must not exceed the second."""
    pairs = (
        (
            "gateway.retry_interval_s",
            config.gateway.retry_interval_s,
            "gateway.probe_interval_s",
            config.gateway.probe_interval_s,
        ),
        (
            "restart.backoff_base_s",
            config.restart.backoff_base_s,
            "restart.backoff_max_s",
            config.restart.backoff_max_s,
        ),
    )
    return [
        Problem(key, value, f"must not exceed {limit_key}")
        for key, value, limit_key, limit in pairs
        if value > limit
    ]


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


def main(argv: list[str] | None = None) -> int:
    """The child of :func:`agent.settings.load_in_child`: one pickle on stdout, always exit 0."""
    (path,) = sys.argv[1:] if argv is None else argv
    try:
        result: object = load_config(path)
    except ConfigError as exc:
        result = exc.problems
    sys.stdout.buffer.write(pickle.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
