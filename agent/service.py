"""``driftvakt-agent run`` and ``state``: the agent as a systemd service.

Start order (DESIGN.md, "Agent"): read the configuration, then build every
relay with power on *before anything else*, so a relay left cutting power by
a killed agent is released within moments of the next start; only then open
the outbox, start the MQTT link and the runner, and tell systemd READY=1.

Every exit path restores relay power: SIGTERM and SIGINT stop the loop (a
running cycle ends with its devices restored), then ``agent_stopping`` is
published with its reason, then retained ``offline``, then the relays are
restored and released. A maintenance job may write
``{"reason": "upgrade", "expected_back_s": 120}`` to the stop-reason file
(``/run/driftvakt/stop-reason``) before stopping the unit, so that readers can
tell maintenance from a failure; without it the reason is the signal's name.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from agent.errors import ConfigCheckFailed, ConfigError, DriftvaktError, RelayError
from agent.mqtt_link import LinkSettings, MqttLink
from agent.notify import Notifier, configure_logging
from agent.outbox import Outbox
from agent.relay import RelayBank
from agent.runner import Runner
from agent.settings import DEFAULT_PATH, AgentConfig, ConfigChild
from protocol import DeviceReport, EventType

log = logging.getLogger(__name__)

STOP_REASON_FILE = Path("/run/driftvakt/stop-reason")
EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 78
"""78 is EX_CONFIG: with ``RestartPreventExitStatus=78`` a bad file does not restart-loop."""


def published_path(config: AgentConfig) -> Path:
    """Where the last published snapshot is kept for ``driftvakt-agent state``.

    Beside the runner's own ``gateway.state_file`` (budgets and arming), not in it.
    """
    return config.gateway.state_file.with_name("published.json")


class _StatusReporter:
    """The link, plus a systemd ``STATUS=`` line whenever a device's health changes."""

    def __init__(self, link: MqttLink, notifier: Notifier) -> None:
        self.link, self.notifier = link, notifier
        self._status = ""
        self.last_state = time.monotonic()

    def event(
        self, type: EventType, device: str | None, detail: Mapping[str, Any], at: datetime
    ) -> None:
        self.link.event(type, device, detail, at)

    def state(self, devices: Mapping[str, DeviceReport], at: datetime) -> None:
        self.last_state = time.monotonic()
        self.link.state(devices, at)
        status = " ".join(f"{name}={s.health.value}" for name, s in devices.items())
        if status != self._status:
            self._status = status
            self.notifier.status(status)


def stop_reason(received: list[int], reason_file: Path) -> dict[str, Any]:
    """Why the agent stops, for ``agent_stopping``: the maintenance file, else the signal."""
    try:
        data = json.loads(reason_file.read_text())
        if isinstance(data, dict) and isinstance(data.get("reason"), str):
            return {k: data[k] for k in ("reason", "expected_back_s") if k in data}
    except (OSError, ValueError):
        pass
    return {"reason": signal.Signals(received[0]).name.lower() if received else "exit"}


def run(
    config_path: Path | str = DEFAULT_PATH,
    *,
    pin_factory: Any = None,
    reason_file: Path = STOP_REASON_FILE,
    level: int = logging.INFO,
    child: ConfigChild | None = None,
) -> int:
    """Run the agent until SIGTERM or SIGINT; returns the process exit code.

    :param child: the configuration check, if the caller started it already.
    """
    configure_logging(level)
    try:
        config = (child or ConfigChild(config_path)).result()
    except ConfigError as exc:
        log.error("%s", exc)
        return EXIT_CONFIG
    except ConfigCheckFailed as exc:
        log.error("%s", exc)
        return EXIT_FAILURE  # not the file's fault: systemd starts the agent again
    try:
        relays = RelayBank.from_config(config, pin_factory)  # power on, first of all
    except DriftvaktError as exc:
        log.error("relays: %s", exc)
        return EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_FAILURE
    stop, received = threading.Event(), []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    try:
        return _serve(config, relays, stop, lambda: stop_reason(received, reason_file))
    finally:
        relays.close()  # restores power (again) before releasing the pins


def _serve(config: AgentConfig, relays: RelayBank, stop: threading.Event, why: Any) -> int:
    notifier = Notifier()
    outbox = Outbox(config.gateway.outbox)
    link = MqttLink(
        LinkSettings.from_config(config),
        outbox,
        devices=tuple(config.devices),
        state_file=published_path(config),
    )
    reporter = _StatusReporter(link, notifier)
    failed = False
    try:
        runner = Runner(config, reporter, relays)
        link.target = runner
        link.start()
        link.event(EventType.AGENT_STARTED, None, {"devices": list(config.devices)}, _now())
        notifier.ready(f"watching {', '.join(config.devices)}")
        # A round can take a probe timeout past the interval; the runner reports at least
        # every heartbeat. Silence well beyond both means the loop is stuck.
        limit = 2 * config.gateway.heartbeat_s + config.gateway.probe_interval_s + 30
        notifier.start_watchdog(lambda: time.monotonic() - reporter.last_state < limit)
        runner.run(stop)
        return EXIT_OK
    except Exception:
        failed = True
        log.exception("the agent failed")
        return EXIT_FAILURE
    finally:
        stop.set()
        with contextlib.suppress(RelayError):  # logged by the bank; run()'s close() retries
            relays.restore_all()
        reason: dict[str, Any] = {"reason": "error"} if failed else why()
        notifier.stopping(f"stopping: {reason['reason']}")
        link.stop(reason["reason"], reason.get("expected_back_s"))
        notifier.close()
        outbox.close()


def _now() -> datetime:
    return datetime.now(UTC)


def show_state(config_path: Path | str = DEFAULT_PATH) -> int:
    """Print what the agent last published, for a technician at the gateway."""
    from agent.config import load_config  # a one-shot command: pydantic may load

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(exc)
        return EXIT_CONFIG
    path = published_path(config)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        print(f"no state yet: {path} does not exist (has the agent run?)")
        return EXIT_FAILURE
    snapshot = record["snapshot"]
    link = "connected" if record.get("connected") else "NOT connected"
    print(f"gateway {config.gateway.tenant}/{config.gateway.id}, agent {snapshot['agent']}")
    print(f"published {snapshot['ts']} (boot {snapshot['boot']}, seq {snapshot['seq']})")
    queued = record.get("outbox_pending")
    print(f"broker {record.get('broker')}: {link}; outbox {queued} queued (this snapshot included)")
    print(f"clock synchronised: {snapshot.get('time_synced')}")
    for name, device in snapshot["devices"].items():
        rtt = f" rtt {device['rtt_ms']:.1f} ms" if device.get("rtt_ms") is not None else ""
        auto = "" if device.get("auto_restart", True) else " (no relay)"
        print(
            f"  {name:8} {device['health']:12} since {device['since']}"
            f"  restarts/24h {device.get('restarts_24h', 0)}{rtt}{auto}"
        )
    return EXIT_OK
