"""Random topics and bytes never make protocol.parse raise (issue 2)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import Message, Rejected, parse
from tests.protocol.samples import COMMAND, EVENT, INCIDENT, RESULT, STATE

_SEGMENTS = st.sampled_from(
    [
        "driftvakt",
        "v1",
        "v2",
        "botkyrka",
        "gw-1",
        "_central",
        "state",
        "events",
        "cmd",
        "result",
        "availability",
        "incidents",
        "+",
        "#",
        "",
        "GW",
        "x" * 70,
    ]
)
_TOPICS = st.one_of(
    st.text(max_size=80),
    st.lists(_SEGMENTS, min_size=0, max_size=7).map("/".join),
)
_VALID = [m.to_payload() for m in (STATE, EVENT, COMMAND, RESULT, INCIDENT)]


@st.composite
def _payloads(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(st.binary(max_size=300))
    base = bytearray(draw(st.sampled_from(_VALID)))
    if kind == 1:
        cut = draw(st.integers(0, len(base)))
        return bytes(base[:cut])
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(base) - 1))
        base[pos] = draw(st.integers(0, 255))
    return bytes(base)


@settings(max_examples=1500, deadline=None)
@given(topic=_TOPICS, payload=_payloads())
def test_parse_never_raises_on_random_topics_and_bytes(topic: str, payload: bytes) -> None:
    result = parse(topic, payload)
    assert isinstance(result, Message | Rejected)
    if isinstance(result, Rejected):
        assert result.detail
