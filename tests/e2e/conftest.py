"""End-to-end fixtures: the real built app in WebKitGTK under Xvfb, over tauri-driver.

The data dir is prepared with the real `xinfang` CLI. Xvfb and tauri-driver are started here on a
free display and port, and killed at the end; every WebDriver session is quit in a finally.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.options import ArgOptions

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
APP = Path(os.environ.get("XINFANG_DESK_BIN") or TARGET / "release" / "xinfang-desk")
CLI = Path(os.environ.get("XINFANG_CLI_BIN") or TARGET / "release" / "xinfang")
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "e2e-pass-2026"
ACCOUNTS = {
    "clerk": ("王接待", "clerk"),
    "lawyer": ("张律师", "lawyer"),
    "mediator": ("赵调解", "mediator"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display between :90 and :199")


def wait_port(port: int, timeout: float = 20.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


def cli(data_dir: Path, *args: str, user: str | None = None, new_password: str | None = None) -> None:
    env = dict(os.environ, XINFANG_DATA_DIR=str(data_dir), XINFANG_PASSWORD=PASSWORD)
    if user:
        env["XINFANG_USER"] = user
    if new_password:
        env["XINFANG_NEW_PASSWORD"] = new_password
    subprocess.run([str(CLI), *args], env=env, check=True, stdin=subprocess.DEVNULL, capture_output=True)


@pytest.fixture(scope="session")
def data_dir():
    for p in (APP, CLI):
        if not p.exists():
            pytest.fail(f"{p} is missing: run `make app cli` first")
    d = Path(tempfile.mkdtemp(prefix="xinfang-e2e-")) / "data"
    cli(d, "init", "--hall", "140521", "--admin", "admin", "--name", "系统管理员")
    for username, (name, role) in ACCOUNTS.items():
        cli(d, "staff", "add", "--username", username, "--name", name, "--role", role,
            user="admin", new_password=PASSWORD)
    yield d
    shutil.rmtree(d.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def driver_url(data_dir):
    display = free_display()
    port = free_port()
    xvfb = subprocess.Popen(
        ["Xvfb", f":{display}", "-screen", "0", "1440x900x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    env = dict(os.environ, DISPLAY=f":{display}", XINFANG_DATA_DIR=str(data_dir))
    env.pop("WAYLAND_DISPLAY", None)
    log = open(data_dir.parent / "tauri-driver.log", "wb")
    driver = subprocess.Popen(
        ["tauri-driver", "--port", str(port), "--native-port", str(free_port())],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        for p in (driver, xvfb):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


@pytest.fixture
def start_app(driver_url):
    """Starts the app (a new process each time) and quits it at the end of the test."""
    sessions = []

    def start():
        opts = ArgOptions()
        opts.set_capability("browserName", "wry")
        opts.set_capability("tauri:options", {"application": str(APP)})
        drv = webdriver.Remote(command_executor=driver_url, options=opts)
        sessions.append(drv)
        return drv

    try:
        yield start
    finally:
        for drv in sessions:
            try:
                drv.quit()
            except Exception:  # noqa: BLE001 - the session may already be gone
                pass


def pytest_configure(config):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
