"""Matters end to end (issue 6): open a visit's matter from today's list, accept it and see the
due date Rust computed, extend once, a second extension refused in Chinese at the step; print a
notice; the supervisor's due view lists an old matter as overdue; the backlog dashboard.

Visits are registered with the real `xinfang` CLI (the UI registration is covered by
test_desk.py); dates are checked against `xinfang deadline`, the same Rust function.
The tests share one data dir and run in file order; each starts the app anew.
"""

import datetime as dt
import json
from pathlib import Path

import pytest
from helpers import (PASSWORD, china_today, click, el, els, field_error, login, resident_id, shot, text_of, tid, type_into,
                     wait, xinfang)
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

TODAY = china_today()
OLD = TODAY - dt.timedelta(days=40)


def register(data_dir: Path, name: str, number: str, appeal: str, visited_at: str = "") -> dict:
    visit = {
        "visited_at": visited_at,
        "visitors": [{"name": name, "id_number": number, "phone": "13812345678"}],
        "appeal": appeal,
        "appeal_kind": "claim",
        "category": "劳动和社会保障",
        "agency": "沁水县人力资源和社会保障局",
    }
    f = data_dir.parent / f"visit-{number}.json"
    f.write_text(json.dumps(visit, ensure_ascii=False), encoding="utf-8")
    return xinfang(data_dir, "visit", "add", "--file", str(f), user="clerk")


def due_after(start: dt.date, days: int) -> str:
    r = xinfang(Path("/nonexistent"), "deadline", "--start", start.isoformat(), "--days", str(days))
    return r["due"]


@pytest.fixture(scope="module")
def hall(data_dir):
    """A supervisor account, today's visit (CLI) and a visit registered 40 days ago."""
    xinfang(data_dir, "staff", "add", "--username", "supervisor", "--name", "李科长",
            "--role", "supervisor", user="admin", new_password=PASSWORD)
    today = register(data_dir, "孙立新", resident_id("19781203", "057"),
                     "物业公司拖欠保洁工资两个月共 6000 元，要求支付。")
    old = register(data_dir, "周桂兰", resident_id("19650422", "026"),
                   "社区养老服务补贴停发，多次反映未获答复，要求恢复发放。",
                   visited_at=f"{OLD.isoformat()}T09:30:00+08:00")
    return {"today": today, "old": old}


def deadline_row(drv, kind: str):
    return wait(drv).until(
        EC.visibility_of_element_located(
            (By.CSS_SELECTOR, f'[data-testid="deadline-row"][data-kind="{kind}"]')
        )
    )


def record_step(drv, button: str, fields: dict[str, str] | None = None) -> None:
    click(drv, button)
    el(drv, "step-form")
    for name, value in (fields or {}).items():
        type_into(drv, f"step-{name}", value)
    click(drv, "step-submit")


# ---- tests ----------------------------------------------------------------------------------

def test_accept_extend_once_then_a_second_extension_is_refused(start_app, hall):
    drv = start_app()
    login(drv, "clerk")
    click(drv, "nav-today")
    wait(drv).until(lambda d: len(els(d, "today-row")) >= 1)
    row = next(r for r in els(drv, "today-row") if "孙立新" in r.text)
    link = row.find_element(By.CSS_SELECTOR, tid("open-matter"))
    drv.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    link.click()

    wait(drv).until(lambda d: text_of(d, "matter-status") == "登记")
    # The head names the matter by its 事项编号 (issue 20), never its id.
    assert text_of(drv, "matter-number") == hall["today"]["matter_number"]
    assert hall["today"]["matter_id"] not in text_of(drv, "matter-head")
    assert text_of(drv, "matter-kind") == "申诉求决类"
    disposition = deadline_row(drv, "disposition")
    assert disposition.find_element(By.CSS_SELECTOR, tid("deadline-due")).text == due_after(TODAY, 15)

    # 受理: the 60-day limit appears, counted by Rust.
    record_step(drv, "step-accept")
    wait(drv).until(lambda d: text_of(d, "matter-status") == "受理")
    conclusion = deadline_row(drv, "conclusion")
    due60 = due_after(TODAY, 60)
    assert conclusion.find_element(By.CSS_SELECTOR, tid("deadline-due")).text == due60
    assert "剩余" in conclusion.find_element(By.CSS_SELECTOR, tid("deadline-state")).text
    assert "受理之日起60日" in conclusion.text

    # 延期 once, with an approver: the limit grows to 90 days.
    record_step(drv, "step-extend", {"approver": "县信访局局长 刘振华", "reason": "涉及多家单位，需调查核实。"})
    wait(drv).until(lambda d: "已登记「延期」" in text_of(d, "matter-info"))
    conclusion = deadline_row(drv, "conclusion")
    assert conclusion.find_element(By.CSS_SELECTOR, tid("deadline-due")).text == due_after(TODAY, 90)
    assert "经批准延期30日" in conclusion.text
    assert not els(drv, "step-extend"), "延期 is no longer offered"

    # A second 延期 (from 其他环节) is refused by Rust, in Chinese, at the step.
    click(drv, "steps-other-toggle")
    record_step(drv, "other-step-extend", {"approver": "县信访局局长 刘振华", "reason": "仍需调查。"})
    error = field_error(drv, "event")
    assert "只能延期一次" in error.text, error.text
    assert "延期" in error.text and "请在延长后的期限" in error.text
    assert els(drv, "step-form"), "the form stays open with what was typed"

    items = els(drv, "timeline-item")
    assert [i.get_attribute("data-kind") for i in items] == ["accept", "extend"]
    assert all("王接待" in i.text for i in items)

    # Print the 受理告知书 with its 文号: a PDF saved in the data dir's notices folder, listed
    # with the 文号 it was printed with.
    type_into(drv, "notice-doc-no", "沁信受[2026]12号")
    click(drv, "print-acceptance")
    path = Path(text_of(drv, "printed-path"))
    assert path.parent.name == "notices" and path.suffix == ".pdf"
    assert path.read_bytes().startswith(b"%PDF")
    wait(drv).until(lambda d: any("沁信受〔2026〕12号" in e.text for e in els(d, "printed-entry")))
    # The shot shows the refusal under the steps.
    drv.execute_script("arguments[0].scrollIntoView({block: 'end'})", el(drv, "step-form"))
    shot(drv, "matter")


def test_the_due_view_lists_an_old_matter_as_overdue(start_app, hall):
    drv = start_app()
    login(drv, "supervisor")
    click(drv, "nav-due")
    el(drv, "due-overdue")
    old = hall["old"]["matter_id"]
    wait(drv).until(lambda d: any(r.get_attribute("data-matter") == old for r in els(d, "due-overdue-row")))
    row = next(r for r in els(drv, "due-overdue-row") if r.get_attribute("data-matter") == old)
    assert "登记处理期限" in row.text
    assert "周桂兰" in row.text
    assert row.find_element(By.CSS_SELECTOR, tid("due-left")).text.startswith("超期")
    assert due_after(OLD, 15) in row.text
    assert row.find_element(By.CSS_SELECTOR, tid("due-number")).text == hall["old"]["matter_number"]
    # Today's accepted matter is not overdue.
    fresh = hall["today"]["matter_id"]
    assert not any(r.get_attribute("data-matter") == fresh for r in els(drv, "due-overdue-row"))
    shot(drv, "due")

    # The row opens the matter.
    row.find_element(By.CSS_SELECTOR, tid("due-open")).click()
    wait(drv).until(lambda d: "周桂兰" in text_of(d, "matter-head"))
    assert "已超期" in deadline_row(drv, "disposition").text


def test_backlog_flag_note_clear_and_dashboard(start_app, hall, data_dir):
    # A second case, flagged from the CLI with a target date already past.
    target = (TODAY - dt.timedelta(days=5)).isoformat()
    # The CLI takes the matter's number as printed.
    xinfang(data_dir, "backlog", "flag", hall["today"]["matter_number"], "--leader", "王副县长",
            "--plan", "协调物业公司与街道共同解决。", "--target", target,
            "--on", (TODAY - dt.timedelta(days=20)).isoformat(), user="supervisor")

    drv = start_app()
    login(drv, "supervisor")
    click(drv, "nav-due")
    old = hall["old"]["matter_id"]
    wait(drv).until(lambda d: any(r.get_attribute("data-matter") == old for r in els(d, "due-overdue-row")))
    row = next(r for r in els(drv, "due-overdue-row") if r.get_attribute("data-matter") == old)
    row.find_element(By.CSS_SELECTOR, tid("due-open")).click()

    # Flag the old matter from its page.
    el(drv, "matter-flag")
    click(drv, "flag-submit")
    assert "包联领导" in field_error(drv, "leader").text
    type_into(drv, "flag-leader", "李副县长")
    type_into(drv, "flag-plan", "由民政局牵头核查补贴停发原因，一月内答复。")
    click(drv, "flag-submit")
    wait(drv).until(lambda d: "已列为信访积案" in text_of(d, "matter-info"))
    assert "李副县长" in text_of(drv, "matter-backlog")

    click(drv, "nav-backlog")
    wait(drv).until(lambda d: text_of(d, "backlog-total") == "2")
    assert text_of(drv, "backlog-open") == "2"
    assert text_of(drv, "backlog-overdue") == "1"
    assert text_of(drv, "backlog-rate") == "0.0%"
    leaders = [r.text for r in els(drv, "backlog-leader-row")]
    assert any("李副县长" in t for t in leaders) and any("王副县长" in t for t in leaders)

    rows = els(drv, "backlog-row")
    index = next(i for i, r in enumerate(rows) if "周桂兰" in r.text)
    click(drv, "backlog-select", index)
    el(drv, "backlog-case")
    type_into(drv, "note-text", "已召集民政局、社区专题研究，补贴核查中。")
    click(drv, "note-submit")
    wait(drv).until(lambda d: any("补贴核查中" in n.text for n in els(d, "backlog-note")))
    assert "李科长" in els(drv, "backlog-note")[0].text

    type_into(drv, "clear-summary", "补贴已恢复发放并补发，信访人表示满意。")
    click(drv, "clear-submit")
    wait(drv).until(lambda d: text_of(d, "backlog-cleared") == "1")
    assert text_of(drv, "backlog-rate") == "50.0%"
    assert "化解销号" in text_of(drv, "backlog-cleared-note")
    click(drv, "backlog-filter-all")
    wait(drv).until(lambda d: len(els(d, "backlog-row")) == 2)
    drv.execute_script("window.scrollTo(0, 0)")
    shot(drv, "backlog")
