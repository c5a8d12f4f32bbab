"""Who may do what on the dashboard and the API (docs/web.md, "Roles").

One account has one role: ``admin``, ``operator`` or one of the routine's role
ids (ROUTINE.md). A route asks for a :class:`Perm`; the table below is the only
place that says which roles hold it, so the route test and the docs read the
same truth. Labels (personal data) are a permission of their own: a role gets
them only when its work is with the client (a visit, a check, a call to the
home-care group), never the technical roles (``operator``, ``it_funktion``).
"""

from __future__ import annotations

from enum import StrEnum


class Perm(StrEnum):
    """One thing a role may see or do."""

    FLEET = "fleet"
    """The fleet board and gateway details."""
    LABELS = "labels"
    """Clients' labels (personal data) on any page or API response."""
    INCIDENTS = "incidents"
    """Incidents and their timelines."""
    TASKS_ALL = "tasks_all"
    """Every role's tasks, not only one's own."""
    TASK_ANY = "task_any"
    """Acknowledge or finish another role's task (taking it over)."""
    VISITS = "visits"
    """Tonight's physical visits."""
    VISIT_DONE = "visit_done"
    """Record a visit made and its journal note filed."""
    CHECK_FAILED = "check_failed"
    """Report a failed digital check (one home or all cameras)."""
    VENDOR_CASE = "vendor_case"
    """Enter the vendor's case number on an incident."""
    POWER_CYCLE = "power_cycle"
    """Send a remote power-cycle to a gateway."""
    POLICY = "policy"
    """The active policy's weekly coverage."""


ROUTINE_ROLES: tuple[str, ...] = (
    "nattpatrullen",
    "larmgruppen",
    "hemtjanstgrupp",
    "it_funktion",
    "digital_tillsyn",
    "enhetschef",
    "jour",
)
ROLES: tuple[str, ...] = ("admin", "operator", *ROUTINE_ROLES)

_P = Perm
GRANTS: dict[str, frozenset[Perm]] = {
    "admin": frozenset(Perm),
    "operator": frozenset({_P.FLEET, _P.INCIDENTS, _P.TASKS_ALL, _P.POWER_CYCLE, _P.POLICY}),
    "nattpatrullen": frozenset(
        {_P.FLEET, _P.LABELS, _P.INCIDENTS, _P.VISITS, _P.VISIT_DONE, _P.VENDOR_CASE, _P.POLICY}
    ),
    "larmgruppen": frozenset(
        {
            _P.FLEET,
            _P.LABELS,
            _P.INCIDENTS,
            _P.TASKS_ALL,
            _P.VISITS,
            _P.VENDOR_CASE,
            _P.POWER_CYCLE,
            _P.POLICY,
        }
    ),
    "hemtjanstgrupp": frozenset({_P.LABELS}),
    "it_funktion": frozenset({_P.FLEET, _P.INCIDENTS, _P.VENDOR_CASE, _P.POWER_CYCLE, _P.POLICY}),
    "digital_tillsyn": frozenset({_P.FLEET, _P.LABELS, _P.VISITS, _P.CHECK_FAILED}),
    "enhetschef": frozenset({_P.FLEET, _P.INCIDENTS, _P.POLICY}),
    "jour": frozenset(Perm) - {_P.POWER_CYCLE},
}
"""Role to permissions. ``jour`` owns what the routine leaves uncovered, so it
may do every routine step; remote power-cycling stays with the technical and
alarm roles."""

ROLE_NAMES: dict[str, str] = {
    "admin": "Administratör",
    "operator": "Drift",
    "nattpatrullen": "Nattpatrullen",
    "larmgruppen": "Larmgruppen",
    "hemtjanstgrupp": "Hemtjänstgrupp",
    "it_funktion": "IT-funktionen",
    "digital_tillsyn": "Digital tillsyn",
    "enhetschef": "Enhetschef",
    "jour": "Jour",
}
"""Swedish names shown on screen."""


def allows(role: str, perm: Perm) -> bool:
    """Whether ``role`` holds ``perm``; an unknown role holds nothing."""
    return perm in GRANTS.get(role, frozenset())


def roles_with(perm: Perm) -> tuple[str, ...]:
    """The roles that hold ``perm``, in :data:`ROLES` order."""
    return tuple(role for role in ROLES if allows(role, perm))
