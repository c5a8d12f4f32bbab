"""From policy file to runtime policy: read TOML, validate, check the
cross-references once at the root, then compile to frozen objects with the
defaults resolved (STYLE.md section 3, Alertmanager's ``NewRoute``)."""

from __future__ import annotations

import hashlib
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from central.errors import PolicyError, Problem
from central.policy.calendar import Calendar
from central.policy.models import WEEKDAYS, PolicyModel
from central.policy.references import cross_references
from central.policy.runtime import Policy, Route, RouteStep, Step
from central.policy.windows import Window

DEFAULT_POLICY = "botkyrka.toml"


def default_policy_text() -> str:
    """The shipped Botkyrka policy, as package data."""
    return resources.files("central.policy").joinpath(DEFAULT_POLICY).read_text("utf-8")


def load_policy(path: str | Path | None = None) -> Policy:
    """Read, validate and compile a policy file; ``None`` gives the shipped default.

    :raises PolicyError: naming every bad key, its value and the fix.
    """
    if path is None:
        return parse_policy(default_policy_text(), source=f"(default) {DEFAULT_POLICY}")
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        problem = Problem(str(path), "", f"cannot read the file: {exc.strerror}", "give a path")
        raise PolicyError(str(path), [problem]) from exc
    return parse_policy(text, source=str(path))


def parse_policy(text: str, source: str = "policy") -> Policy:
    """Validate and compile policy TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problem = Problem("(file)", "", f"not valid TOML: {exc}", "fix the TOML syntax")
        raise PolicyError(source, [problem]) from None
    return policy_from_data(data, source)


def policy_from_data(data: dict[str, Any], source: str = "policy") -> Policy:
    try:
        model = PolicyModel.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(source, _problems(exc)) from None
    problems = cross_references(model)
    if problems:
        raise PolicyError(source, problems)
    return compile_policy(model)


def _problems(exc: ValidationError) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        missing = err["type"] == "missing"
        value = "(missing)" if missing else json.dumps(err.get("input"), default=str)[:80]
        message, _, fix = err["msg"].removeprefix("Value error, ").partition(" | ")
        out.append(Problem(where, value, message, fix or _fix(err["type"])))
    return out


def _fix(kind: str) -> str:
    if kind == "extra_forbidden":
        return "remove the key or correct its spelling (docs/policy.md lists every key)"
    if kind == "missing":
        return "add the key (docs/policy.md)"
    if kind == "literal_error":
        return "use one of the values listed in the message"
    if kind == "string_pattern_mismatch":
        return "use lower-case letters, digits and '_', starting with a letter"
    return "see docs/policy.md"


def policy_hash(model: PolicyModel) -> str:
    """A stable hash of the validated policy: what a running incident keeps."""
    canonical = json.dumps(model.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def compile_policy(model: PolicyModel) -> Policy:
    """Resolve names and defaults into runtime objects (assumes cross-references checked)."""
    tz = ZoneInfo(model.timezone)
    calendars = {
        name: Calendar(name, c.country, tuple(c.categories), frozenset(c.extra_dates))
        for name, c in model.calendars.items()
    }
    windows = _windows(model, tz, calendars)
    steps = {sid: _step(model, sid) for sid in model.steps}
    return Policy(
        id=model.id,
        name=model.name,
        hash=policy_hash(model),
        source=model.model_dump(mode="json"),
        tz=tz,
        fallback_role=model.fallback_role,
        precedence=tuple(model.precedence),
        windows=windows,
        calendars=calendars,
        roles={name: r.name or name for name, r in model.roles.items()},
        steps=steps,
        routes=_routes(model, steps),
        missed_heartbeats=model.outage.missed_heartbeats,
        silence_grace=model.outage.silence_grace,
        check_lead=model.outage.check_lead,
        settle=model.outage.settle,
        extensive_threshold=model.extensive.threshold,
        extensive_within=model.extensive.within,
        blind_share=model.blind.silent_share,
        blind_within=model.blind.within,
        visit_step=steps[model.visits.step],
        visit_window=windows[model.visits.window],
        vendor=model.vendor.model_dump(),
        followups={k: steps[v] for k, v in model.followups.model_dump().items()},
    )


def _windows(model: PolicyModel, tz: ZoneInfo, calendars: dict[str, Calendar]) -> dict[str, Window]:
    return {
        name: Window(
            name=name,
            days=frozenset(WEEKDAYS.index(d) for d in w.days),
            start=w.start,
            end=w.end,
            tz=tz,
            calendar=calendars[w.calendar] if w.calendar else None,
            holidays=w.holidays,
            description=w.description,
        )
        for name, w in model.windows.items()
    }


def _routes(model: PolicyModel, steps: dict[str, Step]) -> tuple[Route, ...]:
    return tuple(
        Route(
            kind=r.kind,
            window=r.window,
            owner=r.owner or _owner(r.steps, steps),
            handover=r.handover,
            also_tell=tuple(r.also_tell),
            on_recovery=tuple(steps[s] for s in r.on_recovery),
            steps=tuple(RouteStep(steps[s.step], s.at) for s in r.steps),
        )
        for r in model.routes
    )


def _step(model: PolicyModel, sid: str) -> Step:
    s, d = model.steps[sid], model.defaults
    role_channels = model.roles[s.role].channels
    escalate_to = s.escalate_to or d.escalate_to or model.fallback_role
    return Step(
        id=sid,
        action=s.action,
        role=s.role,
        channels=tuple(s.channels or role_channels or d.channels),
        ack_deadline=s.ack_deadline or d.ack_deadline,
        reminders_before_escalation=_first(
            s.reminders_before_escalation, d.reminders_before_escalation
        ),
        max_reminders=_first(s.max_reminders, d.max_reminders),
        escalate_to=escalate_to,
        notice=s.notice,
    )


def _first(value: int | None, default: int) -> int:
    return default if value is None else value


def _owner(route_steps: list[Any], steps: dict[str, Step]) -> str:
    opening = [s for s in route_steps if s.at == "open"] or route_steps
    return steps[opening[0].step].role


def policy_from_snapshot(snapshot: dict[str, Any]) -> Policy:
    """Rebuild the exact policy an incident opened with (see :meth:`Policy.snapshot`)."""
    policy = policy_from_data(snapshot["source"], source=f"snapshot {snapshot.get('hash')}")
    if policy.hash != snapshot.get("hash"):
        problem = Problem("hash", str(snapshot.get("hash")), "snapshot does not match", "re-save")
        raise PolicyError("policy snapshot", [problem])
    return policy
