"""Confidential reports and the audit log end to end (issue 7): a clerk registers a 检举控告
visit (CLI); the lawyer cannot open its matter (Rust refuses, in Chinese, in the app and in the
CLI); the supervisor opens it, and the audit view lists that view with the supervisor, the
action and the matter. It has its own data dir (accounts made here with the CLI), opened with
`--data-dir`, so the shared one of test_desk.py keeps its queue numbers; each test starts the app
anew.
"""

import json
import os
import subprocess
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from conftest import APP, CLI, PASSWORD, SCREENSHOTS
from selenium import webdriver
from selenium.webdriver.common.options import ArgOptions
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"
APPEAL = "举报某乡镇干部在危房改造补助发放中收受好处费。"
REFUSAL = "该事项为检举控告件，仅登记人、负责人和管理员可以查看"


def resident_id(birth: str, seq: str, region: str = "140521") -> str:
    first17 = f"{region}{birth}{seq}"
    return first17 + CHECK[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def run_cli(data_dir, *args: str, user: str | None = None, new_password: str | None = None):
    env = dict(os.environ, XINFANG_DATA_DIR=str(data_dir), XINFANG_PASSWORD=PASSWORD)
    if user:
        env["XINFANG_USER"] = user
    if new_password:
        env["XINFANG_NEW_PASSWORD"] = new_password
    return subprocess.run([str(CLI), "--json", *args], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True)


def xinfang(data_dir, *args: str, **kw):
    p = run_cli(data_dir, *args, **kw)
    assert p.returncode == 0, f"xinfang {' '.join(args)}: {p.stdout}{p.stderr}"
    return json.loads(p.stdout) if p.stdout.strip() else None


@pytest.fixture(scope="module")
def audit_dir():
    d = Path(tempfile.mkdtemp(prefix="xinfang-e2e-audit-")) / "data"
    xinfang(d, "init", "--hall", "140521", "--admin", "admin", "--name", "系统管理员")
    for username, name, role in [("clerk", "王接待", "clerk"), ("lawyer", "张律师", "lawyer"),
                                 ("supervisor", "李科长", "supervisor")]:
        xinfang(d, "staff", "add", "--username", username, "--name", name, "--role", role,
                user="admin", new_password=PASSWORD)
    yield d
    shutil.rmtree(d.parent, ignore_errors=True)


@pytest.fixture
def start_app_here(driver_url, audit_dir):
    """Starts the app on this file's data dir (a new process each time); quits it at the end."""
    sessions = []

    def start():
        opts = ArgOptions()
        opts.set_capability("browserName", "wry")
        opts.set_capability("tauri:options", {"application": str(APP),
                                              "args": ["--data-dir", str(audit_dir)]})
        drv = webdriver.Remote(command_executor=driver_url, options=opts)
        sessions.append(drv)
        return drv

    try:
        yield start
    finally:
        for drv in sessions:
            drv.quit()


@pytest.fixture(scope="module")
def report(audit_dir):
    """A 检举控告 visit registered by the clerk."""
    data_dir = audit_dir
    visit = {
        "visitors": [{"name": "钱守正", "id_number": resident_id("19690312", "031"),
                      "phone": "13934567890"}],
        "appeal": APPEAL,
        "appeal_kind": "report",
        "category": "纪检监察",
    }
    f = data_dir.parent / "visit-report.json"
    f.write_text(json.dumps(visit, ensure_ascii=False), encoding="utf-8")
    return xinfang(data_dir, "visit", "add", "--file", str(f), user="clerk")


# ---- WebDriver helpers (as in test_matters.py) ------------------------------------------------

def tid(name: str) -> str:
    return f'[data-testid="{name}"]'


def wait(drv, timeout: float = 15):
    return WebDriverWait(drv, timeout, ignored_exceptions=[StaleElementReferenceException])


def el(drv, name: str, timeout: float = 15):
    return wait(drv, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, tid(name))))


def els(drv, name: str):
    return drv.find_elements(By.CSS_SELECTOR, tid(name))


def click(drv, name: str) -> None:
    wait(drv).until(lambda d: len(els(d, name)) > 0 and els(d, name)[0].is_enabled())
    target = els(drv, name)[0]
    drv.execute_script("arguments[0].scrollIntoView({block: 'center'})", target)
    wait(drv).until(EC.element_to_be_clickable(target))
    target.click()


def type_into(drv, name: str, text: str) -> None:
    field = el(drv, name)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.BACKSPACE)
    field.send_keys(text)


def login(drv, username: str) -> None:
    el(drv, "login-username", timeout=30)
    type_into(drv, "login-username", username)
    type_into(drv, "login-password", PASSWORD)
    click(drv, "login-submit")
    el(drv, "logout")


def open_matter(drv, matter_id: str) -> None:
    # The lawyer has no menu entry to the matter: go to its address, as a curious user could.
    drv.execute_script("window.location.hash = arguments[0]", f"#/matter/{matter_id}")


# ---- tests ----------------------------------------------------------------------------------

def test_the_lawyer_is_refused_the_report(start_app_here, report, audit_dir):
    data_dir = audit_dir
    matter_id = report["matter_id"]
    # The CLI applies the same rule.
    p = run_cli(data_dir, "matter", "show", matter_id, user="lawyer")
    assert p.returncode == 1, p.stdout + p.stderr
    assert REFUSAL in p.stdout + p.stderr
    assert APPEAL not in p.stdout + p.stderr

    drv = start_app_here()
    login(drv, "lawyer")
    open_matter(drv, matter_id)
    error = el(drv, "matter-error")
    assert REFUSAL in error.text, error.text
    assert not els(drv, "matter-head")
    assert APPEAL not in drv.find_element(By.TAG_NAME, "body").text
    assert not els(drv, "nav-audit"), "the audit view is for supervisors and admins"


def test_the_supervisor_opens_it_and_the_audit_view_lists_the_view(start_app_here, report, audit_dir):
    data_dir = audit_dir
    matter_id = report["matter_id"]
    drv = start_app_here()
    login(drv, "supervisor")
    # 今日来访 does not show the appeal of a report.
    click(drv, "nav-today")
    wait(drv).until(lambda d: "钱守正" in d.find_element(By.TAG_NAME, "body").text)
    assert APPEAL not in drv.find_element(By.TAG_NAME, "body").text
    assert "检举控告件，内容保密" in drv.find_element(By.TAG_NAME, "body").text

    open_matter(drv, matter_id)
    el(drv, "matter-confidential")
    assert APPEAL in el(drv, "matter-head").text

    # The visitor page shows the ID number masked; 显示完整号码 shows it in full (audited).
    number = resident_id("19690312", "031")
    drv.execute_script("window.location.hash = arguments[0]", f"#/visitor/{report['visitor_ids'][0]}")
    assert "*" in el(drv, "visitor-id-number").text
    click(drv, "reveal-id-number")
    wait(drv).until(lambda d: el(d, "visitor-id-number").text == number)

    click(drv, "nav-audit")
    wait(drv).until(lambda d: len(els(d, "audit-row")) >= 1)
    rows = [r for r in els(drv, "audit-row") if r.get_attribute("data-action") == "view_confidential"]
    assert rows, [r.text for r in els(drv, "audit-row")]
    newest = rows[0]
    assert "李科长" in newest.find_element(By.CSS_SELECTOR, tid("audit-row-staff")).text
    assert newest.find_element(By.CSS_SELECTOR, tid("audit-row-action")).text == "查看检举控告类事项"
    assert matter_id in newest.find_element(By.CSS_SELECTOR, tid("audit-row-record")).text
    # Nothing was written for the lawyer's refused attempt.
    assert not any("张律师" in r.text for r in rows)
    full = [r for r in els(drv, "audit-row") if r.get_attribute("data-action") == "view_full_id"]
    assert full and "查看完整证件号码" in full[0].text and report["visitor_ids"][0] in full[0].text
    time.sleep(0.5)  # let transitions settle
    drv.save_screenshot(str(SCREENSHOTS / "audit.png"))

    # Filter by the record: only that matter's entries.
    type_into(drv, "audit-record", matter_id)
    click(drv, "audit-search")
    wait(drv).until(lambda d: all(
        matter_id in r.find_element(By.CSS_SELECTOR, tid("audit-row-record")).text
        for r in els(d, "audit-row")) and len(els(d, "audit-row")) >= 1)

    # The chain the CLI verifies still holds.
    out = run_cli(data_dir, "verify", user="supervisor")
    assert out.returncode == 0, out.stdout + out.stderr
