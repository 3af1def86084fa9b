"""The supervisor resolves a phone conflict in the app (issue 13).

Two desks of one hall (沁水县 140521) enrolled to the real city server. Both know the same
person; each then records a different phone offline (`xinfang visit add` between syncs), and
both sync with the CLI. Desk A keeps both phones as a conflict: the supervisor logs into the app
on desk A, opens 同步冲突, sees both phones with who and when, keeps one; the list is empty and
`xinfang conflict list --json` on desk A agrees.
"""

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from helpers import (APP, CLI, PASSWORD, click, el, els, login, new_session, resident_id, shot, tauri_driver,
                     text_becomes, xinfang)
from test_sync import CITY, City

PERSON = resident_id("19680912", "035")
FIRST, PHONE_A, PHONE_B = "13500000001", "13600000002", "13700000003"


def make_desk(data: Path, suffix: str) -> Path:
    """A desk of hall 140521 with its own accounts: usernames differ between the desks, so
    neither desk's accounts are set aside as duplicates at the other."""
    admin = f"admin{suffix}"
    xinfang(data, "init", "--hall", "140521", "--admin", admin, "--name", "系统管理员")
    for username, name, role in ((f"clerk{suffix}", f"接待员{suffix}", "clerk"),
                                 (f"supervisor{suffix}", f"科长{suffix}", "supervisor")):
        xinfang(data, "staff", "add", "--username", username, "--name", name, "--role", role,
                user=admin, new_password=PASSWORD)
    return data


def visit(data: Path, clerk: str, phone: str) -> None:
    f = data.parent / f"visit-{clerk}-{phone}.json"
    f.write_text(json.dumps({
        "visited_at": "",
        "visitors": [{"name": "钱冲突", "id_number": PERSON, "phone": phone}],
        "head_count": 1,
        "representatives": [],
        "appeal": "邻里宅基地界线争议，请求协调处理。",
        "appeal_kind": "claim",
        "category": "劳动和社会保障",
        "agency": "沁水县自然资源局",
        "place_code": "140521",
    }, ensure_ascii=False), encoding="utf-8")
    xinfang(data, "visit", "add", "--file", str(f), user=clerk)


def sync(data: Path, admin: str) -> None:
    xinfang(data, "sync", user=admin)


@pytest.fixture(scope="module")
def two_desks():
    """(root, desk A's data dir): a phone conflict waits on desk A."""
    for p in (APP, CLI, CITY):
        if not p.exists():
            pytest.fail(f"{p} is missing: run `make app cli city` first")
    root = Path(tempfile.mkdtemp(prefix="xinfang-e2e-conflicts-"))
    city = City(root)
    try:
        a = make_desk(root / "a" / "data", "")
        b = make_desk(root / "b" / "data", "_b")
        for data, admin in ((a, "admin"), (b, "admin_b")):
            code = city.admin("enrol-code", "--hall", "140521")
            xinfang(data, "enrol", "--server", city.url, "--code", code, user=admin)
        # Both desks know the person (registered at A, pulled by B).
        visit(a, "clerk", FIRST)
        sync(a, "admin")
        sync(b, "admin_b")
        # Offline, each desk records a different phone; then both sync (A twice, to pull B's).
        visit(a, "clerk", PHONE_A)
        visit(b, "clerk_b", PHONE_B)
        sync(a, "admin")
        sync(b, "admin_b")
        sync(a, "admin")
        conflicts = xinfang(a, "conflict", "list", user="supervisor")["conflicts"]
        assert [c["field"] for c in conflicts] == ["phone"], conflicts
        assert sorted(o["value"] for o in conflicts[0]["options"]) == [PHONE_A, PHONE_B], conflicts
        yield root, a
    finally:
        city.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_the_supervisor_keeps_one_phone_of_a_conflict(two_desks):
    root, a = two_desks
    # The app syncs on its own schedule; nothing here waits for it.
    env = {"XINFANG_DATA_DIR": str(a), "XINFANG_SERVER_URL": None}
    with tauri_driver(env, root / "tauri-driver.log") as url:
        drv = new_session(url)
        try:
            login(drv, "supervisor")
            click(drv, "nav-conflicts")
            el(drv, "conflict", 20)
            cards = els(drv, "conflict")
            assert len(cards) == 1
            card = cards[0]
            assert card.find_element("css selector", '[data-testid="conflict-subject"]').text == "钱冲突"
            assert card.find_element("css selector", '[data-testid="conflict-field"]').text == "联系电话"
            options = card.find_elements("css selector", '[data-testid="conflict-option"]')
            values = [o.find_element("css selector", '[data-testid="conflict-option-value"]').text for o in options]
            assert sorted(values) == [PHONE_A, PHONE_B], values
            by = {o.find_element("css selector", '[data-testid="conflict-option-value"]').text:
                  o.find_element("css selector", '[data-testid="conflict-option-by"]').text for o in options}
            assert by == {PHONE_A: "接待员", PHONE_B: "接待员_b"}, by
            # Exactly one value is the one shown now.
            shown = [o for o in options if o.find_elements("css selector", '[data-testid="conflict-option-shown"]')]
            assert len(shown) == 1
            shot(drv, "sync-conflicts")

            # Keep the value not shown now, so the resolution changes what every desk shows.
            keep = values.index(PHONE_A)
            click(drv, "conflict-keep", keep)
            text_becomes(drv, "conflicts-empty", "没有待处理的同步冲突。", 20)
            assert "钱冲突的联系电话" in el(drv, "conflicts-done").text
            assert not els(drv, "conflict")
            shot(drv, "sync-conflicts-resolved")
        finally:
            drv.quit()
    # The CLI on desk A agrees: no conflict left.
    assert xinfang(a, "conflict", "list", user="supervisor")["conflicts"] == []
