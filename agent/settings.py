"""The agent's configuration as the running agent holds it: plain frozen objects.

``agent.config`` validates the TOML file with pydantic and compiles it into
these. They are kept apart, and this module imports nothing but the standard
library, so that the long-running ``driftvakt-agent run`` process never loads
pydantic: pydantic and its schemas cost about 10 MB of a Pi's memory, a
quarter of the agent's budget (issue 3: peak RSS at most 40 MB). ``run``
therefore has the file validated and compiled in a short-lived child process
(:class:`ConfigChild`) and receives only these objects.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agent.errors import ConfigCheckFailed, ConfigError
from agent.wiring import Wiring
from protocol.broker_url import BrokerAddress

DEFAULT_PATH = Path("/etc/driftvakt/agent.toml")


@dataclass(frozen=True, slots=True)
class Gateway:
    tenant: str
    id: str
    probe_interval_s: float
    retry_interval_s: float
    heartbeat_s: int
    outbox: Path
    state_file: Path
    neighbours: str


@dataclass(frozen=True, slots=True)
class Broker(BrokerAddress):
    url: str
    username: str
    password: str | None
    password_file: Path | None
    ca_file: Path | None
    cert_file: Path | None
    key_file: Path | None
    keepalive_s: int


@dataclass(frozen=True, slots=True)
class RelayBoard:
    active_high: bool
    wiring: Wiring
    profile: str | None
    pin_factory: str | None


@dataclass(frozen=True, slots=True)
class HealthRules:
    down_after: int
    arm_after: int
    unseen_attempts: int


@dataclass(frozen=True, slots=True)
class RestartRules:
    max_consecutive: int
    max_per_24h: int
    min_gap_s: float
    backoff_base_s: float
    backoff_max_s: float
    restore_stagger_s: float


@dataclass(frozen=True, slots=True)
class Probe:
    kind: str
    host: str | None
    mac: str | None
    port: int | None
    path: str
    timeout_s: float
    role: str
    verify_tls: bool


@dataclass(frozen=True, slots=True)
class Device:
    relay_pin: int | None
    off_time_s: float
    boot_wait_s: float
    depends_on: str | None
    match: str
    probes: tuple[Probe, ...]


@dataclass(frozen=True, slots=True)
class AgentConfig:
    gateway: Gateway
    broker: Broker
    relay_board: RelayBoard
    health: HealthRules
    restart: RestartRules
    devices: Mapping[str, Device]

    def parents_first(self) -> list[str]:
        """Device names, each after the device it depends on."""
        order: list[str] = []
        for name in sorted(self.devices):
            chain = [name]
            while (parent := self.devices[chain[-1]].depends_on) is not None:
                chain.append(parent)
            order += [n for n in reversed(chain) if n not in order]
        return order


CHILD_TIMEOUT_S = 60.0
"""Generous: importing pydantic takes a few seconds on a Pi 3."""


class ConfigChild:
    """The child interpreter that validates and compiles the file (``python -m agent.config``).

    It writes one pickle to stdout: the :class:`AgentConfig`, or the list of
    :class:`Problem` it found. Pickle is safe here because both ends are this
    package, run by the same interpreter; nothing from outside the process pair
    is unpickled. ``run`` starts the child before importing the MQTT stack, so
    that on a Pi's several cores the two overlap and the relays are powered sooner.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = path
        try:
            self._proc: subprocess.Popen[bytes] | OSError = subprocess.Popen(
                [sys.executable, "-m", "agent.config", str(path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            self._proc = exc  # reported by result(), where the caller handles errors

    def result(self, timeout: float = CHILD_TIMEOUT_S) -> AgentConfig:
        """Wait for the child's answer.

        :raises ConfigError: the file is missing, unreadable or invalid (every problem listed).
        :raises ConfigCheckFailed: the child could not run, failed or hung.
        """
        proc = self._proc
        if isinstance(proc, OSError):
            raise ConfigCheckFailed(_child_failed(self.path, proc)) from proc
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.communicate()
            raise ConfigCheckFailed(_child_failed(self.path, exc)) from exc
        if proc.returncode != 0:
            raise ConfigCheckFailed(_child_failed(self.path, err.decode(errors="replace")))
        try:
            answer = pickle.loads(out)
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
            raise ConfigCheckFailed(_child_failed(self.path, f"unreadable answer: {exc}")) from exc
        if isinstance(answer, AgentConfig):
            return answer
        raise ConfigError(str(self.path), list(answer))


def load_in_child(path: Path | str) -> AgentConfig:
    """Validate and compile the file in a child interpreter; see :class:`ConfigChild`."""
    return ConfigChild(path).result()


def _child_failed(path: Path | str, why: object) -> str:
    detail = str(why).strip()[-2000:]
    return (
        f"{path}: the configuration check could not run ({detail});"
        f" try driftvakt-agent check-config {path}"
    )
