"""Errors of the central service. One root, :class:`DriftvaktError`; each
subclass also inherits the builtin it resembles (STYLE.md, rule 10)."""

from __future__ import annotations

from dataclasses import dataclass


class DriftvaktError(Exception):
    """Root of every error Driftvakt raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input file: where, what and how to fix it.

    :param str where: the key path (``steps.contact_homecare.role``) or
        ``line 7, column night_checks``.
    :param str value: the offending value, quoted as read.
    :param str message: what is wrong.
    :param str fix: what to write instead.
    """

    where: str
    value: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message} (got {self.value}); fix: {self.fix}"


class ConfigError(DriftvaktError, ValueError):
    """A configuration file is invalid; ``problems`` lists every fault found."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{lines}")


class PolicyError(ConfigError):
    """The routine policy is invalid (docs/policy.md)."""


class RegistryError(ConfigError):
    """The registry CSV has bad rows; nothing was imported (docs/registry.md)."""


class EngineError(DriftvaktError, RuntimeError):
    """The engine was asked something its state cannot answer (a bug in the caller)."""


class UnknownTask(EngineError, LookupError):
    """Human input names a task or incident the engine does not know."""


class ReplayInputError(DriftvaktError, ValueError):
    """A line of a replay recording cannot be read (docs/replay.md)."""


class StoreError(DriftvaktError, RuntimeError):
    """The database cannot be reached or is not in the expected shape."""


class BrokerError(DriftvaktError, ConnectionError):
    """The MQTT broker cannot be reached or refused the connection."""


class DeliveryError(DriftvaktError, RuntimeError):
    """A notification could not be delivered; ``permanent`` says whether a retry may help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class ActionError(DriftvaktError, ValueError):
    """A staff action names something that does not exist or cannot be done now."""
