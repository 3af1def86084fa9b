"""Desk ↔ city end to end: the real app syncs in the background with the real city server.

A city server (the real `xinfang-city` binary) on a free loopback port, a data dir enrolled to it
with the real CLI, and the app started with `XINFANG_SYNC_SECONDS=1` under its own Xvfb and
tauri-driver (the app reads its environment from tauri-driver's). The status bar shows 在线, a
visit registered at the desk reaches the city, and when the server stops the status bar shows
离线 with the reason in Chinese.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import APP, CLI, PASSWORD, SCREENSHOTS, TARGET, cli, free_display, free_port, wait_port
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


def _city_bin() -> Path:
    if os.environ.get("XINFANG_CITY_BIN"):
        return Path(os.environ["XINFANG_CITY_BIN"])
    for kind in ("release", "debug"):
        p = TARGET / kind / "xinfang-city"
        if p.exists():
            return p
    return TARGET / "release" / "xinfang-city"


CITY = _city_bin()
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"


def resident_id(first17: str) -> str:
    return first17 + CHECK[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


PERSON = resident_id("14052119750304021")


class City:
    """The real city server on a loopback port, in a temp data dir."""

    def __init__(self, root: Path):
        self.dir = root / "city"
        self.dir.mkdir()
        help_text = subprocess.run([str(CITY), "--help"], capture_output=True, text=True).stdout
        self.flags = ["--no-encryption"] if "--no-encryption" in help_text else []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(root / "city.log", "wb")
        self.proc = subprocess.Popen(
            [str(CITY), *self.flags, "--data-dir", str(self.dir), "serve", "--listen", f"127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT, env=dict(os.environ, XINFANG_LOG="warn"),
        )
        wait_port(self.port)

    def admin(self, *args: str) -> str:
        out = subprocess.run(
            [str(CITY), *self.flags, "--data-dir", str(self.dir), *args],
            capture_output=True, text=True, check=True, env=dict(os.environ, XINFANG_LOG="warn"),
        )
        return out.stdout.split()[-1].split("：")[-1]

    def get(self, path: str, token: str) -> dict:
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.load(resp)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def synced():
    """(city, data dir, WebDriver URL): an enrolled desk and a driver whose app syncs every second."""
    for p in (APP, CLI, CITY):
        if not p.exists():
            pytest.fail(f"{p} is missing: run `make app cli city` first")
    root = Path(tempfile.mkdtemp(prefix="xinfang-e2e-sync-"))
    city = City(root)
    data = root / "data"
    cli(data, "init", "--hall", "140521", "--admin", "admin", "--name", "系统管理员")
    cli(data, "staff", "add", "--username", "clerk", "--name", "王接待", "--role", "clerk",
        user="admin", new_password=PASSWORD)
    cli(data, "enrol", "--server", city.url, "--code", city.admin("enrol-code", "--hall", "140521"), user="admin")

    display, port = free_display(), free_port()
    xvfb = subprocess.Popen(
        ["Xvfb", f":{display}", "-screen", "0", "1440x900x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    env = dict(os.environ, DISPLAY=f":{display}", XINFANG_DATA_DIR=str(data), XINFANG_SYNC_SECONDS="1")
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("XINFANG_SERVER_URL", None)
    log = open(root / "tauri-driver.log", "wb")
    driver = subprocess.Popen(
        ["tauri-driver", "--port", str(port), "--native-port", str(free_port())],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_port(port)
        yield city, data, f"http://127.0.0.1:{port}"
    finally:
        city.stop()
        for p in (driver, xvfb):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def tid(name: str) -> str:
    return f'[data-testid="{name}"]'


def wait(drv, timeout: float = 30):
    return WebDriverWait(drv, timeout, poll_frequency=0.25, ignored_exceptions=[StaleElementReferenceException])


def el(drv, name: str, timeout: float = 30):
    return wait(drv, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, tid(name))))


def status_text(drv) -> str:
    return drv.find_element(By.CSS_SELECTOR, tid("sync-status")).text


def login(drv, username: str) -> None:
    for name, text in (("login-username", username), ("login-password", PASSWORD)):
        field = el(drv, name)
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.BACKSPACE)
        field.send_keys(text)
    el(drv, "login-submit").click()
    el(drv, "logout")


def add_visit(data: Path) -> None:
    """A visit registered at this desk (the CLI writes to the same store the app has open)."""
    visit = data.parent / "visit.json"
    visit.write_text(json.dumps({
        "visited_at": "",
        "visitors": [{"name": "赵同步", "id_number": PERSON, "phone": "13912345678"}],
        "head_count": 1,
        "representatives": [],
        "appeal": "征地补偿款未按时发放，请求督促落实。",
        "appeal_kind": "claim",
        "category": "劳动和社会保障",
        "agency": "沁水县自然资源局",
        "place_code": "140521",
    }, ensure_ascii=False), encoding="utf-8")
    cli(data, "visit", "add", "--file", str(visit), user="clerk")


def test_the_desk_syncs_in_the_background_and_shows_offline_when_the_city_is_gone(synced):
    city, data, driver_url = synced
    admin_token = city.admin("admin-token")
    opts = ArgOptions()
    opts.set_capability("browserName", "wry")
    opts.set_capability("tauri:options", {"application": str(APP)})
    drv = webdriver.Remote(command_executor=driver_url, options=opts)
    try:
        login(drv, "clerk")
        el(drv, "sync-status")
        # Enrolled and the server is up: 在线, everything pushed, with the time of the sync.
        wait(drv).until(lambda d: "在线" in status_text(d) and "上次同步" in status_text(d))
        wait(drv).until(lambda d: "已同步" in status_text(d))

        # A new visit at the desk reaches the city without anyone pressing a button.
        add_visit(data)
        found = {}

        def at_city(_):
            found.update(city.get(f"/v1/city/repeat-visits?id_number={PERSON}", admin_token))
            return bool(found.get("visits"))

        wait(drv).until(at_city)
        assert found["halls"] == ["140521"], found
        assert found["visits"][0]["hall_code"] == "140521"
        wait(drv).until(lambda d: "在线" in status_text(d) and "已同步" in status_text(d))
        drv.save_screenshot(str(SCREENSHOTS / "sync-online.png"))

        # The city goes away: 离线, and the reason in Chinese as visible text.
        city.stop()
        wait(drv).until(lambda d: "离线" in status_text(d))
        error = el(drv, "sync-error")
        assert error.is_displayed()
        assert "无法连接市局服务器" in error.text, error.text
        assert "在线" not in status_text(drv)
        # The last successful sync is still shown.
        assert "上次同步" in status_text(drv)

        # Work goes on offline: a new visit waits for upload and the count says so.
        cli(data, "visit", "add", "--file", str(data.parent / "visit.json"), user="clerk")
        wait(drv).until(lambda d: "待上传" in status_text(d))
        drv.save_screenshot(str(SCREENSHOTS / "sync-offline.png"))
    finally:
        drv.quit()

