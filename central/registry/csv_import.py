"""The registry CSV import (docs/registry.md). Pure: text in, homes or a list of
problems out, each with its line number and the fix. An import with any bad
row imports nothing: the caller swaps registries only on success."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

from central.errors import Problem, RegistryError
from central.registry.models import Home, Registry

COLUMNS = (
    "gateway",
    "homecare_group",
    "night_checks",
    "active",
    "label",
    "camera_serial",
    "router_serial",
    "relay",
    "visit_plan",
    "camera_mac",
    "router_mac",
)
REQUIRED = ("gateway", "homecare_group", "night_checks")
_GATEWAY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_CLOCK_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_MAC_RE = re.compile(r"^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")
_YES_NO = {"yes": True, "no": False, "": None}


@dataclass(slots=True)
class ImportResult:
    """Either homes (``ok``) or problems; never both."""

    homes: list[Home] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_registry_csv(text: str) -> ImportResult:
    """Parse and validate registry CSV text. The header names the columns (any order)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    problems = _header_problems(header)
    if problems:
        return ImportResult(problems=problems)
    reader.fieldnames = header
    homes: list[Home] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        home, row_problems = _row(row, line)
        if home is not None and home.gateway in seen:
            fix = f"each gateway once; it is already on line {seen[home.gateway]}"
            row_problems.append(Problem(f"line {line}, gateway", home.gateway, "duplicate", fix))
        if home is not None:
            seen.setdefault(home.gateway, line)
        problems += row_problems
        if home is not None and not row_problems:
            homes.append(home)
    return ImportResult(problems=problems) if problems else ImportResult(homes=homes)


def load_registry(path: str | Path) -> Registry:
    """Read a registry CSV file; :class:`RegistryError` lists every bad row."""
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        problem = Problem(str(path), "", f"cannot read the file: {exc.strerror}", "give a path")
        raise RegistryError(str(path), [problem]) from exc
    result = read_registry_csv(text)
    if not result.ok:
        raise RegistryError(str(path), result.problems)
    return Registry(result.homes)


def _header_problems(header: list[str]) -> list[Problem]:
    out = []
    for name in REQUIRED:
        if name not in header:
            out.append(
                Problem("line 1 (header)", ",".join(header), f"no column {name!r}", f"add {name}")
            )
    for name in header:
        if name not in COLUMNS:
            fix = f"remove it or use one of: {', '.join(COLUMNS)}"
            out.append(Problem("line 1 (header)", name, "unknown column", fix))
    return out


def _row(row: dict[str | None, str | None], line: int) -> tuple[Home | None, list[Problem]]:
    problems: list[Problem] = []

    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    def bad(column: str, message: str, fix: str) -> None:
        problems.append(Problem(f"line {line}, column {column}", repr(cell(column)), message, fix))

    if row.get(None):
        bad("(extra)", "more cells than columns", "quote values that contain commas")
    gateway = cell("gateway")
    if not _GATEWAY_RE.match(gateway):
        bad("gateway", "not a gateway id", "lower-case letters, digits and '-', e.g. gw-0042")
    if not cell("homecare_group"):
        bad("homecare_group", "empty", "name the client's home-care group")
    checks = _times(cell("night_checks"), "night_checks", bad)
    plan = _times(cell("visit_plan"), "visit_plan", bad) if cell("visit_plan") else None
    macs = {name: _mac(cell(name), name, bad) for name in ("camera_mac", "router_mac")}
    flags = {}
    for name in ("active", "relay"):
        flags[name] = _YES_NO.get(cell(name).lower(), False)
        if cell(name).lower() not in _YES_NO:
            bad(name, "must be yes or no", "write yes or no (empty means yes)")
    if problems:
        return None, problems
    home = Home(
        gateway=gateway,
        homecare_group=cell("homecare_group"),
        night_checks=checks,
        active=flags["active"] is not False,
        label=cell("label"),
        camera_serial=cell("camera_serial"),
        router_serial=cell("router_serial"),
        relay=flags["relay"] is not False,
        visit_plan=plan,
        camera_mac=macs["camera_mac"],
        router_mac=macs["router_mac"],
    )
    return home, []


_Bad = Callable[[str, str, str], None]


def _mac(text: str, column: str, bad: _Bad) -> str:
    """A MAC address as ``aa:bb:cc:dd:ee:ff`` (``-`` separators accepted), or ``""``."""
    mac = text.lower()
    if mac and not _MAC_RE.match(mac):
        bad(column, "not a MAC address", 'six hex pairs, e.g. "00:1a:2b:3c:4d:5e"')
    return mac.replace("-", ":")


def _times(text: str, column: str, bad: _Bad) -> tuple[time, ...]:
    out = []
    for token in text.split():
        match = _CLOCK_RE.match(token)
        if match is None:
            fix = 'local times "HH:MM" separated by spaces, e.g. "22:30 01:30"'
            bad(column, f"{token!r} is not a time", fix)
            continue
        out.append(time(int(match.group(1)), int(match.group(2))))
    if len(set(out)) != len(out):
        bad(column, "a time is listed twice", "list each time once")
    return tuple(sorted(set(out)))
