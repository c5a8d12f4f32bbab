"""Random topics and bytes never make protocol.parse raise (issue 2)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import Message, Rejected, parse
from tests.protocol.samples import fuzzed_payloads

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


@settings(max_examples=1500, deadline=None)
@given(topic=_TOPICS, payload=fuzzed_payloads())
def test_parse_never_raises_on_random_topics_and_bytes(topic: str, payload: bytes) -> None:
    result = parse(topic, payload)
    assert isinstance(result, Message | Rejected)
    if isinstance(result, Rejected):
        assert result.detail
