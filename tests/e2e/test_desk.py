"""The reception desk end to end: login, registration with live ID checks, today's list,
repeat visits, group visits, the lawyer and mediator desks, and a restart.

The tests share one data dir and run in file order; each starts the app anew.
"""

from helpers import (choose, click, el, els, field_error, fill_appeal, login, logout, own_number, resident_id, shot,
                     submit_registration, text_of, tid, type_into, wait)
from selenium.webdriver.common.by import By


def wrong_check(n: str) -> str:
    return n[:17] + ("1" if n[17] != "1" else "2")


ZHANG = resident_id("19800115", "013")  # 张建国, male


def no_field_error(drv, field: str, timeout: float = 10) -> None:
    wait(drv, timeout).until(
        lambda d: not d.find_elements(
            By.CSS_SELECTOR, f'[data-testid="field-error"][data-field="{field}"]'
        )
    )


def test_login_register_wrong_check_digit_then_fix(start_app):
    drv = start_app()
    login(drv, "clerk")
    el(drv, "sync-status")
    assert "离线" in el(drv, "sync-status").text

    type_into(drv, "visitor-name", "张建国")
    type_into(drv, "visitor-id-number", wrong_check(ZHANG))
    type_into(drv, "visitor-phone", "13812345678")
    fill_appeal(drv, "某建筑公司拖欠工资三个月共 18000 元，多次讨要未果，要求督促支付。")
    click(drv, "register-submit")

    error = field_error(drv, "visitors[0].id_number")
    assert "校验位" in error.text, error.text
    # Everything typed is still there.
    assert els(drv, "visitor-name")[0].get_attribute("value") == "张建国"
    assert els(drv, "visitor-id-number")[0].get_attribute("value") == wrong_check(ZHANG)
    assert els(drv, "visitor-phone")[0].get_attribute("value") == "13812345678"
    assert "拖欠工资" in el(drv, "visit-appeal").get_attribute("value")
    assert "申诉求决类" in el(drv, "visit-kind").text
    assert "劳动和社会保障" in el(drv, "visit-category").text
    assert not els(drv, "queue-number")
    shot(drv, "registration-error")

    type_into(drv, "visitor-id-number", ZHANG)
    no_field_error(drv, "visitors[0].id_number")
    # The ID filled in sex and birth date.
    wait(drv).until(lambda d: "男" in el(d, "visitor-sex").text)
    assert el(drv, "visitor-birth-date").get_attribute("value") == "1980-01-15"
    shot(drv, "registration")
    assert own_number(submit_registration(drv), 1)
    # Not enrolled: the desk's own number, and the clerk is told why.
    assert "本机号" in text_of(drv, "queue-note")


def test_today_list_and_repeat_visit(start_app):
    drv = start_app()
    login(drv, "clerk")
    click(drv, "nav-today")
    el(drv, "today-list")
    wait(drv).until(lambda d: len(els(d, "today-row")) == 1)
    # The status tag is text once shown; wait for it rather than read it mid-render.
    wait(drv).until(lambda d: "待接待" in text_of(d, "today-status"))
    row = els(drv, "today-row")[0]
    assert "张建国" in row.text
    assert ZHANG not in row.text, "ID numbers are masked in the list"
    assert ZHANG[:4] + "*" in row.text

    click(drv, "nav-register")
    type_into(drv, "visitor-id-number", ZHANG)
    panel = el(drv, "history-panel")
    wait(drv).until(lambda d: "重复访" in el(d, "history-panel").text)
    assert "张建国" in panel.text
    wait(drv).until(lambda d: "拖欠工资" in el(d, "history-panel").get_attribute("textContent"))
    type_into(drv, "visitor-name", "张建国")
    fill_appeal(drv, "工资仍未支付，再次来访。")
    shot(drv, "history-panel")
    assert own_number(submit_registration(drv), 2)
    assert "重复访" in el(drv, "register-result").text

    click(drv, "nav-today")
    wait(drv).until(lambda d: len(els(d, "today-row")) == 2)
    assert "重复访" in els(drv, "today-row")[1].text
    shot(drv, "today")


def test_group_visit_at_most_five_representatives(start_app):
    drv = start_app()
    login(drv, "clerk")
    names = ["李明", "王芳", "刘洋", "陈静", "杨伟", "赵磊"]
    for _ in names[1:]:
        click(drv, "visitor-add")
    wait(drv).until(lambda d: len(els(d, "visitor-name")) == 6)
    for i, name in enumerate(names):
        type_into(drv, "visitor-name", name, i)
        type_into(drv, "visitor-id-number", resident_id("19750301", f"{100 + i:03d}"), i)
    type_into(drv, "visit-head-count", "30")
    for i in range(6):
        click(drv, "visitor-representative", i)
    fill_appeal(drv, "村集体土地征收补偿款未按时发放，30 名村民集体来访，推选代表反映。")
    click(drv, "register-submit")
    error = field_error(drv, "representatives")
    assert "最多 5 人" in error.text, error.text
    assert not els(drv, "queue-number")
    assert els(drv, "visitor-name")[5].get_attribute("value") == "赵磊"

    click(drv, "visitor-representative", 5)
    assert own_number(submit_registration(drv), 3)


def test_hand_off_to_lawyer_and_mediator(start_app):
    drv = start_app()
    login(drv, "clerk")
    click(drv, "nav-today")
    wait(drv).until(lambda d: len(els(d, "today-row")) == 3)
    click(drv, "handoff-lawyer", 0)
    wait(drv).until(lambda d: "律师咨询中" in els(d, "today-row")[0].text)
    logout(drv)

    login(drv, "lawyer")
    click(drv, "nav-lawyer")
    click(drv, "lawyer-take-next")
    el(drv, "lawyer-current")
    assert "张建国" in el(drv, "lawyer-current").text
    assert "拖欠工资" in el(drv, "consultation-question").get_attribute("value")
    type_into(drv, "consultation-advice", "")
    click(drv, "consultation-submit")
    field_error(drv, "advice")
    field_error(drv, "legal_route")
    type_into(
        drv,
        "consultation-advice",
        "属于劳动争议，可自争议发生之日起一年内向劳动人事争议仲裁委员会申请仲裁，并保存考勤、工资条等证据。",
    )
    choose(drv, "consultation-route", "劳动")
    type_into(drv, "consultation-laws", "《中华人民共和国劳动争议调解仲裁法》第二十七条")
    shot(drv, "lawyer-desk")
    click(drv, "consultation-submit")
    saved = el(drv, "consultation-saved")
    assert "劳动人事争议仲裁" in saved.text
    click(drv, "hand-on-mediator")
    wait(drv).until(lambda d: "已转人民调解" in el(d, "lawyer-info").text)
    logout(drv)

    login(drv, "mediator")
    click(drv, "nav-mediator")
    click(drv, "mediator-take-next")
    choose(drv, "mediation-dispute-type", "劳动")
    type_into(drv, "mediation-request", "请求孙某支付拖欠的工资 18000 元。")
    type_into(drv, "party-id-number", ZHANG, 0)
    type_into(drv, "party-name", "某建筑公司负责人孙某", 1)
    type_into(drv, "party-id-number", resident_id("19700505", "031"), 1)
    type_into(drv, "session-notes", "双方到场，核对欠薪金额 18000 元，孙某同意分两期支付。")
    choose(drv, "mediation-outcome", "达成")
    type_into(drv, "mediation-facts", "张建国在孙某承包的工地务工，被拖欠工资 18000 元。")
    type_into(drv, "mediation-points", "欠薪的支付时间。")
    type_into(drv, "mediation-agreement", "孙某于 7 月 10 日前支付 9000 元，8 月 10 日前支付余款 9000 元。")
    shot(drv, "mediator-desk")
    click(drv, "mediation-submit")
    assert "达成协议" in el(drv, "mediation-saved").text
    # In effect from today's session: 30 days to ask the court for 司法确认.
    assert "申请司法确认" in el(drv, "confirmation-due").text
    # The agreement and the record print from the record (PDF, the committee's name on both);
    # a 回访 of the agreement is logged and adds its own document.
    click(drv, "print-mediation_record")
    wait(drv).until(lambda d: "人民调解记录" in el(d, "open-printed").text)
    choose(drv, "follow-up-fulfilment", "部分")
    type_into(drv, "follow-up-notes", "电话回访，第一期 9000 元已支付。")
    click(drv, "follow-up-save")
    wait(drv).until(lambda d: "部分履行" in el(d, "follow-up").text)
    wait(drv).until(lambda d: len(els(d, "print-mediation_follow_up")) == 1)
    # A 调查 (the MoJ's 调查记录): logged with its place, person and content, then printed.
    click(drv, "investigation-open")
    type_into(drv, "investigation-place", "工地项目部")
    type_into(drv, "investigation-person", "李某（班组长）")
    type_into(drv, "investigation-content", "李某证实张建国在其班组务工，欠薪 18000 元属实。")
    click(drv, "investigation-save")
    wait(drv).until(lambda d: "李某（班组长）" in el(d, "investigation").text)
    click(drv, "print-mediation_investigation")
    wait(drv).until(lambda d: "人民调解调查记录" in el(d, "open-printed").text)
    shot(drv, "mediator-follow-up")


def test_everything_is_still_there_after_restart(start_app):
    drv = start_app()
    login(drv, "clerk")
    click(drv, "nav-today")
    wait(drv).until(lambda d: len(els(d, "today-row")) == 3)
    # The status tag, not the row: the row's 已处理 button would match any status.
    wait(drv).until(lambda d: els(d, "today-status")[0].text.strip() == "已处理")
    rows = els(drv, "today-row")
    assert "重复访" in rows[1].text
    assert "赵磊" in rows[2].text
    rows[0].find_element(By.LINK_TEXT, "张建国").click()
    detail = el(drv, "visitor-detail")
    assert "来访 2 次，法律咨询 1 次，人民调解 1 次" in detail.text
    assert "劳动人事争议仲裁" in drv.find_element(By.CSS_SELECTOR, tid("visitor-consultation")).text
    logout(drv)
