"""备份与恢复 in the app (issue 13): the supervisor backs the desk up into a folder, a visit is
registered after the backup, the supervisor restores the backup; the login page says what the
restore did, and after logging in again the desk holds what the backup held and not the later
visit (this desk never synced, so nothing comes back from the city). A wrong password is refused
at its field first, and the store stays as it was. Own data dir, opened with `--data-dir`.
"""

import json
from pathlib import Path

import pytest
from helpers import (PASSWORD, click, el, els, field_error, login, own_hall, resident_id, shot, text_becomes,
                     type_into, wait, xinfang)

BEFORE, AFTER = "吴备前", "郑备后"


@pytest.fixture(scope="module")
def hall():
    accounts = [("clerk", "王接待", "clerk"), ("supervisor", "李科长", "supervisor")]
    with own_hall("xinfang-e2e-backup-", accounts) as d:
        yield d


def visit(data: Path, name: str, birth: str) -> None:
    f = data.parent / f"visit-{name}.json"
    f.write_text(json.dumps({
        "visitors": [{"name": name, "id_number": resident_id(birth, "017")}],
        "appeal": "拖欠工资三个月，请求协调支付。",
        "appeal_kind": "claim",
        "category": "劳动和社会保障",
    }, ensure_ascii=False), encoding="utf-8")
    xinfang(data, "visit", "add", "--file", str(f), user="clerk")


def found(data: Path, name: str) -> bool:
    return bool(xinfang(data, "search", name, user="clerk")["visitors"])


def today_names(drv) -> str:
    click(drv, "nav-today")
    el(drv, "today-list")
    return el(drv, "today-list").text


def test_backup_then_restore_says_what_it_did(start_app, hall):
    data = hall
    visit(data, BEFORE, "19750304")
    folder = data.parent / "u盘"
    folder.mkdir()
    backup = folder / "接待台备份.db"

    drv = start_app(data)
    login(drv, "supervisor")
    click(drv, "nav-backup")
    type_into(drv, "backup-folder", str(folder))
    type_into(drv, "backup-name", backup.name)
    click(drv, "backup-submit")
    assert str(backup) in el(drv, "backup-done", 20).text
    assert backup.is_file()
    shot(drv, "backup")

    # A visit after the backup: the restore will not have it.
    visit(data, AFTER, "19820611")
    assert found(data, AFTER)

    # A wrong password: refused at its field, nothing replaced, still logged in.
    type_into(drv, "restore-file", str(backup))
    type_into(drv, "restore-password", "not-the-password")
    assert not els(drv, "restore-submit")[0].is_enabled()
    click(drv, "restore-confirm")
    click(drv, "restore-submit")
    assert field_error(drv, "password", 20).text
    assert found(data, AFTER)

    type_into(drv, "restore-password", PASSWORD)
    click(drv, "restore-submit")
    said = el(drv, "login-ended", 30).text
    assert "已从备份恢复" in said and "请重新登录" in said, said
    shot(drv, "restore-done")

    login(drv, "supervisor")
    wait(drv, 20).until(lambda d: BEFORE in today_names(d))
    assert AFTER not in today_names(drv)
    assert found(data, BEFORE) and not found(data, AFTER)


def test_a_clerk_has_no_backup_screen(start_app, hall):
    drv = start_app(hall)
    login(drv, "clerk")
    el(drv, "nav-today")
    assert els(drv, "nav-backup") == []
    text_becomes(drv, "nav-today", "今日来访")
