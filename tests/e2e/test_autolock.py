"""Auto-lock end to end: the app started with `--idle-minutes 1` on a data dir of its own ends
the clerk's session after a minute without keyboard or mouse. The login screen says why, in
Chinese; Rust refuses commands until someone logs in again; and after logging in again, what the
clerk had typed but not submitted is back in the register form, restored from the draft kept in
the encrypted store (the standard: nothing a clerk typed is lost).
"""

import time

import pytest
from helpers import body_text, click, el, els, go, login, logout, own_hall, shot, type_into, wait

IDLE_MINUTES = 1
NOTICE = f"已超过 {IDLE_MINUTES} 分钟未操作，为保护来访人信息已自动退出，请重新登录。"
NAME = "林默然"


@pytest.fixture(scope="module")
def lock_dir():
    with own_hall("xinfang-e2e-autolock-", [("clerk", "王接待", "clerk")]) as d:
        yield d


def invoke(drv, command: str) -> dict:
    """Calls a Tauri command from the webview as the UI does; returns {ok} or {error}."""
    return drv.execute_async_script(
        """
        const [command, done] = arguments;
        window.__TAURI_INTERNALS__.invoke(command)
          .then((ok) => done({ ok }), (error) => done({ error }));
        """,
        command,
    )


def test_idle_session_ends_with_a_notice_and_rust_refuses_until_login(start_app, lock_dir):
    drv = start_app(lock_dir, ["--idle-minutes", str(IDLE_MINUTES)])
    drv.set_script_timeout(10)
    login(drv, "clerk")
    assert "ok" in invoke(drv, "today"), "the logged-in clerk may list today's visits"

    # Typed, not saved; then hands off the keyboard and mouse for longer than the idle time.
    type_into(drv, "visitor-name", NAME)
    assert els(drv, "visitor-name")[0].get_attribute("value") == NAME
    time.sleep(IDLE_MINUTES * 60 + 5)

    # The login screen, with the reason in Chinese.
    el(drv, "login-username", timeout=15)
    wait(drv).until(lambda d: NOTICE in body_text(d))
    assert not els(drv, "logout"), "the app shell is gone"
    assert NAME not in body_text(drv), "nothing of the visitor is left on screen"
    shot(drv, "autolock")

    # Rust holds no session: commands are refused, and routes that need one lead to login.
    refused = invoke(drv, "today")
    assert "error" in refused, refused
    assert refused["error"]["kind"] == "unauthenticated", refused
    assert "登录" in refused["error"]["message"], refused
    go(drv, "/today")
    time.sleep(0.5)
    el(drv, "login-username")
    assert not els(drv, "today-list")

    # Logging in again opens the register form and clears the notice.
    login(drv, "clerk")
    assert NOTICE not in body_text(drv)
    assert "ok" in invoke(drv, "today")
    # What was typed before the lock is back, from the clerk's draft, with a notice.
    wait(drv).until(lambda d: el(d, "visitor-name").get_attribute("value") == NAME)
    notice = el(drv, "draft-restored")
    assert "已恢复上次未提交的登记内容" in notice.text, notice.text
    shot(drv, "draft-restored")

    # 清空 discards it: the form is blank, and it stays blank after logging in again.
    click(drv, "draft-clear")
    wait(drv).until(lambda d: el(d, "visitor-name").get_attribute("value") == "")
    assert not els(drv, "draft-restored")
    logout(drv)
    login(drv, "clerk")
    time.sleep(1.5)
    assert el(drv, "visitor-name").get_attribute("value") == ""
    assert not els(drv, "draft-restored")
