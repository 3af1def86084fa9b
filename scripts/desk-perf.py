#!/usr/bin/env python3
"""Start-to-interactive time and memory of the desktop app, for docs/performance.md.

Starts the release binary N times under its own Xvfb with XINFANG_STARTUP_PROBE=1, measures the
wall time from spawning the process to the app's "ui ready" line (printed when the mounted UI
makes its first command call, i.e. the window shows the login form and takes input), then reads
VmRSS of the main process and of the WebKit processes it started, 3 s after ready.
"""

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
APP = os.environ.get("XINFANG_DESK_BIN") or str(TARGET / "release" / "xinfang-desk")
CLI = os.environ.get("XINFANG_CLI_BIN") or str(TARGET / "release" / "xinfang")
RUNS = int(os.environ.get("RUNS", "7"))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[tuple[int, str]]:
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                out.append((int(p.name), (p / "comm").read_text().strip()))
        except (OSError, ValueError, IndexError):
            continue
    return out


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="xinfang-perf-"))
    data = tmp / "data"
    env = dict(os.environ, XINFANG_DATA_DIR=str(data), XINFANG_PASSWORD="perf-pass-2026")
    subprocess.run([CLI, "init", "--hall", "140521", "--admin", "admin"], env=env, check=True,
                   capture_output=True, stdin=subprocess.DEVNULL)
    display = next(n for n in range(120, 200) if not Path(f"/tmp/.X{n}-lock").exists())
    xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", "1440x900x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    env.update(DISPLAY=f":{display}", XINFANG_STARTUP_PROBE="1")
    starts, mains, webkit = [], [], []
    try:
        for i in range(RUNS + 1):
            t0 = time.monotonic()
            app = subprocess.Popen([APP], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   text=True, start_new_session=True)
            ready = None
            assert app.stderr is not None
            for line in app.stderr:
                if "ui ready" in line:
                    ready = time.monotonic() - t0
                    break
            if ready is None:
                sys.exit(f"the app exited without becoming ready (exit {app.wait()})")
            time.sleep(3)
            kids = children(app.pid)
            if i > 0:  # the first run warms the disk cache
                starts.append(ready * 1000)
                mains.append(rss_kib(app.pid) / 1024)
                webkit.append({name: rss_kib(pid) / 1024 for pid, name in kids})
            os.killpg(app.pid, signal.SIGTERM)
            app.wait(timeout=10)
    finally:
        xvfb.terminate()
        xvfb.wait()
    print(f"runs: {len(starts)} (after one warm-up)")
    print(f"start to interactive window: median {statistics.median(starts):.0f} ms "
          f"(min {min(starts):.0f}, max {max(starts):.0f})")
    print(f"main process RSS after start: median {statistics.median(mains):.1f} MiB")
    names = sorted({n for w in webkit for n in w})
    for n in names:
        vals = [w[n] for w in webkit if n in w]
        print(f"  {n}: median {statistics.median(vals):.1f} MiB")


if __name__ == "__main__":
    main()
