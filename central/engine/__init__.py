"""The routine engine: ROUTINE.md as code. Pure: no I/O, no clock, every
decision explainable from its inputs (each :class:`Decision` has a ``reason``).
The same engine serves ``replay``, the live service and the tests.

Driving it
==========

::

    engine = Engine(load_policy(), load_registry("homes.csv"))
    effects = engine.handle(GatewayMessage(at=arrival_utc, message=protocol.parse(topic, payload)))
    effects = engine.handle(TimerFired(at=now, token=row.token))   # a durable timer row came due
    effects = engine.handle(Tick(at=now))                          # every few seconds: silence
    effects = engine.run_until(t)   # replay/tests: fire all timers and deadlines due <= t, in order

Inputs (``central.engine.inputs``; every one carries ``at``, the aware UTC time it
*arrived* at central, never the gateway's ``ts``):

- ``GatewayMessage(at, message)``: a :class:`protocol.Message` from ``protocol.parse``
  (availability, state, events; duplicates by event id change nothing).
- ``Tick(at)``: liveness: gateways silent past ``heartbeat_s`` (+ grace) and fleet blindness.
- ``TimerFired(at, token)``: a timer the engine scheduled; a stale token does nothing.
- ``BrokerLost(at)`` / ``BrokerRestored(at)``: the central service's own MQTT link.
- Human input, naming a task by ``TaskRef(task=id)`` or ``TaskRef(gateway=, action=, check=)``:
  ``Acknowledge(at, ref, by)``, ``TaskDone(at, ref, by, outcome)``,
  ``VisitDone(at, ref, restarted, camera_works)``,
  ``VendorCaseNumber(at, incident, case_number, gateway)``,
  ``CheckFailed(at, gateway | None for all cameras, check)``, ``CheckWorked(at, gateway, check)``.
  An unknown task raises :class:`central.errors.UnknownTask` and changes nothing.

Effects (``central.engine.effects``), to carry out in one transaction:

- ``Decision``: the audit/replay line: ``at, event, incident, kind, gateways, role, action,
  step, check, task, reason``; events ``incident_opened|updated|closed``,
  ``task_created``, ``reminder``, ``escalated`` (also hand-over at a window's end),
  ``cancelled``, ``acknowledged``, ``completed``.
- ``Notification``: ``key`` (idempotency), ``role``, ``action``, ``event``, ``channels``,
  Swedish ``subject``/``body``; write it to the outbox.
- ``TimerScheduled(token, due, purpose, incident, gateway)`` / ``TimerCancelled(token)``:
  keep timer rows; feed ``TimerFired(token)`` when due.
- ``IncidentChanged(incident, record)``: the incident's full record (tasks included) after
  this input, plain JSON data: upsert it.

State
=====

All state is plain data: ``engine.to_dict()`` and ``Engine.from_dict(data, policy,
registry)`` continue exactly where it stopped (tests prove it mid-replay). An incident
stores the hash of the policy it opened with and the state keeps each policy snapshot,
so a running incident keeps its policy after ``set_policy``. Homes' health and liveness
are also rebuildable from the retained ``availability``/``state`` messages after a restart.
Ids are deterministic (same inputs, same ids). Read-only views: ``engine.incidents``
(each with ``owner``, ``gateways``, ``tasks``, ``policy`` hash), ``engine.homes``,
``engine.timers``. ``engine.forget_closed(before)`` drops finished incidents from the
state (the store keeps them), so a checkpoint of ``to_dict()`` stays small.

After a restart, feed the retained ``availability``/``state`` messages before the first
``Tick``: a home last heard long ago is silent, and most of the fleet silent at once is
our own blindness (one ``infrastructure`` incident), not an outage per home.
"""

from central.engine.context import EngineState
from central.engine.effects import (
    Decision,
    DecisionEvent,
    Effect,
    IncidentChanged,
    Notification,
    TimerCancelled,
    TimerScheduled,
)
from central.engine.engine import Engine
from central.engine.inputs import (
    Acknowledge,
    BrokerLost,
    BrokerRestored,
    CheckFailed,
    CheckWorked,
    GatewayMessage,
    HumanInput,
    Input,
    TaskDone,
    TaskRef,
    Tick,
    TimerFired,
    VendorCaseNumber,
    VisitDone,
)
from central.engine.model import Home, Incident, Task, Timer

__all__ = [
    "Acknowledge",
    "BrokerLost",
    "BrokerRestored",
    "CheckFailed",
    "CheckWorked",
    "Decision",
    "DecisionEvent",
    "Effect",
    "Engine",
    "EngineState",
    "GatewayMessage",
    "Home",
    "HumanInput",
    "Incident",
    "IncidentChanged",
    "Input",
    "Notification",
    "Task",
    "TaskDone",
    "TaskRef",
    "Tick",
    "Timer",
    "TimerCancelled",
    "TimerFired",
    "TimerScheduled",
    "VendorCaseNumber",
    "VisitDone",
]
