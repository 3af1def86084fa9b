"""修改密码 and 忘记密码 in the app (issue 20): a clerk changes their own password from the header
(a wrong current password refused at its field), the old one no longer opens the desk, and a
clerk who forgot it sets a new one on the login screen with the store's recovery key, as
printed at first run (typed from paper: lower case, spaces). The login page shows no path.
Own data dir, opened with `--data-dir`.
"""

import shutil
import tempfile
from pathlib import Path

import pytest
from helpers import PASSWORD, body_text, click, el, field_error, require_binaries, shot, type_into, xinfang

CHANGED = "changed-pass-2026"
RECOVERED = "recovered-pass-2026"


@pytest.fixture(scope="module")
def hall():
    """(data dir, recovery key): a hall made with the CLI, which prints the key once."""
    require_binaries()
    root = Path(tempfile.mkdtemp(prefix="xinfang-e2e-accounts-"))
    data = root / "data"
    made = xinfang(data, "init", "--hall", "140521", "--admin", "admin", "--name", "系统管理员")
    xinfang(data, "staff", "add", "--username", "clerk", "--name", "王接待", "--role", "clerk",
            user="admin", new_password=PASSWORD)
    try:
        yield data, made["recovery_key"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def log_in(drv, username: str, password: str) -> None:
    el(drv, "login-username", timeout=30)
    type_into(drv, "login-username", username)
    type_into(drv, "login-password", password)
    click(drv, "login-submit")


def test_a_clerk_changes_the_password_then_recovers_it_with_the_key(start_app, hall):
    data, recovery_key = hall
    drv = start_app(data)
    el(drv, "login-username", timeout=30)
    assert str(data) not in body_text(drv), "no data dir on the login screen"

    log_in(drv, "clerk", PASSWORD)
    el(drv, "logout", timeout=30)
    click(drv, "change-password")
    type_into(drv, "pw-old", "not-my-password")
    type_into(drv, "pw-new", CHANGED)
    type_into(drv, "pw-repeat", CHANGED)
    click(drv, "pw-submit")
    assert "当前密码不正确" in field_error(drv, "old_password").text
    type_into(drv, "pw-old", PASSWORD)
    click(drv, "pw-submit")
    assert "密码已修改" in el(drv, "pw-done").text
    shot(drv, "change-password")
    drv.find_element("css selector", ".el-dialog__headerbtn").click()
    click(drv, "logout")

    # The old password no longer opens the desk; the new one does.
    log_in(drv, "clerk", PASSWORD)
    assert "用户名或密码不正确" in field_error(drv, "password").text
    log_in(drv, "clerk", CHANGED)
    el(drv, "logout", timeout=30)
    click(drv, "logout")

    # Forgotten: the recovery key from the paper sets a new one.
    el(drv, "login-username", timeout=30)
    type_into(drv, "login-username", "clerk")
    click(drv, "forgot-password")
    type_into(drv, "recover-key", "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH")
    type_into(drv, "recover-password", RECOVERED)
    type_into(drv, "recover-repeat", RECOVERED)
    click(drv, "recover-submit")
    assert "恢复密钥不正确" in field_error(drv, "recovery_key", timeout=20).text
    type_into(drv, "recover-key", recovery_key.lower().replace("-", " "))
    shot(drv, "recover-password")
    click(drv, "recover-submit")
    assert "已为 clerk 设置新密码" in el(drv, "recover-done", timeout=20).text
    log_in(drv, "clerk", RECOVERED)
    el(drv, "logout", timeout=30)

    # Both are in the desk's audit log.
    actions = [e["action"] for e in xinfang(data, "audit", user="admin")["entries"]]
    assert "password_change" in actions and "recovery_unlock" in actions, actions
