"""The supervisor merges two records of one person in the app, and undoes it (issue 13, people).

One desk of hall 140521 made with the CLI: 张三 registered under two resident IDs with the same
birth date (a mistyped number), so the two records are likely one person. The supervisor opens
疑似重复人员, sees the pair with why, gives a reason and keeps the record with more visits; the
pair leaves the list and the merge is listed; `xinfang search` finds one person with both visits.
Then the supervisor undoes the merge and the CLI finds two people again. No server needed.
"""

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from helpers import (APP, CLI, PASSWORD, click, el, els, login, new_session, resident_id, shot, tauri_driver,
                     text_becomes, type_into, xinfang)

FIRST = resident_id("19800115", "013")
TYPO = resident_id("19800115", "021")


def visit(data: Path, number: str, n: int) -> dict:
    f = data.parent / f"visit-{number}-{n}.json"
    f.write_text(json.dumps({
        "visited_at": "",
        "visitors": [{"name": "孙合并", "id_number": number}],
        "head_count": 1,
        "representatives": [],
        "appeal": "拖欠工资三个月，请求协调支付。",
        "appeal_kind": "claim",
        "category": "劳动和社会保障",
        "agency": "沁水县人社局",
        "place_code": "140521",
    }, ensure_ascii=False), encoding="utf-8")
    return xinfang(data, "visit", "add", "--file", str(f), user="clerk")


@pytest.fixture(scope="module")
def desk():
    for p in (APP, CLI):
        if not p.exists():
            pytest.fail(f"{p} is missing: run `make app cli` first")
    root = Path(tempfile.mkdtemp(prefix="xinfang-e2e-people-"))
    try:
        data = root / "data"
        xinfang(data, "init", "--hall", "140521", "--admin", "admin", "--name", "系统管理员")
        for username, name, role in (("clerk", "接待员", "clerk"), ("supervisor", "科长", "supervisor")):
            xinfang(data, "staff", "add", "--username", username, "--name", name, "--role", role,
                    user="admin", new_password=PASSWORD)
        keep = visit(data, FIRST, 1)["visitor_ids"][0]
        visit(data, FIRST, 2)
        other = visit(data, TYPO, 3)["visitor_ids"][0]
        dups = xinfang(data, "person", "duplicates", user="supervisor")["duplicates"]
        assert len(dups) == 1, dups
        yield root, data, keep, other
    finally:
        shutil.rmtree(root, ignore_errors=True)


def people(data: Path) -> list:
    hits = xinfang(data, "search", "孙合并", user="clerk")["visitors"]
    return sorted((h["visitor_id"], h["visit_count"]) for h in hits)


def test_the_supervisor_merges_a_likely_duplicate_and_undoes_it(desk):
    root, data, keep, other = desk
    with tauri_driver({"XINFANG_DATA_DIR": str(data)}, root / "tauri-driver.log") as url:
        drv = new_session(url)
        try:
            login(drv, "supervisor")
            click(drv, "nav-people")
            el(drv, "duplicate", 20)
            assert len(els(drv, "duplicate")) == 1
            assert el(drv, "duplicate-reason").text == "姓名和出生日期相同"
            counts = [c.text for c in els(drv, "duplicate-count")]
            assert counts == ["2", "1"], counts
            shot(drv, "people-duplicates")

            type_into(drv, "merge-reason", "核对身份证原件，系同一人")
            click(drv, "merge-keep", 0)
            text_becomes(drv, "people-empty", "没有发现疑似重复的人员。", 20)
            assert "并入" in el(drv, "people-done").text
            assert len(els(drv, "merge")) == 1
            shot(drv, "people-merged")
        finally:
            drv.quit()
    assert people(data) == [(keep, 3)]

    with tauri_driver({"XINFANG_DATA_DIR": str(data)}, root / "tauri-driver-2.log") as url:
        drv = new_session(url)
        try:
            login(drv, "supervisor")
            click(drv, "nav-people")
            el(drv, "unmerge", 20)
            type_into(drv, "unmerge-reason", "核实为两人")
            click(drv, "unmerge")
            el(drv, "merge-undone", 20)
            assert "撤销合并" in el(drv, "people-done").text
        finally:
            drv.quit()
    assert people(data) == sorted([(keep, 2), (other, 1)])
