"""Cross-references of a policy, checked once at the root (Alertmanager's
``checkReceiver``): every name used must be defined, and each problem says
where, what and how to fix it."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from central.errors import Problem
from central.policy.models import OTHERWISE, PolicyModel


def cross_references(model: PolicyModel) -> list[Problem]:
    problems: list[Problem] = []
    problems += _timezone(model)
    problems += _roles(model)
    problems += _windows(model)
    problems += _routes(model)
    problems += _steps_named(model)
    return problems


def _undefined(where: str, name: str, what: str, defined: object) -> Problem:
    names = ", ".join(sorted(defined)) or "none"  # type: ignore[call-overload]
    return Problem(where, repr(name), f"no {what} named {name!r}", f"use one of: {names}")


def _timezone(model: PolicyModel) -> list[Problem]:
    try:
        ZoneInfo(model.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return [
            Problem("timezone", repr(model.timezone), "unknown time zone", 'use "Europe/Stockholm"')
        ]
    return []


def _roles(model: PolicyModel) -> list[Problem]:
    roles = model.roles
    uses = [("fallback_role", model.fallback_role)]
    if model.defaults.escalate_to:
        uses.append(("defaults.escalate_to", model.defaults.escalate_to))
    for sid, step in model.steps.items():
        uses.append((f"steps.{sid}.role", step.role))
        if step.escalate_to:
            uses.append((f"steps.{sid}.escalate_to", step.escalate_to))
    for i, route in enumerate(model.routes):
        if route.owner:
            uses.append((f"routes[{i}].owner", route.owner))
        uses += [(f"routes[{i}].also_tell", r) for r in route.also_tell]
    return [_undefined(where, name, "role", roles) for where, name in uses if name not in roles]


def _windows(model: PolicyModel) -> list[Problem]:
    problems = []
    if OTHERWISE in model.windows:
        problems.append(
            Problem(f"windows.{OTHERWISE}", OTHERWISE, "the name is reserved", "rename the window")
        )
    for name, window in model.windows.items():
        where = f"windows.{name}.calendar"
        if window.calendar and window.calendar not in model.calendars:
            problems.append(_undefined(where, window.calendar, "calendar", model.calendars))
        if window.holidays != "ignore" and not window.calendar:
            fix = 'add calendar = "<name of a [calendars.*] table>"'
            problems.append(Problem(where, "(missing)", "holidays needs a calendar", fix))
    for i, name in enumerate(model.precedence):
        if name not in model.windows:
            problems.append(_undefined(f"precedence[{i}]", name, "window", model.windows))
    for name, cal in model.calendars.items():
        if cal.country not in holidays.list_supported_countries():
            fix = 'use an ISO 3166 code the holidays package supports, e.g. "SE"'
            problems.append(Problem(f"calendars.{name}.country", cal.country, "unsupported", fix))
    return problems


def _routes(model: PolicyModel) -> list[Problem]:
    problems = []
    seen: set[tuple[str, str]] = set()
    for i, route in enumerate(model.routes):
        if route.window != OTHERWISE and route.window not in model.windows:
            defined = [*model.windows, OTHERWISE]
            problems.append(_undefined(f"routes[{i}].window", route.window, "window", defined))
        if (route.kind, route.window) in seen:
            fix = "merge the two routes into one"
            msg = f"a second route for kind {route.kind!r} and window {route.window!r}"
            problems.append(Problem(f"routes[{i}]", route.window, msg, fix))
        seen.add((route.kind, route.window))
        for j, rs in enumerate(route.steps):
            if rs.step not in model.steps:
                problems.append(
                    _undefined(f"routes[{i}].steps[{j}].step", rs.step, "step", model.steps)
                )
            nxt = rs.at.removeprefix("next:")
            if rs.at.startswith("next:") and nxt not in model.windows:
                problems.append(
                    _undefined(f"routes[{i}].steps[{j}].at", nxt, "window", model.windows)
                )
        for j, sid in enumerate(route.on_recovery):
            if sid not in model.steps:
                problems.append(
                    _undefined(f"routes[{i}].on_recovery[{j}]", sid, "step", model.steps)
                )
    return problems


def _steps_named(model: PolicyModel) -> list[Problem]:
    problems = []
    wanted = {f"followups.{k}": (v, k) for k, v in model.followups.model_dump().items()}
    wanted["visits.step"] = (model.visits.step, "physical_visit")
    for where, (sid, action) in wanted.items():
        step = model.steps.get(sid)
        if step is None:
            problems.append(_undefined(where, sid, "step", model.steps))
        elif step.action != action:
            fix = f"name a step whose action is {action!r}"
            problems.append(Problem(where, sid, f"step has action {step.action!r}", fix))
    if model.visits.window not in model.windows:
        problems.append(_undefined("visits.window", model.visits.window, "window", model.windows))
    return problems
