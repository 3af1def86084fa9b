"""The city administrator's web console (`/admin`, issue 20) end to end, in headless Chromium
over chromedriver: the real city server, an account made with `xinfang-city admin-user add`,
login through the page, an enrolment code made on 注册码 and used by the real `xinfang enrol`,
the desk seen on 设备 and revoked there (after a confirmation), and the desk refused by the
server at its next sync. A new password set on the server ends the session: the page goes back
to 登录 and says why.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from helpers import CLI, choose_option, click, el, els, make_hall, require_binaries, run_cli, shot, text_of, type_into, wait, xinfang
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from test_sync import CITY, City

CHROMIUM = Path(os.environ.get("XINFANG_CHROMIUM") or "/usr/bin/chromium")
CHROMEDRIVER = Path(os.environ.get("XINFANG_CHROMEDRIVER") or "/usr/bin/chromedriver")
ADMIN = "chen"
ADMIN_PASSWORD = "console-pass-2026"


def add_admin_user(city: City, password: str) -> None:
    subprocess.run(
        [str(CITY), *city.flags, "--data-dir", str(city.dir), "admin-user", "add", "--username", ADMIN],
        check=True, capture_output=True, text=True,
        env=dict(os.environ, XINFANG_LOG="warn", XINFANG_CITY_ADMIN_PASSWORD=password),
    )


@pytest.fixture(scope="module")
def console():
    """(city, desk data dir, Chromium WebDriver)."""
    require_binaries(CLI, CITY, CHROMIUM, CHROMEDRIVER)
    root = Path(tempfile.mkdtemp(prefix="xinfang-e2e-console-"))
    city = City(root)
    drv = None
    try:
        add_admin_user(city, ADMIN_PASSWORD)
        data = make_hall(root / "data", [("clerk", "王接待", "clerk")])
        opts = Options()
        opts.binary_location = str(CHROMIUM)
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,900",
                    "--lang=zh-CN", f"--user-data-dir={root / 'chromium'}"):
            opts.add_argument(arg)
        drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER), log_output=str(root / "chromedriver.log")),
                               options=opts)
        yield city, data, drv
    finally:
        if drv is not None:
            drv.quit()
        city.stop()
        shutil.rmtree(root, ignore_errors=True)


def log_in(drv, password: str) -> None:
    el(drv, "login-username")
    type_into(drv, "login-username", ADMIN)
    type_into(drv, "login-password", password)
    click(drv, "login-submit")


def device_row(drv, name: str):
    rows = drv.find_elements(By.CSS_SELECTOR, '[data-testid="devices-table"] .el-table__body tr')
    return next((r for r in rows if name in r.text), None)


def test_log_in_make_a_code_enrol_a_desk_and_revoke_it(console):
    city, data, drv = console
    drv.get(city.url + "/admin/")
    el(drv, "login-username")
    shot(drv, "city-console-login")

    # A wrong password is told in Chinese and lets nobody in.
    log_in(drv, "wrong-password-1")
    assert "用户名或密码不对" in text_of(drv, "login-error")
    log_in(drv, ADMIN_PASSWORD)
    el(drv, "logout")
    assert text_of(drv, "who") == ADMIN
    wait(drv).until(lambda d: "140521" in d.find_element(By.CSS_SELECTOR, '[data-testid="halls-table"]').text)
    shot(drv, "city-console-halls")

    # 注册码: a desk code for 沁水县, shown with its QR code.
    click(drv, "nav-codes")
    choose_option(drv, "code-hall", "140521 沁水县")
    click(drv, "code-make")
    code = text_of(drv, "code-value")
    assert len(code) == 14 and code.count("-") == 2, code
    assert el(drv, "code-qr").get_attribute("src").startswith("data:image/png;base64,")
    shot(drv, "city-console-code")

    # The real desk CLI enrols with it.
    xinfang(data, "enrol", "--server", city.url, "--code", code, user="admin")
    xinfang(data, "sync", user="admin")

    # 设备: the desk is there, with its last contact.
    click(drv, "nav-devices")
    click(drv, "devices-refresh")
    wait(drv).until(lambda d: device_row(d, "140521") is not None)
    row = device_row(drv, "140521")
    assert "接待台" in row.text and "有效" in row.text and "尚无" not in row.text, row.text
    shot(drv, "city-console-devices")

    # 吊销, confirmed in the dialog.
    row.find_element(By.CSS_SELECTOR, '[data-testid="device-revoke"]').click()
    box = wait(drv).until(lambda d: next(
        (b for b in d.find_elements(By.CSS_SELECTOR, ".el-message-box")
         if b.is_displayed() and "确定吊销吗" in b.text), None))
    shot(drv, "city-console-revoke-confirm")
    box.find_element(By.XPATH, ".//button[.//span[normalize-space()='吊销']]").click()
    el(drv, "device-revoked")
    # (el-table keeps a hidden copy of each column's template: only shown buttons count.)
    assert not [b for b in els(drv, "device-revoke") if b.is_displayed()]
    shot(drv, "city-console-revoked")

    # The server refuses the desk from now on.
    p = run_cli(data, "sync", user="admin", json_out=False)
    assert p.returncode != 0, p.stdout + p.stderr
    assert "注销" in p.stdout + p.stderr, p.stdout + p.stderr

    # 统计 and 审计 answer for the session.
    click(drv, "nav-stats")
    el(drv, "stats-total")
    shot(drv, "city-console-stats", settle=1.0)
    click(drv, "nav-audit")
    el(drv, "audit-summary")
    shot(drv, "city-console-audit")

    # A new password set on the server ends the session: back to 登录, told why.
    add_admin_user(city, "another-pass-2026")
    click(drv, "audit-refresh")
    assert "登录已过期" in text_of(drv, "login-ended")
    shot(drv, "city-console-session-ended")
