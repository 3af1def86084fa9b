"""What the e2e tests share: where the binaries are, the `xinfang` CLI, data dirs of their own,
ID numbers, and the WebDriver steps (find by data-testid, click, type, log in, screenshot).

Fixtures live in conftest.py; this is plain functions, imported as `from helpers import ...`.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import ElementClickInterceptedException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.file_detector import UselessFileDetector
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
APP = Path(os.environ.get("XINFANG_DESK_BIN") or TARGET / "release" / "xinfang-desk")
CLI = Path(os.environ.get("XINFANG_CLI_BIN") or TARGET / "release" / "xinfang")
# Tests write screenshots under target/ so a test run leaves the work tree clean;
# `make screenshots` points this at docs/screenshots to refresh the committed pictures.
SCREENSHOTS = Path(os.environ.get("XINFANG_SCREENSHOTS") or ROOT / "target" / "screenshots")
PASSWORD = "e2e-pass-2026"

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"


def resident_id(birth: str, seq: str, region: str = "140521") -> str:
    """A valid 18-digit resident ID number: region, birth date (YYYYMMDD), sequence, check."""
    first17 = f"{region}{birth}{seq}"
    return first17 + CHECK[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


# ---- the CLI --------------------------------------------------------------------------------

def run_cli(data_dir: Path, *args: str, user: str | None = None, new_password: str | None = None,
            json_out: bool = True) -> subprocess.CompletedProcess:
    """Runs `xinfang` on `data_dir` (with `--json` unless told not to); any exit code."""
    env = dict(os.environ, XINFANG_DATA_DIR=str(data_dir), XINFANG_PASSWORD=PASSWORD)
    if user:
        env["XINFANG_USER"] = user
    if new_password:
        env["XINFANG_NEW_PASSWORD"] = new_password
    flags = ["--json"] if json_out else []
    return subprocess.run([str(CLI), *flags, *args], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True)


def xinfang(data_dir: Path, *args: str, **kw):
    """Runs the CLI with --json and returns its parsed output (fails the test on exit ≠ 0)."""
    p = run_cli(data_dir, *args, **kw)
    assert p.returncode == 0, f"xinfang {' '.join(args)}: {p.stdout}{p.stderr}"
    out = p.stdout.strip()
    return json.loads(out) if out.startswith(("{", "[")) else None


def require_binaries(*paths: Path) -> None:
    for p in paths or (APP, CLI):
        if not p.exists():
            pytest.fail(f"{p} is missing: run `make app cli city` first")


def make_hall(data_dir: Path, accounts) -> Path:
    """A new hall (沁水县 140521) in `data_dir`: the admin, then `accounts` as
    (username, name, role), all with PASSWORD."""
    xinfang(data_dir, "init", "--hall", "140521", "--admin", "admin", "--name", "系统管理员")
    for username, name, role in accounts:
        xinfang(data_dir, "staff", "add", "--username", username, "--name", name, "--role", role,
                user="admin", new_password=PASSWORD)
    return data_dir


@contextmanager
def own_hall(prefix: str, accounts):
    """A hall in a temp dir of its own (so the shared data dir of test_desk.py keeps its queue
    numbers), removed afterwards. Yields the data dir."""
    require_binaries()
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield make_hall(root / "data", accounts)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---- Xvfb and tauri-driver --------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display between :90 and :199")


def wait_port(port: int, timeout: float = 20.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


@contextmanager
def tauri_driver(env: dict, log: Path):
    """Xvfb on a free display and tauri-driver on a free port, both stopped at the end. `env`
    is added to this process's environment for the apps the driver starts (a value of None
    removes the variable). Yields the WebDriver URL."""
    display, port = free_display(), free_port()
    xvfb = subprocess.Popen(
        ["Xvfb", f":{display}", "-screen", "0", "1440x900x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    app_env = dict(os.environ, DISPLAY=f":{display}")
    app_env.pop("WAYLAND_DISPLAY", None)
    for k, v in env.items():
        if v is None:
            app_env.pop(k, None)
        else:
            app_env[k] = v
    log_file = open(log, "wb")
    native = free_port()
    driver = subprocess.Popen(
        ["tauri-driver", "--port", str(port), "--native-port", str(native)],
        env=app_env, stdout=log_file, stderr=subprocess.STDOUT,
    )
    try:
        wait_port(port)
        # tauri-driver listens before the WebKitWebDriver it starts does; a session asked for in
        # between is proxied to a closed port and the connection dropped (RemoteDisconnected).
        wait_port(native)
        yield f"http://127.0.0.1:{port}"
    finally:
        for p in (driver, xvfb):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        log_file.close()


# ---- WebDriver --------------------------------------------------------------------------------

def new_session(driver_url: str, args=()) -> webdriver.Remote:
    """Starts the app (a new process) through tauri-driver, with these command-line args."""
    opts = ArgOptions()
    opts.set_capability("browserName", "wry")
    options = {"application": str(APP)}
    if args:
        options["args"] = list(args)
    opts.set_capability("tauri:options", options)
    drv = webdriver.Remote(command_executor=driver_url, options=opts)
    # Paths typed into fields (a backup file) are text for the app, not files to upload: the
    # WebKit driver has no upload command.
    drv.file_detector = UselessFileDetector()
    return drv


def tid(name: str) -> str:
    return f'[data-testid="{name}"]'


def wait(drv, timeout: float = 15):
    return WebDriverWait(drv, timeout, poll_frequency=0.25,
                         ignored_exceptions=[StaleElementReferenceException])


def el(drv, name: str, timeout: float = 15):
    return wait(drv, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, tid(name))))


def els(drv, name: str):
    return drv.find_elements(By.CSS_SELECTOR, tid(name))


def text_of(drv, name: str) -> str:
    return el(drv, name).text.strip()


def body_text(drv) -> str:
    return drv.find_element(By.TAG_NAME, "body").text


def click(drv, name: str, index: int = 0) -> None:
    wait(drv).until(lambda d: len(els(d, name)) > index and els(d, name)[index].is_enabled())
    target = els(drv, name)[index]
    drv.execute_script("arguments[0].scrollIntoView({block: 'center'})", target)
    wait(drv).until(EC.element_to_be_clickable(target))

    # A dialog that is still closing covers the page for a moment: click again once it is gone.
    def clicked(_):
        try:
            target.click()
            return True
        except ElementClickInterceptedException:
            return False

    wait(drv).until(clicked)


def choose_option(drv, name: str, label: str) -> None:
    """An Element Plus select: open it, click the option once the list stands still.

    The list opens with a zoom transition and its popper may still move it (flip above the field,
    scroll to the chosen row) after it is visible; a click aimed at a moving option can land on its
    neighbour or beside it and close the list with nothing chosen, as a hurried click by hand
    would. So the click waits for two equal positions, is tried again while something covers the
    option, and a list that closed without the choice is opened again, as a clerk would.
    """
    option = (By.XPATH, f"//li[contains(@class, 'el-select-dropdown__item')][normalize-space(.)='{label}']")
    for _ in range(3):
        click(drv, name)
        item = wait(drv).until(EC.visibility_of_element_located(option))
        drv.execute_script("arguments[0].scrollIntoView({block: 'nearest'})", item)
        last = {}

        def clicked_when_still(d):
            rect = d.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.x, r.y, r.width, r.height]", item)
            steady = rect == last.get("rect")
            last["rect"] = rect
            if not steady:
                return False
            try:
                item.click()
                return True
            except ElementClickInterceptedException:
                last.clear()
                return False

        WebDriverWait(drv, 10, poll_frequency=0.15).until(clicked_when_still)
        try:
            WebDriverWait(drv, 5, poll_frequency=0.25).until(lambda d: label in el(d, name).text)
            return
        except TimeoutException:
            # Closed without the choice: let it finish closing before it is opened again.
            WebDriverWait(drv, 5).until(EC.invisibility_of_element_located(option))
    assert label in el(drv, name).text, f"{label} not chosen in {name}: {el(drv, name).text!r}"


def replace(element, text: str) -> None:
    """Vue-bound fields: select all, delete, type (clear() does not reach the model)."""
    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(Keys.BACKSPACE)
    if text:
        element.send_keys(text)


def type_into(drv, name: str, text: str, index: int = 0) -> None:
    wait(drv).until(lambda d: len(els(d, name)) > index and els(d, name)[index].is_displayed())
    replace(els(drv, name)[index], text)


def text_becomes(drv, name: str, want: str, timeout: float = 15) -> None:
    try:
        wait(drv, timeout).until(lambda d: els(d, name) and els(d, name)[0].text.strip() == want)
    except Exception:
        got = els(drv, name)[0].text.strip() if els(drv, name) else "(missing)"
        raise AssertionError(f"{name}: want {want!r}, got {got!r}") from None


def field_error(drv, field: str, timeout: float = 10):
    return wait(drv, timeout).until(
        EC.visibility_of_element_located(
            (By.CSS_SELECTOR, f'[data-testid="field-error"][data-field="{field}"]')
        )
    )


def stats_query(drv, start: str, end: str) -> None:
    """Asks the statistics screen for the period start..end."""
    type_into(drv, "stats-from", start)
    type_into(drv, "stats-to", end)
    click(drv, "stats-query")


def login(drv, username: str, timeout: float = 30) -> None:
    el(drv, "login-username", timeout=timeout)
    type_into(drv, "login-username", username)
    type_into(drv, "login-password", PASSWORD)
    click(drv, "login-submit")
    el(drv, "logout", timeout=timeout)


def logout(drv) -> None:
    click(drv, "logout")
    el(drv, "login-username")


def go(drv, route: str) -> None:
    """Goes to a route of the app by its address, as a curious user could (`/matter/…`)."""
    drv.execute_script("window.location.hash = arguments[0]", f"#{route}")


def shot(drv, name: str, settle: float = 0.5) -> None:
    time.sleep(settle)  # let transitions settle
    drv.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def choose(drv, name: str, query: str, index: int = 0) -> None:
    """Filterable select: type part of the label, Enter picks the first match."""
    wait(drv).until(lambda d: len(els(d, name)) > index)
    select = els(drv, name)[index]
    inner = select.find_element(By.CSS_SELECTOR, "input")
    drv.execute_script("arguments[0].scrollIntoView({block: 'center'})", inner)
    inner.click()
    listbox = inner.get_attribute("aria-controls")
    inner.send_keys(query)
    time.sleep(0.3)
    inner.send_keys(Keys.ENTER)
    if listbox:
        wait(drv).until(EC.invisibility_of_element_located((By.ID, listbox)))
    inner.send_keys(Keys.ESCAPE)


def fill_appeal(drv, appeal: str) -> None:
    choose(drv, "visit-kind", "申诉")
    choose(drv, "visit-category", "劳动")
    type_into(drv, "visit-agency", "沁水县人力资源和社会保障局")
    type_into(drv, "visit-appeal", appeal)


def submit_registration(drv) -> str:
    click(drv, "register-submit")
    return el(drv, "queue-number").text.strip()


def own_number(label: str, n: int) -> bool:
    """A queue number the desk issued itself (not enrolled, or its server out of reach): its
    letter and three digits, e.g. `B001` (issue 17)."""
    import re

    return re.fullmatch(rf"[B-Z]{n:03d}", label) is not None


def china_today():
    """Today in China (UTC+8), the day the desk dates its records by; the test machine's own
    date differs from it eight hours a day."""
    import datetime as _dt

    return _dt.datetime.now(_dt.timezone(_dt.timedelta(hours=8))).date()
