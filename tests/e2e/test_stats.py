"""The statistics screen end to end: a known data set seeded with the real CLI, the supervisor
opens 统计, reads the exact counts and rates, changes the range and sees them change, opens the
matters behind a rate, and writes the monthly report and an Excel export.

The data dir is this module's own (it needs a supervisor and dated records); the app is pointed at
it with `--data-dir`, which wins over the shared XINFANG_DATA_DIR.
"""

import json
import subprocess
import time
import pytest
from helpers import (SCREENSHOTS, china_today, click, el, els, fill_appeal, login, logout, own_hall,
                     resident_id, stats_query, submit_registration, text_becomes, type_into, wait, xinfang)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys


# March 2025 in 沁水县: 张三 accepted in time, concluded and evaluated 满意; 李四 left undone past
# the 15-day limit; 王五 accepted in time. April: 孙七, not disposed of by the end of April.
VISITS = [
    ("2025-03-03T09:00:00+08:00", "张三", resident_id("19800115", "013"), "claim", "城乡建设"),
    ("2025-03-05T10:00:00+08:00", "李四", resident_id("19750301", "024"), "claim", "劳动和社会保障"),
    ("2025-03-10T11:00:00+08:00", "王五", resident_id("19700505", "031"), "suggestion", "城乡建设"),
    ("2025-04-02T09:30:00+08:00", "孙七", resident_id("19900909", "055"), "claim", "城乡建设"),
]


@pytest.fixture(scope="module")
def stats_dir():
    with own_hall("xinfang-e2e-stats-", [("clerk", "王接待", "clerk"), ("boss", "李科长", "supervisor")]) as d:
        seed(d)
        yield d


def seed(d) -> None:
    matters = []
    for at, name, number, kind, category in VISITS:
        f = d.parent / f"visit-{number}.json"
        f.write_text(json.dumps({
            "visited_at": at, "visitors": [{"name": name, "id_number": number}],
            "appeal": "要求解决问题。", "appeal_kind": kind, "category": category, "agency": "县住建局",
        }, ensure_ascii=False))
        matters.append(xinfang(d, "visit", "add", "--file", str(f), user="clerk")["matter_id"])
    event = lambda m, e: xinfang(d, "matter", "event", m, "--event", json.dumps(e), user="clerk")  # noqa: E731
    event(matters[0], {"kind": "accept", "at": "2025-03-10", "notice_no": None})
    event(matters[0], {"kind": "conclude", "at": "2025-03-28", "opinion_summary": "已答复"})
    xinfang(d, "matter", "evaluate", matters[0], "--result", "满意", "--on", "2025-03-28", user="clerk")
    event(matters[2], {"kind": "accept", "at": "2025-03-12", "notice_no": None})


@pytest.fixture
def app(start_app, stats_dir):
    return start_app(stats_dir)


def test_statistics_screen(app, stats_dir):
    drv = app
    drv.set_window_size(1400, 1000)
    login(drv, "boss")
    click(drv, "nav-stats")
    el(drv, "stats-query")

    # March 2025.
    stats_query(drv, "2025-03-01", "2025-03-31")
    text_becomes(drv, "fig-visits", "3")
    text_becomes(drv, "stats-period", "统计区间 2025-03-01 至 2025-03-31（数据截至 2025-04-01）")
    assert el(drv, "fig-repeat").text.strip() == "0"
    assert el(drv, "rate-timely_acceptance-value").text.strip() == "66.67%"
    assert el(drv, "rate-timely_acceptance-frac").text.strip() == "2 / 3"
    assert el(drv, "rate-on_time_conclusion-value").text.strip() == "100.00%"
    assert el(drv, "rate-participation-frac").text.strip() == "1 / 1"
    assert el(drv, "rate-satisfaction-value").text.strip() == "100.00%"
    assert el(drv, "gap-matters").text.strip() == "1"  # 李四: no disposition recorded
    assert "城乡建设" in el(drv, "table-category").text

    # March and April: 孙七's visit joins, and his limit ran out undone before 1 May.
    stats_query(drv, "2025-03-01", "2025-04-30")
    text_becomes(drv, "fig-visits", "4")
    text_becomes(drv, "rate-timely_acceptance-value", "50.00%")
    assert el(drv, "rate-timely_acceptance-frac").text.strip() == "2 / 4"

    # A reversed range is refused at its field, in Chinese.
    stats_query(drv, "2025-03-31", "2025-03-01")
    err = wait(drv).until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-testid="field-error"][data-field="to"]'))
    assert "早于开始日期" in err.text

    # Back to March; the screenshot once every chart has rendered.
    stats_query(drv, "2025-03-01", "2025-03-31")
    text_becomes(drv, "fig-visits", "3")
    wait(drv).until(lambda d: all(
        e.get_attribute("data-rendered") == "true"
        for e in d.find_elements(By.CSS_SELECTOR, '[data-testid^="chart-"]')
    ) and len(d.find_elements(By.CSS_SELECTOR, '[data-testid^="chart-"]')) >= 3)
    wait(drv).until(lambda d: els(d, "stats-query")[0].is_enabled())
    time.sleep(0.5)
    drv.execute_script("window.scrollTo(0, 0)")
    drv.save_screenshot(str(SCREENSHOTS / "stats.png"))

    # The matters behind 及时受理率: three due, two counted; 李四's is the late one.
    click(drv, "rate-timely_acceptance")
    wait(drv).until(lambda d: len(els(d, "rate-matter-row")) == 3 and all(r.is_displayed() for r in els(d, "rate-matter-row")))
    wait(drv).until(lambda d: all(r.text.strip() for r in els(d, "rate-matter-row")))
    rows = els(drv, "rate-matter-row")
    counted = [r.get_attribute("data-counted") for r in rows]
    assert sorted(counted) == ["no", "yes", "yes"]
    late = [r for r in rows if r.get_attribute("data-counted") == "no"][0]
    assert "李四" in late.text
    assert "2025-03-05" in late.text
    time.sleep(0.3)
    drv.save_screenshot(str(SCREENSHOTS / "stats-drilldown.png"))
    drv.find_element(By.CSS_SELECTOR, ".el-dialog__headerbtn").click()
    wait(drv).until(lambda d: not any(e.is_displayed() for e in els(d, "rate-matters")))

    # The monthly report PDF and an Excel export go where the user says, never into the data
    # dir: a dialog warns, suggests a file (its name after hall and month) and takes a path.
    out = stats_dir.parent / "导出"
    type_into(drv, "report-month", "2025-03")
    click(drv, "report-pdf")
    wait(drv).until(lambda d: els(d, "export-path") and els(d, "export-path")[0].is_displayed()
                    and els(d, "export-path")[0].get_attribute("value").endswith("/月报-140521-202503.pdf"))
    assert "勿拷贝到外网或公用电脑" in el(drv, "export-warning").text
    pdf = out / "月报-140521-202503.pdf"
    type_into(drv, "export-path", str(pdf))
    click(drv, "export-confirm")
    written = el(drv, "written-file")
    wait(drv).until(lambda d: ".pdf" in els(d, "written-file")[0].text)
    assert pdf.exists(), written.text
    assert not (stats_dir / "exports").exists()
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    flat = "".join(text.split())
    for wanted in ["沁水县信访接待大厅", "2025年3月信访工作统计月报", "来访批次3批", "及时受理率66.67%2／3"]:
        assert wanted in flat, f"{wanted} not in {flat}"
    click(drv, "export-xlsx")
    wait(drv).until(lambda d: els(d, "export-path") and els(d, "export-path")[0].is_displayed()
                    and els(d, "export-path")[0].get_attribute("value").endswith(".xlsx"))
    type_into(drv, "export-path", str(out / "统计.xlsx"))
    click(drv, "export-confirm")
    wait(drv).until(lambda d: ".xlsx" in els(d, "written-file")[0].text)
    assert (out / "统计.xlsx").exists()

    # 法治宣传: record an activity; the totals come back from Rust.
    click(drv, "nav-publicity")
    type_into(drv, "pub-campaign", "2026年宪法宣传周")
    type_into(drv, "pub-place", "城关社区")
    type_into(drv, "pub-units", "县司法局、县信访局")
    leaflets = el(drv, "pub-leaflets")
    if leaflets.tag_name.lower() != "input":
        leaflets = leaflets.find_element(By.CSS_SELECTOR, "input")
    leaflets.send_keys(Keys.CONTROL, "a")
    leaflets.send_keys(Keys.BACKSPACE)
    leaflets.send_keys("500")
    leaflets.send_keys(Keys.TAB)
    click(drv, "pub-submit")
    el(drv, "pub-message")
    text_becomes(drv, "pub-total-events", "1")
    text_becomes(drv, "pub-total-units", "2")
    text_becomes(drv, "pub-total-leaflets", "500")
    # The activity counts under its campaign (the city totals campaigns across counties).
    wait(drv).until(lambda d: "2026年宪法宣传周" in el(d, "pub-by-campaign").text)
    drv.save_screenshot(str(SCREENSHOTS / "stats-publicity.png"))


def test_a_returning_visitor_joins_the_open_matter_and_counts_once(app, stats_dir):
    """王五 comes back about the matter accepted in March: the clerk attaches the visit to it. It is
    recorded as a 重复访 with the 不再受理 notice (the matter is being handled), and the
    statistics count one more visit but no new matter."""
    drv = app
    drv.set_window_size(1400, 1000)
    login(drv, "clerk")
    click(drv, "nav-register")
    type_into(drv, "visitor-id-number", VISITS[2][2])
    wait(drv).until(lambda d: len(els(d, "attach-matter")) == 1)
    assert "受理" in el(drv, "person-matters").text
    type_into(drv, "visitor-name", "王五")
    fill_appeal(drv, "上次反映的问题仍未解决，再次来访。")
    click(drv, "attach-matter")
    submit_registration(drv)
    result = el(drv, "register-result")
    wait(drv).until(lambda d: "重复访" in el(d, "register-result").text)
    assert "不再受理" in el(drv, "refusal").text, result.text
    drv.save_screenshot(str(SCREENSHOTS / "repeat-visit.png"))
    # The matter page prints the 不再受理告知书 for the visitor.
    click(drv, "open-refusal-notice")
    click(drv, "print-not_accepted_again")
    wait(drv).until(lambda d: "不再受理告知书" in el(d, "printed").text)

    # The supervisor's figures from the first March visit to today.
    logout(drv)
    login(drv, "boss")
    click(drv, "nav-stats")
    stats_query(drv, "2025-03-01", china_today().isoformat())
    text_becomes(drv, "fig-visits", "5")
    text_becomes(drv, "fig-repeat", "1")
    text_becomes(drv, "fig-matters", "4")

