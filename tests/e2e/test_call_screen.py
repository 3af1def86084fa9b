"""The call screen (叫号屏, issue 17) end to end: a desk enrolled with the real server gets the
hall's queue number at registration; the clerk presses 叫号 in the app, and the waiting room's
page (`/hall/screen`, opened in the same WebDriver session as a TV's browser would) shows the
number and the room; the lawyer's `xinfang queue take` calls the next one there. The page never
shows the visitor's name, document number or appeal.
"""

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from helpers import (APP, CLI, click, el, go, login, make_hall, new_session, require_binaries, resident_id, shot,
                     tauri_driver, text_of, wait, xinfang)
from selenium.webdriver.common.by import By
from test_sync import CITY, City

PERSON = resident_id("19820304", "051")
NAME = "孙叫号"
APPEAL = "工程款拖欠两年，请求协调支付。"


@pytest.fixture(scope="module")
def hall():
    """(city, data dir, WebDriver URL): a desk with a clerk and a lawyer, enrolled with the server."""
    require_binaries(APP, CLI, CITY)
    root = Path(tempfile.mkdtemp(prefix="xinfang-e2e-screen-"))
    city = City(root)
    try:
        data = make_hall(root / "data", [("clerk", "王接待", "clerk"), ("lawyer", "张律师", "lawyer")])
        code = city.admin("enrol-code", "--hall", "140521")
        xinfang(data, "enrol", "--server", city.url, "--code", code, user="admin")
        env = {"XINFANG_DATA_DIR": str(data), "XINFANG_SERVER_URL": None}
        with tauri_driver(env, root / "tauri-driver.log") as url:
            yield city, data, url
    finally:
        city.stop()
        shutil.rmtree(root, ignore_errors=True)


def register(data: Path) -> dict:
    visit = data.parent / "visit.json"
    visit.write_text(json.dumps({
        "visitors": [{"name": NAME, "id_number": PERSON}],
        "appeal": APPEAL,
        "appeal_kind": "claim",
        "category": "劳动和社会保障",
        "agency": "沁水县住房和城乡建设管理局",
    }, ensure_ascii=False), encoding="utf-8")
    return xinfang(data, "visit", "add", "--file", str(visit), user="clerk")


def screen_shows(drv, number: str, room: str) -> None:
    def shown(d):
        return (d.find_element(By.ID, "now-number").text.strip() == f"{number} 号"
                and room in d.find_element(By.ID, "now-room").text)
    wait(drv, 20).until(shown)


def test_a_called_number_shows_on_the_call_screen(hall):
    city, data, driver_url = hall
    first = register(data)
    label = first["queue_label"]
    assert label == "1", first  # the hall's number, from the server

    drv = new_session(driver_url)
    try:
        login(drv, "clerk")
        go(drv, "/today")
        el(drv, "today-row")
        click(drv, "call-registration")
        assert "请 1 号到登记窗口" in text_of(drv, "today-called")

        # The waiting room's TV: the server's page, no login.
        drv.get(f"{city.url}/hall/screen?hall=140521")
        screen_shows(drv, label, "登记窗口")

        # The lawyer takes the visitor from the CLI: the screen calls them to the lawyer's room.
        second = register(data)
        xinfang(data, "visit", "handoff", second["visit_id"], "--desk", "lawyer", user="clerk")
        # Synced to the server, the hand-off puts the number on the screen's waiting list.
        xinfang(data, "sync", user="admin")
        wait(drv, 20).until(lambda d: f"{second['queue_label']} 号" in d.find_element(By.ID, "waiting").text)
        assert "律师咨询室" in drv.find_element(By.ID, "waiting").text
        taken = xinfang(data, "queue", "take", "--desk", "lawyer", user="lawyer")
        assert taken["called"] is True, taken
        screen_shows(drv, second["queue_label"], "律师咨询室")
        wait(drv).until(lambda d: "1 号" in d.find_element(By.ID, "recent").text)
        # The number called left the waiting list; a visitor handed to the mediator waits there.
        third = register(data)
        xinfang(data, "visit", "handoff", third["visit_id"], "--desk", "mediator", user="clerk")
        xinfang(data, "sync", user="admin")
        wait(drv, 20).until(lambda d: "人民调解室" in d.find_element(By.ID, "waiting").text)
        waiting = drv.find_element(By.ID, "waiting").text
        assert f"{third['queue_label']} 号" in waiting and "律师咨询室" not in waiting, waiting
        page = drv.find_element(By.TAG_NAME, "body").text
        for never in (NAME, PERSON, APPEAL, "王接待", "张律师"):
            assert never not in page
        shot(drv, "call-screen")
    finally:
        drv.quit()
