"""End-to-end fixtures: the real built app in WebKitGTK under Xvfb, over tauri-driver.

The data dir is prepared with the real `xinfang` CLI. Xvfb and tauri-driver are started here on a
free display and port, and killed at the end; every WebDriver session is quit in a finally.
What the tests share besides fixtures is in helpers.py.
"""

import shutil
import tempfile
from pathlib import Path

import pytest
from helpers import SCREENSHOTS, make_hall, new_session, require_binaries, tauri_driver

ACCOUNTS = [
    ("clerk", "王接待", "clerk"),
    ("lawyer", "张律师", "lawyer"),
    ("mediator", "赵调解", "mediator"),
]


@pytest.fixture(scope="session")
def data_dir():
    """The data dir the tests share (test_desk.py, test_matters.py), in file order."""
    require_binaries()
    d = Path(tempfile.mkdtemp(prefix="xinfang-e2e-")) / "data"
    make_hall(d, ACCOUNTS)
    yield d
    shutil.rmtree(d.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def driver_url(data_dir):
    # No camera here: WebKitGTK's mock capture device stands in for the desk's webcam (test_photo.py).
    env = {"XINFANG_DATA_DIR": str(data_dir), "XINFANG_MOCK_CAMERA": "1"}
    with tauri_driver(env, data_dir.parent / "tauri-driver.log") as url:
        yield url


@pytest.fixture
def start_app(driver_url):
    """Starts the app (a new process each time) and quits it at the end of the test.
    `start_app(data_dir)` opens another data dir than the shared one (`--data-dir` wins over
    XINFANG_DATA_DIR); `args` are more command-line arguments."""
    sessions = []

    def start(data_dir: Path | None = None, args=()):
        args = [*(["--data-dir", str(data_dir)] if data_dir else []), *args]
        drv = new_session(driver_url, args)
        sessions.append(drv)
        return drv

    try:
        yield start
    finally:
        for drv in sessions:
            try:
                drv.quit()
            except Exception:  # noqa: BLE001 - the session may already be gone
                pass


def pytest_configure(config):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
