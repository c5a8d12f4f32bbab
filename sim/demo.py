"""``driftvakt-sim demo``: a whole municipality on one machine (docs/demo.md).

Starts, in order: a real Mosquitto with TLS, passwords and ACL; local sinks
for e-mail (SMTP), SMS (the 46elks form API) and the care records system's
webhook; ``driftvakt-central run`` on SQLite with the shipped Botkyrka policy,
the registry of the homes and two staff accounts; then the fleet of simulated
homes, and the scripted story (``sim/demo_story.toml``) on a clock that starts
at a chosen Stockholm time and runs ``speed`` times faster than real time.
It prints where to look and, as the story advances, what happens: each
scripted event, each incident central opens, changes or closes (from the
retained incident topics on MQTT) and each message the sinks receive. Ctrl-C
or SIGTERM stops everything cleanly: the story, central, the homes, the broker.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import signal
import socket
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType

from protocol import Event, IncidentSummary
from sim.broker import Broker, BrokerClient, BrokerConnectError, find_mosquitto
from sim.clock import STOCKHOLM, ScaledClock, parse_local
from sim.errors import BrokerError, SimError
from sim.fleet import Account, Fleet, gateway_id
from sim.scenario import FleetTarget, ScenarioRunner, Step, load_scenario, schedule
from sim.sinks import Captured, Inbox, MailSink, SmsSink
from sim.site import DEMO_ACCOUNTS, ROLE_CONTACTS, TENANT, CentralProcess, CentralSite, Sinks
from sim.staff import StaffClient

STORY = Path(__file__).with_name("demo_story.toml")
CENTRAL_START_S = 6.0
"""Real seconds from launching ``driftvakt-central`` to the homes coming up (measured: 5-6)."""
INSTALL_HINT = (
    "Mosquitto is not installed. Install it with `sudo apt-get install mosquitto` "
    "(Debian, Raspberry Pi OS) or run `scripts/bootstrap.sh`, which `make demo` runs first."
)


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What ``driftvakt-sim demo`` was asked for.

    :param start: Stockholm wall-clock start (``None``: the scenario's).
    :param speed: simulated seconds per real second.
    :param port: the dashboard's port; 0 picks a free one.
    """

    start: str | None = None
    speed: float = 120.0
    homes: int = 20
    data: Path = Path("demo-data")
    port: int = 8080
    scenario: Path = STORY


class Narrator:
    """Prints the story: timestamps on the demo's clock, wrapped, flushed at once."""

    def __init__(self, clock: ScaledClock, out: Callable[[str], None] = print) -> None:
        self.clock, self.out = clock, out
        self._lock = threading.Lock()

    def say(self, text: str, mark: str = "•") -> None:
        stamp = self.clock.local().strftime("%a %H:%M")
        lines = textwrap.wrap(text, 96, subsequent_indent=" " * 13) or [""]
        with self._lock:
            self.out(f"[{stamp}] {mark} " + "\n".join(lines))
            sys.stdout.flush()

    def step(self, step: Step) -> None:
        self.say(step.say or f"{step.do} {', '.join(step.homes)}", "▶")

    def message(self, message: Captured) -> None:
        """One line per message: channel, the role it reached, its first sentence."""
        role = _ROLE_OF.get(message.to, message.to)
        if message.channel == "webhook":
            where = "care records system"
        else:
            where = f"{'e-mail' if message.channel == 'email' else 'SMS'} to {role}"
        text = message.subject if message.channel == "email" else message.body
        first = text.removeprefix("Driftvakt: ").split(". ")[0].splitlines()[0] if text else ""
        self.say(f"{where}: {first[:110]}", "✉")


_ROLE_OF = {address: role for role, contacts in ROLE_CONTACTS.items() for address in contacts}
_EVENTS = {
    "restart_started": "power-cycles {device} through the relay (attempt {attempt})",
    "restart_succeeded": "{device} is back after the power cycle",
    "restart_failed": "{device} did not come back (attempt {attempt})",
    "restart_exhausted": "gives up on {device}: restart budget spent, people are needed",
}


_WATCHED = (
    f"driftvakt/v1/{TENANT}/_central/incidents/+",
    f"driftvakt/v1/{TENANT}/+/events",
    f"driftvakt/v1/{TENANT}/+/availability",
)


class IncidentWatcher:
    """Follows central's retained incident summaries on MQTT, as an operator's tool would."""

    def __init__(self, client: BrokerClient, narrator: Narrator) -> None:
        self.client, self.narrator = client, narrator
        self.seen: dict[str, IncidentSummary] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="incident-watch", daemon=True)
        self._online: dict[str, bytes] = {}
        self.subscribe()

    def subscribe(self, timeout: float = 15.0) -> None:
        """(Again, after a broker restart: its sessions are gone.) Waits for the reconnect."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client.subscribe(*_WATCHED)
                return
            except BrokerConnectError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def start(self) -> IncidentWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.client.close()

    def _run(self) -> None:
        while not self._stop.wait(0.3):
            for message in self.client.received():
                try:
                    self._route(message.topic.split("/"), message.payload)
                except ValueError as exc:  # a bad payload is not the story's end
                    self.narrator.say(f"unreadable message on {message.topic}: {exc}", "?")

    def _route(self, parts: list[str], payload: bytes) -> None:
        gateway, kind = parts[3], parts[4]
        if gateway == "_central":
            if kind == "incidents":
                self._show(parts[-1], payload)
        elif kind == "events":
            self._event(gateway, Event.model_validate_json(payload))
        elif kind == "availability":
            self._availability(gateway, payload)

    def _event(self, gateway: str, event: Event) -> None:
        text = _EVENTS.get(event.type)
        if text is not None:
            attempt = event.detail.get("attempt", event.detail.get("attempts", ""))
            what = text.format(device=event.device, attempt=attempt)
            self.narrator.say(f"{gateway}'s agent {what}", "·")

    def _availability(self, gateway: str, payload: bytes) -> None:
        before = self._online.get(gateway)
        self._online[gateway] = payload
        if before is not None and before != payload:
            self.narrator.say(f"{gateway} is {payload.decode()} (MQTT availability)", "·")

    def _show(self, incident: str, payload: bytes) -> None:
        if not payload:
            if self.seen.pop(incident, None) is not None:
                self.narrator.say(f"incident {incident} closed", "✔")
            return
        summary = IncidentSummary.model_validate_json(payload)
        before = self.seen.get(incident)
        self.seen[incident] = summary
        if before is not None and (before.gateways, before.owner_role) == (
            summary.gateways,
            summary.owner_role,
        ):
            return
        verb = "opened" if before is None else "updated"
        homes = ", ".join(summary.gateways) or "no homes (our own monitoring)"
        self.narrator.say(
            f"incident {incident} {verb}: {summary.kind.value}, {homes}; "
            f"owner {summary.owner_role}, {summary.open_tasks} open task(s)",
            "!",
        )


def run_demo(options: DemoOptions) -> int:
    """Run until Ctrl-C or SIGTERM; the exit status."""
    try:
        find_mosquitto()
    except BrokerError:
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    try:
        spec = load_scenario(options.scenario)
        start = parse_local(options.start or spec.start or "2027-01-12 13:55")
        gateways = [gateway_id(i) for i in range(1, options.homes + 1)]
        steps = schedule(spec, start, gateways)
    except SimError as exc:
        print(f"driftvakt-sim demo: {exc}", file=sys.stderr)
        return 2
    stop = _stop_on_signals()
    try:
        with _demo(options, start, gateways, steps):
            stop.wait()
    except (SimError, BrokerError) as exc:
        print(f"driftvakt-sim demo: {exc}", file=sys.stderr)
        return 1
    print("Demo stopped; everything it started has ended. Its files are in", options.data)
    return 0


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


@contextlib.contextmanager
def _demo(
    options: DemoOptions, start: datetime, gateways: list[str], steps: list[Step]
) -> Iterator[None]:
    """Everything running; on exit it stops in reverse order: story, central, homes, broker."""
    began = time.monotonic()
    data = _fresh(options.data)
    _log_to(data / "sim.log")
    with contextlib.ExitStack() as stack:
        broker = stack.enter_context(Broker(data / "broker", own_group=True))
        broker.add_gateways(TENANT, gateways)
        broker.add_central([TENANT])
        print(f"Starting Mosquitto (TLS, passwords, ACL) for {len(gateways)} gateways ...")
        broker.start()
        # The story's clock reads `start` about when the homes come up, after central's start.
        clock = ScaledClock(start, options.speed, time.monotonic() + CENTRAL_START_S)
        narrator = Narrator(clock)
        inbox = Inbox(data / "inbox.jsonl", clock, narrator.message)
        site = CentralSite(
            data / "central", broker, gateways, _start_sinks(stack, inbox), _port(options.port)
        )
        site.inbox = inbox.path
        # The story's thread ends after central and the homes: a broker it restarted dies with it.
        story: list[ScenarioRunner] = []
        stack.callback(_close_all, story)
        fleet = Fleet(data / "homes", _accounts(broker, gateways), clock=clock, speed=options.speed)
        stack.callback(fleet.close)
        print(f"Starting driftvakt-central: SQLite, Botkyrka policy, {len(gateways)} homes ...")
        central = CentralProcess(site.write(), clock.spec())
        stack.callback(central.stop)
        central.start()
        _welcome(site.url, options, clock, time.monotonic() - began)
        fleet.start()
        narrator.say(f"{len(gateways)} homes are up: each a real agent with its own MQTT link.")
        story.append(_tell_story(stack, broker, fleet, site, clock, narrator, steps))
        yield
        print("\nStopping: the story, the central service, the homes, the sinks, the broker ...")


def _close_all(runners: list[ScenarioRunner]) -> None:
    for runner in runners:
        runner.close()


def _tell_story(
    stack: contextlib.ExitStack,
    broker: Broker,
    fleet: Fleet,
    site: CentralSite,
    clock: ScaledClock,
    narrator: Narrator,
    steps: list[Step],
) -> ScenarioRunner:
    watcher = IncidentWatcher(broker.client("central", client_id="demo-watch"), narrator)
    stack.callback(watcher.stop)
    watcher.start()
    staff = StaffClient(site.url, DEMO_ACCOUNTS[0].username, DEMO_ACCOUNTS[0].password)

    def acknowledge(role: str) -> None:
        try:
            done = staff.acknowledge_open(role, "kvitterat i demon")
        except SimError as exc:
            narrator.say(f"could not acknowledge {role}'s tasks: {exc}", "✖")
            return
        actions = ", ".join(sorted({t["action"] for t in done})) or "nothing open"
        narrator.say(f"{role} acknowledged {len(done)} task(s) on the dashboard: {actions}", "✔")

    restart = _restarter(broker, clock, narrator, watcher.subscribe)
    target = FleetTarget(fleet, restart, acknowledge)
    runner = ScenarioRunner(steps, clock, target, narrator.step).start()
    stack.callback(runner.stop)
    return runner


def _fresh(folder: Path) -> Path:
    """The demo's folder, emptied: every run starts from nothing."""
    data = folder.resolve()
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    return data


def _log_to(path: Path) -> None:
    """The homes' logs go to a file: the terminal is for the story."""
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def _start_sinks(stack: contextlib.ExitStack, inbox: Inbox) -> Sinks:
    mail = MailSink(inbox).start()
    stack.callback(mail.stop)
    user, password = "u-demo", secrets.token_hex(12)
    sms = SmsSink(inbox, user, password).start()
    stack.callback(sms.stop)
    return Sinks(mail.port, sms.url, user, password, sms.webhook_url)


def _accounts(broker: Broker, gateways: list[str]) -> dict[str, Account]:
    url = f"mqtts://{broker.host}:{broker.port}"
    out = {}
    for gateway in gateways:
        c = broker.account(gateway)
        out[gateway] = Account(url, c.username, c.password, c.cafile, c.certfile, c.keyfile)
    return out


def _restarter(
    broker: Broker, clock: ScaledClock, narrator: Narrator, after: Callable[[], None]
) -> Callable[[timedelta], None]:
    def restart(down: timedelta) -> None:
        broker.stop()
        narrator.say(f"the broker is down for {down}", "✖")
        time.sleep(down.total_seconds() / clock.speed)
        broker.start()
        narrator.say("the broker is back", "✔")
        after()

    return restart


def _port(wanted: int) -> int:
    """``wanted`` if it is free, else any free port."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", wanted))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _welcome(url: str, options: DemoOptions, clock: ScaledClock, took: float) -> None:
    accounts = "\n".join(
        f"      {a.username:<6} / {a.password:<16} ({a.name})" for a in DEMO_ACCOUNTS
    )
    print(
        f"""
==============================================================================
  Driftvakt demo: the dashboard is up ({took:.0f} s after start)

  Open   {url}/
  Sign in as
{accounts}
  Pages: Översikt (fleet), I natt (tonight's visits), Uppgifter (tasks),
         Ärenden (incidents), Demo: utskick (the e-mails and SMS sent).

  Clock: {clock.local():%A %Y-%m-%d %H:%M} Stockholm time, {options.speed:g}x real time
         (one real minute is {options.speed:g} demo minutes); the story
         starts at {clock.start.astimezone(STOCKHOLM):%H:%M}, about when the homes are up.
  Files: {options.data} (central/central.log, homes/*/agent.toml, inbox.jsonl)
  Stop:  Ctrl-C
==============================================================================
""",
        flush=True,
    )
