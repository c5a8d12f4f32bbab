"""The dashboard in a real browser: Debian's Chromium driven by Playwright,
against the whole running service (real broker, real engine, real store).

Screenshots for review go to ``test-artifacts/`` (fleet board at desk width,
night list at phone width, 390 px)."""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from sim.broker import Broker
from sim.devices import Mode
from tests.agent_link.home import AgentHome
from tests.central.harness import FakeClock, fast_policy
from tests.central.servers import SmsSink, SmtpSink
from tests.web.conftest import PASSWORD
from tests.web.stack import NightClock, Servers, Stack, running_stack

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NIGHT = datetime(2027, 3, 9, 23, 30, tzinfo=UTC)  # 00:30 in Stockholm, a Tuesday night
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LIVE_TIMEOUT_MS = 20_000
"""Board changes reach the page within the fleet flush (5 s) plus one live poll."""
AGENT_TIMEOUT_MS = 40_000
"""The agent's own cycle first: probes, two power cycles, then the report."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/bootstrap.sh --browser", pytrace=False)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def stack(broker: Broker, tmp_path: Path, smtp: SmtpSink, sms: SmsSink) -> Iterator[Stack]:
    servers = Servers(smtp, sms)
    with running_stack(broker, tmp_path, FakeClock(NIGHT), servers) as running:
        yield running


@pytest.fixture
def night(
    broker: Broker, tmp_path: Path, smtp: SmtpSink, sms: SmsSink
) -> Iterator[tuple[Stack, AgentHome]]:
    """A night on real time, with gw-17's real agent (``driftvakt-agent run``) in a
    simulated home: fake router and camera on loopback, powered through relay pin
    files that the agent drives. Settle time 3 s, so recovery happens in the test."""
    policy = fast_policy(tmp_path, ack="15m", settle="3s")
    home = AgentHome(tmp_path / "home", broker, "gw-17", addresses=("127.0.0.17", "127.0.0.18"))
    try:
        servers = Servers(smtp, sms)
        with running_stack(broker, tmp_path, NightClock(NIGHT), servers, policy) as running:
            running.agents.add("gw-17")
            home.start()
            yield running, home
            home.stop()
    finally:
        home.close()


def _signed_in(browser: Browser, stack: Stack, username: str, width: int, path: str) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900}, locale="sv-SE")
    page.goto(stack.url + path)
    expect(page).to_have_url(f"{stack.url}/login?next={path}")
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page).to_have_url(stack.url + path)
    return page


def _shot(page: Page, name: str) -> None:
    """Screenshot for review; a page must fit its viewport's width (no sideways scroll)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} too wide"


def test_browser_night_outage_from_board_to_recovery(
    browser: Browser, night: tuple[Stack, AgentHome]
) -> None:
    stack, home = night
    stack.heartbeat_all({})
    stack.settle()
    larm = _signed_in(browser, stack, "larm", 1280, "/fleet")
    row = larm.locator("tr[data-gateway='gw-17']")
    expect(row).to_contain_text("Greta Andersson")
    expect(row).to_contain_text("OK", timeout=LIVE_TIMEOUT_MS)

    # The camera dies in the home; the agent power-cycles it through the relay until
    # its budget is spent. The board changes without a reload.
    larm.evaluate("window.__noReload = true")
    home.camera.set_mode(Mode.DEAD)
    expect(row).to_contain_text("Kräver åtgärd", timeout=AGENT_TIMEOUT_MS)
    expect(row).to_contain_text("omstart misslyckad")
    assert larm.evaluate("window.__noReload") is True
    expect(larm.locator(".c-atgard b")).to_have_text("1")
    _shot(larm, "fleet-board.png")

    # The night patrol, on a phone: the visit is on tonight's list.
    natt = _signed_in(browser, stack, "natt", 390, "/visits")
    visit = natt.locator("li.visit[data-gateway='gw-17']").first
    expect(visit).to_contain_text("Greta Andersson")
    expect(visit).to_contain_text("02:00")
    expect(visit).to_contain_text("Tumba norra")
    _shot(natt, "night-list-390.png")

    # Acknowledge the task.
    visit.get_by_role("button", name="Kvittera – jag åker").click()
    expect(natt.locator(".flash")).to_contain_text("kvitterad")
    expect(natt.locator("li.visit[data-gateway='gw-17']").first).to_contain_text("Kvitterad")

    # The alarm group enters the vendor's case number on the incident.
    larm.goto(stack.url + "/incidents")
    larm.locator("table.list a").first.click()
    larm.get_by_label("Leverantörens ärendenummer").fill("PH-2027-4711")
    larm.get_by_role("button", name="Spara ärendenummer").click()
    expect(larm.locator(".flash")).to_contain_text("Ärendenumret är sparat")
    expect(larm.locator("dd.vendor-case")).to_have_text("PH-2027-4711")
    expect(larm.locator(".timeline")).to_contain_text(
        "angav leverantörens ärendenummer PH-2027-4711"
    )
    # The timeline also shows the notifications and their delivery (the SMS and the
    # e-mail reached the test's real SMS and SMTP servers).
    expect(larm.locator(".timeline")).to_contain_text("Utskick via sms: skickat")
    expect(larm.locator(".timeline")).to_contain_text("Utskick via email: skickat")
    _shot(larm, "incident.png")

    # The visit is made: the devices were restarted; the journal note is copied and filed.
    made = natt.locator("li.visit[data-gateway='gw-17']").first
    made.get_by_text("Besöket är gjort").click()
    made.get_by_label("Ja, omstartade").check()
    made.get_by_role("button", name="Registrera besöket").click()
    expect(natt.locator(".flash")).to_contain_text("Besöket är registrerat")
    note = natt.locator("li.visit.made textarea.draft")
    expect(note).to_have_value(re.compile("Router och kamera startades om vid besöket"))
    natt.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.url)
    natt.get_by_role("button", name="Kopiera text").click()
    expect(natt.get_by_role("button", name="Kopierat ✓")).to_be_visible()
    assert natt.evaluate("navigator.clipboard.readText()") == note.input_value()
    natt.get_by_label("Införd i journalen").check()
    natt.locator("form.journal").get_by_role("button", name="Spara").click()
    expect(natt.locator("li.visit.made")).to_contain_text("✓ Införd i journalen")
    _shot(natt, "night-list-journal-390.png")

    # The other visit of the night is acknowledged too.
    natt.get_by_role("button", name="Kvittera – jag åker").click()
    expect(natt.locator("li.visit[data-gateway='gw-17']").first).to_contain_text("Kvitterad")

    # The night patrol pulled the plug and put it back at the visit (ROUTINE.md 5a-c):
    # the camera answers again, stays up past the settle time, and the remaining
    # visit goes from the list, live.
    natt.evaluate("window.__noReload = true")
    home.camera.set_mode(Mode.OK)
    home.camera.power(False)
    home.camera.power(True)
    expect(natt.locator("#no-visits")).to_be_visible(timeout=AGENT_TIMEOUT_MS)
    expect(natt.locator("li.called-off")).to_contain_text("kvitterat av natt")
    assert natt.evaluate("window.__noReload") is True
    _shot(natt, "night-list-after-recovery-390.png")
    expect(larm.locator("h1")).to_contain_text("Stängd", timeout=LIVE_TIMEOUT_MS)
    natt.goto(larm.url)  # the closed incident, on the phone
    expect(natt.locator("h1")).to_contain_text("Stängd")
    _shot(natt, "incident-390.png")
    larm.goto(stack.url + "/fleet")
    expect(row).to_contain_text("OK")


def test_browser_pages_render_for_review(browser: Browser, stack: Stack) -> None:
    stack.heartbeat_all({"gw-18": "down"})
    stack.settle()
    drift = _signed_in(browser, stack, "drift", 1280, "/policy")
    expect(drift.locator("td.uncovered").first).to_be_visible()
    expect(drift.locator("td.overlap").first).to_be_visible()
    _shot(drift, "policy.png")
    drift.goto(stack.url + "/gateways/botkyrka/gw-18?confirm=camera")
    expect(drift.locator("h1")).to_contain_text("Störning", timeout=LIVE_TIMEOUT_MS)
    expect(drift.get_by_role("button", name="Ja, starta om")).to_be_visible()
    expect(drift.locator("body")).not_to_contain_text("Sven Berg")
    _shot(drift, "gateway.png")
    # Confirmed: sent as `cmd`; the agent's answer shows on the page without a reload.
    gateway = stack.gateway("gw-18")
    gateway.subscribe("driftvakt/v1/botkyrka/gw-18/cmd")
    drift.get_by_role("button", name="Ja, starta om").click()
    expect(drift.locator(".flash")).to_contain_text("Omstarten är skickad")
    expect(drift.locator("tr.cmd").first).to_contain_text("väntar på svar")
    command = json.loads(gateway.until("driftvakt/v1/botkyrka/gw-18/cmd")[-1].payload)
    assert (command["type"], command["device"], command["by"]) == ("power_cycle", "camera", "drift")
    drift.evaluate("window.__noReload = true")
    result = {"v": 1, "id": command["id"], "ts": command["ts"], "ok": True, "detail": "klart"}
    gateway.publish("driftvakt/v1/botkyrka/gw-18/cmd/result", json.dumps(result))
    expect(drift.locator("tr.cmd").first).to_contain_text("lyckades", timeout=LIVE_TIMEOUT_MS)
    assert drift.evaluate("window.__noReload") is True
    _shot(drift, "gateway-command.png")
    tillsyn = _signed_in(browser, stack, "tillsyn", 390, "/check-failed")
    tillsyn.get_by_role("link", name="Aino Korhonen").click()
    tillsyn.get_by_role("button", name="Ja, rapportera").click()
    expect(tillsyn.locator(".flash")).to_contain_text("rapporterad")
    _shot(tillsyn, "check-failed-390.png")
    tillsyn.goto(stack.url + "/visits")
    visits = tillsyn.locator("li.visit[data-gateway='gw-19']")
    expect(visits).to_have_count(2)  # the check that failed now, and the one at 03:00
    expect(visits.nth(1)).to_contain_text("03:00")
    drift.goto(stack.url + "/tasks?role=*")
    expect(drift.locator("article.task").first).to_contain_text("Fysiskt tillsynsbesök")
    expect(drift.locator("body")).not_to_contain_text("Aino Korhonen")
    _shot(drift, "tasks.png")
    fleet = _signed_in(browser, stack, "natt", 390, "/fleet")
    expect(fleet.locator("tr[data-gateway='gw-18']")).to_contain_text(
        "Störning", timeout=LIVE_TIMEOUT_MS
    )
    _shot(fleet, "fleet-board-390.png")
    # Filters: the group narrows rows and counts, the state narrows rows.
    fleet.locator("select[name=group]").select_option("Hallunda")
    expect(fleet).to_have_url(re.compile(r"group=Hallunda"))
    expect(fleet.locator("tr[data-gateway]")).to_have_count(2)  # gw-19, and gw-20 paused
    expect(fleet.locator(".c-pausad b")).to_have_text("1")
    fleet.locator("select[name=state]").select_option(label="Pausad")
    expect(fleet).to_have_url(re.compile(r"state=pausad"))
    expect(fleet.locator("tr[data-gateway]")).to_have_count(1)
    expect(fleet.locator("tr[data-gateway='gw-20']")).to_contain_text("Karl Lind")
    # The vendor's platform fails: every camera, reported in two taps; the IT function
    # then marks its task done on its task page, with a comment that the timeline keeps.
    tillsyn.goto(stack.url + "/check-failed")
    tillsyn.get_by_role("link", name="Alla kameror fungerar inte").click()
    tillsyn.get_by_role("button", name="Ja, rapportera").click()
    expect(tillsyn.locator(".flash")).to_contain_text("rapporterad")
    it = _signed_in(browser, stack, "it", 1280, "/tasks")
    task = it.locator("article.task", has_text="IT äger ärendet hos leverantören")
    task.get_by_label("Kommentar (valfritt)").fill("Leverantören felsöker, ärende PH-88")
    task.get_by_role("button", name="Markera som klar").click()
    expect(it.locator(".flash")).to_contain_text("Uppgiften är markerad som klar")
    expect(it.locator("article.task", has_text="IT äger ärendet")).to_have_count(0)
    it.goto(stack.url + "/tasks?all=1")
    done = it.locator("article.task", has_text="IT äger ärendet hos leverantören")
    expect(done.locator(".badge")).to_have_text("Klar")
    done.get_by_role("link", name="ärende").click()
    timeline = it.locator(".timeline")
    expect(timeline).to_contain_text("kommenterade: ”Leverantören felsöker, ärende PH-88”")
    expect(timeline).to_contain_text("Klar IT äger ärendet hos leverantören")
