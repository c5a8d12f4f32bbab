"""Benchmark: protocol.parse over 100,000 fuzzed inputs (issue 2).

Prints how many inputs raised (must be 0), how many parsed as valid, the rate
of valid messages parsed per second, and beside it a baseline measured in the
same run on the same valid payloads: bare ``json.loads`` (the floor no
validating parser can beat). Run: ``make bench-protocol``.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from protocol import Message, TopicKind, gateway_topic, parse
from tests.protocol.samples import COMMAND, EVENT, INCIDENT, RESULT, STATE

_KINDS = [
    (TopicKind.STATE, STATE),
    (TopicKind.EVENTS, EVENT),
    (TopicKind.CMD, COMMAND),
    (TopicKind.CMD_RESULT, RESULT),
]


def fuzzed_inputs(count: int, seed: int) -> list[tuple[str, bytes]]:
    """Half valid messages, half mutated, truncated, random or mis-addressed ones."""
    rng = random.Random(seed)
    out: list[tuple[str, bytes]] = []
    for i in range(count):
        kind, model = _KINDS[i % len(_KINDS)]
        topic = gateway_topic("botkyrka", f"gw-{rng.randrange(2000):04d}", kind)
        payload = bytearray(model.to_payload())
        roll = rng.random()
        if roll < 0.5:
            pass
        elif roll < 0.65:
            for _ in range(rng.randint(1, 4)):
                payload[rng.randrange(len(payload))] = rng.randrange(256)
        elif roll < 0.75:
            payload = payload[: rng.randrange(len(payload))]
        elif roll < 0.85:
            payload = bytearray(rng.randbytes(rng.randrange(1, 400)))
        elif roll < 0.95:
            topic = topic.replace("/v1/", "/v2/") if rng.random() < 0.5 else topic + "/x"
        else:
            payload = bytearray(INCIDENT.to_payload()) * rng.randint(1, 40)
        out.append((topic, bytes(payload)))
    return out


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--count", type=int, default=100_000)
    args.add_argument("--seed", type=int, default=2027)
    opts = args.parse_args()

    inputs = fuzzed_inputs(opts.count, opts.seed)
    raised = valid = 0
    valid_inputs: list[tuple[str, bytes]] = []
    start = time.perf_counter()
    for topic, payload in inputs:
        try:
            result = parse(topic, payload)
        except Exception:  # the benchmark's whole point is to count these
            raised += 1
            continue
        if isinstance(result, Message):
            valid += 1
            valid_inputs.append((topic, payload))
    total_s = time.perf_counter() - start

    start = time.perf_counter()
    for topic, payload in valid_inputs:
        parse(topic, payload)
    parse_s = time.perf_counter() - start
    start = time.perf_counter()
    for _topic, payload in valid_inputs:
        json.loads(payload)
    json_s = time.perf_counter() - start

    parse_rate = valid / parse_s
    json_rate = valid / json_s
    print(
        f"inputs: {len(inputs)}  raised: {raised}  valid: {valid}  rejected: {len(inputs) - valid}"
    )
    print(f"all inputs: {len(inputs) / total_s:,.0f} parse calls/s")
    print(f"valid messages: {parse_rate:,.0f} parsed/s (protocol.parse)")
    print(f"baseline json.loads on the same payloads: {json_rate:,.0f}/s")
    print(f"ratio parse/json.loads: {parse_rate / json_rate:.2f}")
    if raised:
        raise SystemExit(f"FAIL: {raised} inputs raised")


if __name__ == "__main__":
    main()
