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
import urllib.request
from pathlib import Path

import pytest
from helpers import (APP, CLI, TARGET, el, free_port, login, make_hall, new_session, require_binaries, resident_id,
                     shot, tauri_driver, tid, wait, wait_port, xinfang)
from selenium.webdriver.common.by import By


def _city_bin() -> Path:
    if os.environ.get("XINFANG_CITY_BIN"):
        return Path(os.environ["XINFANG_CITY_BIN"])
    for kind in ("release", "debug"):
        p = TARGET / kind / "xinfang-city"
        if p.exists():
            return p
    return TARGET / "release" / "xinfang-city"


CITY = _city_bin()
SLOW = 30  # seconds: a sync round and the status poll come first
PERSON = resident_id("19750304", "021")


class City:
    """The real city server on a loopback port, in a temp data dir."""

    def __init__(self, root: Path, tls: tuple[Path, Path] | None = None):
        """`tls`: (certificate, key) PEM files to serve HTTPS with."""
        self.dir = root / "city"
        self.dir.mkdir()
        help_text = subprocess.run([str(CITY), "--help"], capture_output=True, text=True).stdout
        self.flags = ["--no-encryption"] if "--no-encryption" in help_text else []
        self.port = free_port()
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        serve_tls = ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])] if tls else []
        self.log = open(root / "city.log", "wb")
        self.proc = subprocess.Popen(
            [str(CITY), *self.flags, "--data-dir", str(self.dir), "serve", "--listen", f"127.0.0.1:{self.port}",
             *serve_tls],
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
    require_binaries(APP, CLI, CITY)
    root = Path(tempfile.mkdtemp(prefix="xinfang-e2e-sync-"))
    city = City(root)
    try:
        data = make_hall(root / "data", [("clerk", "王接待", "clerk")])
        code = city.admin("enrol-code", "--hall", "140521")
        xinfang(data, "enrol", "--server", city.url, "--code", code, user="admin")
        env = {"XINFANG_DATA_DIR": str(data), "XINFANG_SYNC_SECONDS": "1", "XINFANG_SERVER_URL": None}
        with tauri_driver(env, root / "tauri-driver.log") as url:
            yield city, data, url
    finally:
        city.stop()
        shutil.rmtree(root, ignore_errors=True)


def status_text(drv) -> str:
    return drv.find_element(By.CSS_SELECTOR, tid("sync-status")).text


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
    xinfang(data, "visit", "add", "--file", str(visit), user="clerk")


def test_the_desk_syncs_in_the_background_and_shows_offline_when_the_city_is_gone(synced):
    city, data, driver_url = synced
    admin_token = city.admin("admin-token")
    drv = new_session(driver_url)
    try:
        login(drv, "clerk")
        el(drv, "sync-status", SLOW)
        # Enrolled and the server is up: 在线, everything pushed, with the time of the sync.
        wait(drv, SLOW).until(lambda d: "在线" in status_text(d) and "上次同步" in status_text(d))
        wait(drv, SLOW).until(lambda d: "已同步" in status_text(d))

        # A new visit at the desk reaches the city without anyone pressing a button.
        add_visit(data)
        found = {}

        def at_city(_):
            found.update(city.get(f"/v1/city/repeat-visits?id_number={PERSON}", admin_token))
            return bool(found.get("visits"))

        wait(drv, SLOW).until(at_city)
        assert found["halls"] == ["140521"], found
        assert found["visits"][0]["hall_code"] == "140521"
        wait(drv, SLOW).until(lambda d: "在线" in status_text(d) and "已同步" in status_text(d))
        shot(drv, "sync-online", settle=0)

        # The city goes away: 离线, and the reason in Chinese as visible text.
        city.stop()
        wait(drv, SLOW).until(lambda d: "离线" in status_text(d))
        error = el(drv, "sync-error", SLOW)
        assert error.is_displayed()
        assert "无法连接市局服务器" in error.text, error.text
        assert "在线" not in status_text(drv)
        # The last successful sync is still shown.
        assert "上次同步" in status_text(drv)

        # Work goes on offline: a new visit waits for upload and the count says so.
        xinfang(data, "visit", "add", "--file", str(data.parent / "visit.json"), user="clerk")
        wait(drv, SLOW).until(lambda d: "待上传" in status_text(d))
        shot(drv, "sync-offline", settle=0)
    finally:
        drv.quit()

