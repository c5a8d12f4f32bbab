"""The routine as data: roles, named time windows in Europe/Stockholm with
Swedish holidays, routes from (incident kind, window) to steps, and the
thresholds of the routine. See docs/policy.md; the Botkyrka routine ships as
``botkyrka.toml``. ``load_policy()`` reads and compiles; ``check_policy()``
reports coverage, gaps and overlaps."""

from central.policy.calendar import Calendar
from central.policy.compile import (
    compile_policy,
    default_policy_text,
    load_policy,
    parse_policy,
    policy_from_data,
    policy_from_snapshot,
)
from central.policy.models import ACTIONS, KINDS, OTHERWISE, PolicyModel
from central.policy.runtime import Policy, Route, RouteMatch, RouteStep, Step
from central.policy.windows import Occurrence, Window, local_to_utc

__all__ = [
    "ACTIONS",
    "KINDS",
    "OTHERWISE",
    "Calendar",
    "Occurrence",
    "Policy",
    "PolicyModel",
    "Route",
    "RouteMatch",
    "RouteStep",
    "Step",
    "Window",
    "compile_policy",
    "default_policy_text",
    "load_policy",
    "local_to_utc",
    "parse_policy",
    "policy_from_data",
    "policy_from_snapshot",
]
