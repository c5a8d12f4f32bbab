"""Figures for the edge agent: hang detection and recovery time, memory and CPU.

Run: ``make bench-agent`` (or ``.venv/bin/python -m tests.bench.bench_agent --minutes 1``).
The real agent process (``driftvakt-agent run``) watches a fake router and
camera through the real broker with TLS. Printed, never asserted, each beside
its floor (issue 3) and a bare Python interpreter measured in the same run:

- camera hang to ``device_down`` at a subscriber (floor: interval x threshold + 2 s),
  beside the schedule's worst case (interval + (threshold - 1) x retry interval +
  probe timeout); the hang starts just after a round, near that worst case;
- camera hang to the camera answering again after its power cycle (boot delay 5 s);
- the agent's peak RSS (floor 40 MB) and average CPU over the window with two
  devices probed every 10 s (floor 0.5 % of one core);
- the peak RSS of the short-lived child that validates the configuration with
  pydantic at start (``python -m agent.config``), so that its cost is on record.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.broker import Broker
from tests.agent_link.home import TENANT, AgentHome, Watcher, wait_until

_TICKS = os.sysconf("SC_CLK_TCK")


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a process (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _pss_mb(pid: int) -> float:
    """Proportional set size: shared libraries (libc, libcrypto) counted by their share."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    raise KeyError("Pss")


def bare_python_rss_mb() -> float:
    """Peak RSS of an interpreter that imports nothing: the floor any Python agent sits on."""
    proc = subprocess.Popen(
        [sys.executable, "-S", "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        time.sleep(0.5)
        return _status_kb(proc.pid, "VmHWM") / 1024
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()


_CHILD_HWM = """
import runpy, sys
try:
    runpy.run_module("agent.config", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
status = open("/proc/self/status").read().splitlines()
print(next(line.split()[1] for line in status if line.startswith("VmHWM:")), file=sys.stderr)
"""


def config_child_rss_mb(config: Path) -> float:
    """Peak RSS of the config-checking child the agent runs once at start (it then exits).

    Read by the child itself from /proc: the rusage of a forked child counts the
    parent's pages it shared before exec, which here is the whole benchmark.
    """
    child = subprocess.run(
        [sys.executable, "-c", _CHILD_HWM, str(config)], capture_output=True, check=True
    )
    return int(child.stderr.split()[-1]) / 1024


def measure_hang(home: AgentHome, watcher: Watcher, arming_s: float) -> tuple[float, float, float]:
    """Seconds from a camera hang to device_down, to the camera answering, to device_up.

    :param arming_s: how long the camera must have been up before the agent may cycle it.
    """
    watcher.wait(lambda w: "device_up" in w.types("camera"), timeout=60)
    time.sleep(arming_s)
    before = len(watcher.types("camera"))
    hung = time.monotonic()
    home.hang_camera()
    watcher.wait(lambda w: "device_down" in w.types("camera")[before:], timeout=120)
    down = time.monotonic() - hung
    wait_until(lambda: home.camera.boots >= 2 and home.camera.answering, 120, poll=0.01)
    answering = time.monotonic() - hung
    watcher.wait(lambda w: w.types("camera")[-1:] == ["device_up"], timeout=60)
    return down, answering, time.monotonic() - hung


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="resource window (default 5)")
    parser.add_argument("--interval", type=float, default=10.0, help="probe interval, seconds")
    args = parser.parse_args()
    timing = {
        "probe_interval_s": args.interval,
        "probe_timeout_s": min(2.0, args.interval / 4),
        "heartbeat_s": 30,
        "down_after": 3,
        "arm_after": 2,
        "max_consecutive": 3,
        "off_time_s": 2.0,
        "boot_wait_s": 30.0,
        "boot_delay_s": 5.0,
    }
    bare = bare_python_rss_mb()
    with tempfile.TemporaryDirectory() as tmp, Broker(Path(tmp) / "broker") as broker:
        broker.add_gateway(TENANT, "gw-bench")
        broker.add_central([TENANT])
        broker.start()
        home = AgentHome(Path(tmp) / "home", broker, "gw-bench", timing=timing)
        try:
            with broker.client("central") as client:
                watcher = Watcher(client, "gw-bench")
                home.router.wait_answering(30)  # both booted before the agent starts
                home.camera.wait_answering(30)
                proc = home.start()
                arming = (timing["arm_after"] + 1) * args.interval
                down, answering, up = measure_hang(home, watcher, arming)
                watcher.events()  # drain: count only the window's messages below
                cpu0, t0 = _cpu_s(proc.pid), time.monotonic()
                time.sleep(args.minutes * 60)
                cpu = (_cpu_s(proc.pid) - cpu0) / (time.monotonic() - t0) * 100
                rss = _status_kb(proc.pid, "VmHWM") / 1024
                pss = _pss_mb(proc.pid)
                states = sum(1 for m in watcher.client.received() if m.topic.endswith("/state"))
                home.stop()
                child = config_child_rss_mb(home.config)
        except BaseException:
            print(home.log_text()[-4000:], file=sys.stderr)
            raise
        finally:
            home.close()
    floor = args.interval * timing["down_after"] + 2
    retry = args.interval / 2  # the agent's default retry_interval_s
    worst = args.interval + (timing["down_after"] - 1) * retry + timing["probe_timeout_s"]
    print(
        f"agent benchmark: probe interval {args.interval:g} s, retry interval {retry:g} s,"
        f" down after {timing['down_after']} rounds"
    )
    print(f"  hang -> device_down at subscriber  {down:7.2f} s   (floor {floor:g} s)")
    print(f"  the schedule's worst case          {worst:7.2f} s   (plus delivery)")
    print(f"  hang -> camera answering again     {answering:7.2f} s   (fake boot delay 5 s)")
    print(f"  hang -> device_up at subscriber    {up:7.2f} s")
    print(f"  peak RSS (VmHWM), agent            {rss:7.1f} MB  (floor 40 MB)")
    print(f"  PSS at the end, agent              {pss:7.1f} MB  (shared libraries shared out)")
    print(f"  peak RSS, bare python -S           {bare:7.1f} MB  (same run, baseline)")
    print(f"  peak RSS, config child at start    {child:7.1f} MB  (exits before the relays)")
    print(
        f"  CPU over {args.minutes:g} min, 2 devices     {cpu:7.3f} %   (floor 0.5 % of one core)"
    )
    print(f"  state messages in the window       {states:7d}")
    verdicts = {"detection": down <= floor, "rss": rss <= 40, "cpu": cpu <= 0.5}
    print(
        "  floors: " + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in verdicts.items())
    )


if __name__ == "__main__":
    main()
