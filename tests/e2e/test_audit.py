"""Confidential reports and the audit log end to end (issue 7): a clerk registers a 检举控告
visit (CLI); the lawyer cannot open its matter (Rust refuses, in Chinese, in the app and in the
CLI); the supervisor opens it, and the audit view lists that view with the supervisor, the
action and the matter. It has its own data dir (accounts made here with the CLI), opened with
`--data-dir`, so the shared one of test_desk.py keeps its queue numbers; each test starts the app
anew.
"""

import json

import pytest
from helpers import (body_text, click, el, els, go, login, own_hall, resident_id, run_cli, shot, tid, type_into,
                     wait, xinfang)
from selenium.webdriver.common.by import By

APPEAL = "举报某乡镇干部在危房改造补助发放中收受好处费。"
REFUSAL = "该事项为检举控告件，仅登记人和本厅负责人可以查看"


@pytest.fixture(scope="module")
def audit_dir():
    accounts = [("clerk", "王接待", "clerk"), ("lawyer", "张律师", "lawyer"), ("supervisor", "李科长", "supervisor")]
    with own_hall("xinfang-e2e-audit-", accounts) as d:
        yield d


@pytest.fixture
def start_app_here(start_app, audit_dir):
    """Starts the app on this file's data dir (a new process each time); quits it at the end."""
    return lambda: start_app(audit_dir)


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


def open_matter(drv, matter_id: str) -> None:
    # The lawyer has no menu entry to the matter: go to its address, as a curious user could.
    go(drv, f"/matter/{matter_id}")


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
    assert APPEAL not in body_text(drv)
    assert not els(drv, "nav-audit"), "the audit view is for supervisors and admins"


def test_the_supervisor_opens_it_and_the_audit_view_lists_the_view(start_app_here, report, audit_dir):
    data_dir = audit_dir
    matter_id = report["matter_id"]
    drv = start_app_here()
    login(drv, "supervisor")
    # 今日来访 does not show the appeal of a report.
    click(drv, "nav-today")
    wait(drv).until(lambda d: "钱守正" in body_text(d))
    assert APPEAL not in body_text(drv)
    assert "检举控告件，内容保密" in body_text(drv)

    open_matter(drv, matter_id)
    el(drv, "matter-confidential")
    assert APPEAL in el(drv, "matter-head").text

    # The visitor page shows the ID number masked; 显示完整号码 shows it in full (audited).
    number = resident_id("19690312", "031")
    go(drv, f"/visitor/{report['visitor_ids'][0]}")
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
    # The record by its 事项编号 (issue 20), never its id.
    number = report["matter_number"]
    record = newest.find_element(By.CSS_SELECTOR, tid("audit-row-record")).text
    assert number in record and matter_id not in record, record
    # Nothing was written for the lawyer's refused attempt.
    assert not any("张律师" in r.text for r in rows)
    full = [r for r in els(drv, "audit-row") if r.get_attribute("data-action") == "view_full_id"]
    # The visitor by their latest visit's 来访编号, not their id.
    assert full and "查看完整证件号码" in full[0].text, [r.text for r in full]
    assert f"最近来访 {report['number']}" in full[0].text and report["visitor_ids"][0] not in full[0].text
    shot(drv, "audit")

    # Filter by the record's number: only that matter's entries.
    type_into(drv, "audit-record", number)
    click(drv, "audit-search")
    wait(drv).until(lambda d: all(
        number in r.find_element(By.CSS_SELECTOR, tid("audit-row-record")).text
        for r in els(d, "audit-row")) and len(els(d, "audit-row")) >= 1)

    # The chain the CLI verifies still holds.
    out = run_cli(data_dir, "verify", user="supervisor")
    assert out.returncode == 0, out.stdout + out.stderr
