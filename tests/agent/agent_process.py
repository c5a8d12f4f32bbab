"""The agent's loop without MQTT, as a process of its own: for the SIGKILL test.

``python -m tests.agent.agent_process CONFIG``: relays first (power on), then
the runner with a log reporter, until SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading

from agent.config import load_config
from agent.relay import RelayBank
from agent.reporting import LogReporter
from agent.runner import Runner


def main(path: str) -> int:
    config = load_config(path)
    with RelayBank.from_config(config) as relays:
        print("relays powered", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        Runner(config, LogReporter(), relays).run(stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
