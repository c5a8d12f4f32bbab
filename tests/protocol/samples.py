"""Valid sample messages of every kind, shared by the protocol tests and benchmark."""

from datetime import UTC, datetime

from hypothesis import strategies as st

from protocol import (
    Command,
    CommandResult,
    CommandType,
    DeviceState,
    Event,
    Health,
    IncidentKind,
    IncidentSummary,
    StateSnapshot,
)

T0 = datetime(2027, 3, 9, 9, 0, tzinfo=UTC)
BOOT = "01JBOOT0000000000000000000"

STATE = StateSnapshot(
    v=1,
    ts=T0,
    boot=BOOT,
    seq=42,
    agent="0.1.0",
    uptime_s=1234,
    heartbeat_s=30,
    time_synced=True,
    devices={
        "router": DeviceState(health=Health.UP, since=T0, rtt_ms=1.4, restarts_24h=0),
        "camera": DeviceState(health=Health.FAILED, since=T0, restarts_24h=3, auto_restart=True),
    },
)
EVENT = Event(
    v=1,
    id="01JEVENT000000000000000000",
    ts=T0,
    boot=BOOT,
    seq=43,
    type="restart_exhausted",
    device="camera",
    detail={"attempts": 3},
)
COMMAND = Command(
    v=1,
    id="01JCMD00000000000000000000",
    ts=T0,
    type=CommandType.POWER_CYCLE,
    device="camera",
    by="operator-7",
    expires=datetime(2027, 3, 9, 9, 5, tzinfo=UTC),
)
RESULT = CommandResult(v=1, id=COMMAND.id, ts=T0, ok=False, detail="restart budget spent")
INCIDENT = IncidentSummary(
    v=1,
    id="01JINC00000000000000000000",
    kind=IncidentKind.EXTENSIVE,
    gateways=["gw-0001", "gw-0002", "gw-0003"],
    opened=T0,
    updated=T0,
    owner_role="larmgruppen",
    open_tasks=2,
)
VALID_PAYLOADS = [m.to_payload() for m in (STATE, EVENT, COMMAND, RESULT, INCIDENT)]


@st.composite
def fuzzed_payloads(draw: st.DrawFn, valid: list[bytes] = VALID_PAYLOADS) -> bytes:
    """Random bytes, or a valid payload cut short or with a few bytes changed."""
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(st.binary(max_size=300))
    base = bytearray(draw(st.sampled_from(valid)))
    if kind == 1:
        cut = draw(st.integers(0, len(base)))
        return bytes(base[:cut])
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(base) - 1))
        base[pos] = draw(st.integers(0, 255))
    return bytes(base)
