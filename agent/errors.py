"""Errors of the edge agent.

One root, :class:`DriftvaktError`; each subclass also inherits the builtin it
resembles, so callers that know only Python's own exceptions still catch it.
"""

from __future__ import annotations

from dataclasses import dataclass


class DriftvaktError(Exception):
    """Root of every error the agent raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a configuration: where, what was found, what to do."""

    key: str
    value: object
    fix: str

    def __str__(self) -> str:
        return f"{self.key} = {self.value!r}: {self.fix}"


class ConfigError(DriftvaktError, ValueError):
    """The agent's configuration is unreadable or invalid; lists every problem."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {len(self.problems)} problem(s)"]
        lines += [f"  {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


class ConfigCheckFailed(DriftvaktError, RuntimeError):
    """The configuration could not be checked at all (the checking child failed or hung).

    Not a verdict on the file: unlike :class:`ConfigError`, starting again may succeed,
    so the service exits with a code systemd restarts on.
    """


class UnsafeRelayError(ConfigError):
    """A relay wiring that would leave a device unpowered when the pin is released."""


class RelayError(DriftvaktError, RuntimeError):
    """Driving a relay failed (the pin or its factory refused)."""


class IllegalTransition(DriftvaktError, RuntimeError):
    """A state machine was fed an input its transition table does not allow."""


class ProbeError(DriftvaktError, OSError):
    """A probe could not be carried out at all (as opposed to a device not answering)."""


class IcmpNotPermitted(ProbeError, PermissionError):
    """Neither an unprivileged nor a raw ICMP socket may be opened on this system."""
