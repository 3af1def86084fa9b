"""Install test of the packages `make package` builds (docs/deploy.md "The install test").

On this machine, as root: the packages' contents are checked, then the desk and city `.deb`s are
installed with apt into a clean state; the INSTALLED `/usr/bin/xinfang-desk` is started under Xvfb
(over tauri-driver, as in tests/e2e) on an empty data dir and must show the first-run screen; the
installed unit is checked with `systemd-analyze verify` and the service started — with systemctl
where systemd runs, else its ExecStart as the unit's user with the unit's environment and
environment file, parsed from the installed unit — first as a city server, then joined as a hall
hub to a second (upstream) city server, and `/healthz` must answer; then both packages are
removed (not purged) and the city's data and key must still be there, and a reinstall must read
them. Everything installed is purged at the end and the machine's package list is what it was.

Never skipped: without root, or with a real xinfang-city installation on the machine, it fails.
"""

import grp
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
BUNDLE = Path(os.environ.get("XINFANG_PACKAGES") or TARGET / "release" / "bundle")
INSTALLED_DESK = Path("/usr/bin/xinfang-desk")
INSTALLED_CITY = Path("/usr/bin/xinfang-city")
INSTALLED_CLI = Path("/usr/bin/xinfang")
ADMIN = "/usr/sbin/xinfang-city-admin"
UNIT = Path("/usr/lib/systemd/system/xinfang-city.service")
ENV_FILE = Path("/etc/xinfang-city/xinfang-city.env")
KEY = Path("/etc/xinfang-city/city.key")
DATA = Path("/var/lib/xinfang-city")
USER = "xinfang-city"
# Left by this test while it has things installed: a run that was killed is cleaned up by the next.
MARKER = Path("/var/lib/xinfang-package-test")
PACKAGES = ("xinfang-desk", "xinfang-city")

# The e2e harness (Xvfb + tauri-driver + WebDriver), pointed at the installed binary.
os.environ["XINFANG_DESK_BIN"] = str(INSTALLED_DESK)
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from helpers import el, free_port, new_session, tauri_driver, wait_port  # noqa: E402


def sh(*cmd: str, check: bool = True, env=None) -> subprocess.CompletedProcess:
    p = subprocess.run(list(cmd), capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env)
    if check and p.returncode != 0:
        pytest.fail(f"{shlex.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def apt(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return sh("apt-get", "-y", "-q", "--no-install-recommends", *args, env=env)


def installed_packages() -> set[str]:
    out = sh("dpkg-query", "-W", "-f", "${Package}:${Architecture} ${db:Status-Abbrev}\n").stdout
    return {line.split()[0] for line in out.splitlines() if line.split()[1:2] == ["ii"]}


def status(package: str) -> str:
    """dpkg's status word: installed, config-files, not-installed."""
    p = sh("dpkg-query", "-W", "-f", "${db:Status-Status}", package, check=False)
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else "not-installed"


def one(pattern: str) -> Path:
    found = sorted(BUNDLE.glob(pattern))
    if len(found) != 1:
        pytest.fail(f"want one {BUNDLE}/{pattern}, found {[str(f) for f in found]}: run `make package`")
    return found[0]


def deb_files(deb: Path) -> dict[str, str]:
    """path -> ls-style mode/owner line of every entry of the package."""
    out = sh("dpkg-deb", "--contents", str(deb)).stdout
    files = {}
    for line in out.splitlines():
        parts = line.split(None, 5)
        name = parts[5].split(" -> ")[0].removeprefix("./")  # dpkg-deb writes ./usr, Tauri usr
        files["/" + name.lstrip("/")] = f"{parts[0]} {parts[1]}"
    return files


def purge_everything() -> None:
    """What this test (or a killed run of it) leaves: both packages, the city's data, key,
    settings and system user."""
    for pkg in PACKAGES:
        if status(pkg) != "not-installed":
            sh("dpkg", "--purge", pkg)
    shutil.rmtree(DATA, ignore_errors=True)
    shutil.rmtree("/etc/xinfang-city", ignore_errors=True)
    if sh("getent", "passwd", USER, check=False).returncode == 0:
        sh("userdel", USER)
    if sh("getent", "group", USER, check=False).returncode == 0:
        sh("groupdel", USER)


@pytest.fixture(scope="module")
def machine():
    """A clean state for the install, and the machine as it was afterwards."""
    if os.geteuid() != 0:
        pytest.fail("the install test installs packages: run it as root (CI runs `make test` as root)")
    if not MARKER.exists():
        for pkg in PACKAGES:
            if status(pkg) != "not-installed":
                pytest.fail(f"{pkg} is installed on this machine and not by this test: not touching it "
                            f"(remove it first: apt-get purge {pkg})")
        if DATA.exists() or Path("/etc/xinfang-city").exists():
            pytest.fail(f"{DATA} or /etc/xinfang-city exists: a real xinfang-city set-up, not touched")
    purge_everything()
    before = installed_packages()
    MARKER.write_text("tests/package/test_install.py\n")
    try:
        yield
    finally:
        purge_everything()
        # Dependencies apt had to bring in for the packages go too.
        extra = sorted(installed_packages() - before)
        if extra:
            apt("purge", *extra)
        MARKER.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def packages():
    return {
        "desk": one("deb/xinfang-desk_*.deb"),
        "rpm": one("rpm/xinfang-desk-*.rpm"),
        "city": one("deb/xinfang-city_*.deb"),
    }


def cargo_version() -> str:
    text = (ROOT / "Cargo.toml").read_text()
    return re.search(r'^\[workspace\.package\][^\[]*?^version = "([^"]+)"', text, re.M | re.S).group(1)


# ---- the packages as built ------------------------------------------------------------------

def test_desk_deb_contents(packages):
    deb = packages["desk"]
    fields = {f: sh("dpkg-deb", "--field", str(deb), f).stdout.strip() for f in ("Package", "Version", "Depends")}
    assert fields["Package"] == "xinfang-desk"
    assert fields["Version"] == cargo_version()
    assert "libwebkit2gtk-4.1-0" in fields["Depends"], fields
    files = deb_files(deb)
    for binary in ("/usr/bin/xinfang-desk", "/usr/bin/xinfang"):
        assert files.get(binary, "").startswith("-rwxr-xr-x"), (binary, files)
    for asset in ("templates/monthly_report.typ", "templates/queue_slip.typ", "fonts/NotoSerifCJKsc-Regular.otf"):
        assert f"/usr/share/xinfang/assets/{asset}" in files, (asset, files)
    for icon in ("32x32", "128x128"):
        assert f"/usr/share/icons/hicolor/{icon}/apps/xinfang-desk.png" in files, files
    desktop = sh("sh", "-c", f"dpkg-deb --fsys-tarfile {shlex.quote(str(deb))} | "
                 "tar -xO --wildcards '*usr/share/applications/xinfang-desk.desktop'").stdout
    assert "\nName=信访接待台\n" in desktop, desktop
    assert "\nExec=xinfang-desk\n" in desktop and "\nIcon=xinfang-desk\n" in desktop, desktop


def test_desk_rpm_contents(packages):
    rpm = str(packages["rpm"])
    if not shutil.which("rpm"):
        pytest.fail("`rpm` (Debian package rpm) is missing: run `make deps`")
    name = sh("rpm", "-qp", "--qf", "%{NAME} %{VERSION}", rpm).stdout
    assert name == f"xinfang-desk {cargo_version()}", name
    files = sh("rpm", "-qlp", rpm).stdout.split()
    for f in ("/usr/bin/xinfang-desk", "/usr/bin/xinfang", "/usr/share/applications/xinfang-desk.desktop",
              "/usr/share/icons/hicolor/128x128/apps/xinfang-desk.png",
              "/usr/share/xinfang/assets/templates/monthly_report.typ"):
        assert f in files, files
    assert "libwebkit2gtk-4.1.so.0()(64bit)" in sh("rpm", "-qp", "--requires", rpm).stdout


def test_city_deb_contents(packages):
    deb = packages["city"]
    assert sh("dpkg-deb", "--field", str(deb), "Version").stdout.strip() == cargo_version()
    files = deb_files(deb)
    for f in ("/usr/bin/xinfang-city", "/usr/sbin/xinfang-city-admin"):
        assert files.get(f, "").startswith("-rwxr-xr-x root/root"), (f, files)
    for f in (str(UNIT), str(ENV_FILE), "/usr/share/xinfang-city/assets/templates/city_report.typ",
              "/usr/share/xinfang-city/assets/fonts/NotoSerifCJKsc-Regular.otf"):
        assert f in files, (f, files)
    control = Path(tempfile.mkdtemp(prefix="xinfang-pkg-"))
    try:
        sh("dpkg-deb", "--control", str(deb), str(control))
        assert (control / "conffiles").read_text().split() == [str(ENV_FILE)]
        for script in ("postinst", "prerm", "postrm"):
            sh("sh", "-n", str(control / script))
    finally:
        shutil.rmtree(control)


# ---- installed ----------------------------------------------------------------------------------

def test_install(machine, packages):
    # apt resolves the dependencies from what is installed: offline when they are there.
    apt("install", f"{packages['desk']}", f"{packages['city']}")
    for pkg in PACKAGES:
        assert status(pkg) == "installed", pkg
    assert os.access(INSTALLED_DESK, os.X_OK) and os.access(INSTALLED_CITY, os.X_OK)
    assert Path("/usr/share/applications/xinfang-desk.desktop").exists()
    assert sh(str(INSTALLED_CITY), "--version").stdout.split() == ["xinfang-city", cargo_version()]

    user = pwd.getpwnam(USER)
    assert user.pw_uid < 1000 and user.pw_shell.endswith("nologin"), user
    st = DATA.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (user.pw_uid, 0o750), st
    st = KEY.stat()
    assert (st.st_uid, grp.getgrgid(st.st_gid).gr_name, stat.S_IMODE(st.st_mode)) == (0, USER, 0o640), st
    assert KEY.stat().st_size > 0
    # Enabled (deb-systemd-helper), so it starts at boot where systemd runs.
    assert Path("/etc/systemd/system/multi-user.target.wants/xinfang-city.service").is_symlink()


def without_source_tree(*cmd: str) -> list[str]:
    """`cmd` with this checkout's assets/ hidden (a tmpfs over it in a mount namespace of its
    own): a binary built here would otherwise find its templates and fonts in the source tree."""
    return ["unshare", "--mount", "sh", "-c", 'mount -t tmpfs none "$0" && exec "$@"',
            str(ROOT / "assets"), *cmd]


def is_pdf(path: Path) -> bool:
    return path.exists() and path.read_bytes()[:5] == b"%PDF-"


def test_desk_prints_with_installed_assets(machine, tmp_path):
    """The installed CLI on a new hall: the monthly report PDF, from /usr/share/xinfang/assets."""
    data, pdf = tmp_path / "hall", tmp_path / "report.pdf"
    env = dict(os.environ, XINFANG_DATA_DIR=str(data), XINFANG_PASSWORD="pkg-pass-2026",
               XINFANG_NEW_PASSWORD="pkg-pass-2026", XINFANG_LOG="warn")
    sh(str(INSTALLED_CLI), "init", "--hall", "140521", "--admin", "admin", env=env)
    sh(str(INSTALLED_CLI), "--user", "admin", "staff", "add", "--username", "supervisor", "--name", "李科长",
       "--role", "supervisor", env=env)
    sh(*without_source_tree(str(INSTALLED_CLI), "--user", "supervisor", "stats", "report",
                            "--month", "2026-11", "--out", str(pdf)), env=env)
    assert is_pdf(pdf)


def test_unit_verifies(machine):
    if not shutil.which("systemd-analyze"):
        pytest.fail("systemd-analyze (Debian package systemd) is missing: cannot check the unit")
    p = sh("systemd-analyze", "verify", str(UNIT), check=False)
    assert p.returncode == 0 and "xinfang-city" not in p.stderr, p.stderr


def test_desk_first_run_screen(machine, tmp_path):
    """The installed binary, an empty data dir: the first-run (setup) screen."""
    # A binary that is not the app would leave the WebDriver session waiting for its window.
    ldd = sh("ldd", str(INSTALLED_DESK)).stdout
    assert "libwebkit2gtk-4.1.so.0" in ldd and "not found" not in ldd, ldd
    data = tmp_path / "data"
    with tauri_driver({"XINFANG_DATA_DIR": str(data)}, tmp_path / "tauri-driver.log") as url:
        drv = new_session(url, ["--data-dir", str(data)])
        try:
            el(drv, "setup-hall", timeout=60)
            el(drv, "setup-username")
        finally:
            drv.quit()


# ---- the city service ---------------------------------------------------------------------------

def unit_settings() -> dict:
    """User, environment and ExecStart of the installed unit, as systemd reads them: Environment=
    lines, then EnvironmentFile= (wins), ExecStart with ${VAR} one word and $VAR split."""
    env, settings = {}, {}
    for line in UNIT.read_text().splitlines():
        if "=" not in line or line.startswith(("#", ";")):
            continue
        key, value = line.split("=", 1)
        if key == "Environment":
            for item in shlex.split(value):
                k, v = item.split("=", 1)
                env[k] = v
        elif key == "EnvironmentFile":
            path = Path(value.removeprefix("-"))
            if path.exists():
                for raw in path.read_text().splitlines():
                    raw = raw.strip()
                    if raw and not raw.startswith("#") and "=" in raw:
                        k, v = raw.split("=", 1)
                        env[k] = " ".join(shlex.split(v)) if v else ""
            elif not value.startswith("-"):
                pytest.fail(f"the unit's EnvironmentFile {path} is missing")
        else:
            settings[key] = value
    argv = []
    for word in shlex.split(settings["ExecStart"]):
        if m := re.fullmatch(r"\$\{(\w+)\}", word):
            argv.append(env.get(m.group(1), ""))
        elif m := re.fullmatch(r"\$(\w+)", word):
            argv.extend(env.get(m.group(1), "").split())
        else:
            argv.append(word)
    return {"user": settings["User"], "group": settings["Group"], "env": env, "argv": argv}


def set_env(key: str, value: str) -> None:
    text = ENV_FILE.read_text()
    text, n = re.subn(rf"^{key}=.*$", f"{key}={value}", text, flags=re.M)
    assert n == 1, f"{key} is not set in {ENV_FILE}"
    ENV_FILE.write_text(text)


class Service:
    """The installed service: systemctl where systemd is PID 1, else the unit's ExecStart as its
    user with its environment."""

    def __init__(self, log: Path):
        self.log, self.proc = log, None

    def start(self) -> int:
        s = unit_settings()
        port = int(s["env"]["XINFANG_CITY_LISTEN"].rsplit(":", 1)[1])
        if Path("/run/systemd/system").is_dir():
            sh("systemctl", "daemon-reload")
            sh("systemctl", "restart", "xinfang-city")
        else:
            assert Path(s["argv"][0]) == INSTALLED_CITY, s["argv"]
            env = dict(s["env"], PATH="/usr/sbin:/usr/bin:/sbin:/bin")
            self.out = open(self.log, "ab")
            self.proc = subprocess.Popen(
                ["setpriv", f"--reuid={s['user']}", f"--regid={s['group']}", "--init-groups",
                 "--", *s["argv"]],
                env=env, cwd="/", stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_port(port, timeout=30)
        except RuntimeError:
            pytest.fail(f"the service does not listen on {port}:\n{self.logs()}")
        return port

    def logs(self) -> str:
        if self.proc is None:
            return sh("journalctl", "-u", "xinfang-city", "-n", "50", check=False).stdout
        return self.log.read_text(errors="replace")

    def pid(self) -> int:
        if self.proc is not None:
            return self.proc.pid
        return int(sh("systemctl", "show", "-p", "MainPID", "--value", "xinfang-city").stdout)

    def stop(self) -> None:
        if self.proc is None:
            sh("systemctl", "stop", "xinfang-city", check=False)
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.out.close()
        self.proc = None


def healthz(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
        assert r.status == 200
        return json.load(r)


def admin(*args: str) -> str:
    return sh(ADMIN, *args).stdout


@pytest.fixture
def service(tmp_path):
    s = Service(tmp_path / "service.log")
    try:
        yield s
    finally:
        s.stop()


def test_city_service(machine, service):
    set_env("XINFANG_CITY_LISTEN", f"127.0.0.1:{free_port()}")  # the env file is read
    port = service.start()
    health = healthz(port)
    assert health, health
    uid = next(line.split()[1] for line in Path(f"/proc/{service.pid()}/status").read_text().splitlines()
               if line.startswith("Uid:"))
    assert int(uid) == pwd.getpwnam(USER).pw_uid
    # The administration wrapper: the service's user, data dir and key, next to the running server.
    admin("hall", "add", "--code", "140522", "--name", "阳城县")
    assert "阳城县" in admin("hall", "list")
    db = DATA / "city.db"
    assert db.exists() and db.stat().st_uid == pwd.getpwnam(USER).pw_uid
    # The city's monthly report, from /usr/share/xinfang-city/assets (XINFANG_ASSETS_DIR).
    out = Path(tempfile.mkdtemp(prefix="xinfang-pkg-"))
    try:
        os.chmod(out, 0o777)
        sh(*without_source_tree(ADMIN, "report", "--month", "2026-11", "--out", str(out / "city.pdf")))
        assert is_pdf(out / "city.pdf")
    finally:
        shutil.rmtree(out)


def test_hall_hub_mode(machine, service, tmp_path):
    """Joined to an upstream city with xinfang-city-admin, with hub flags from the env file."""
    up_dir, up_port = tmp_path / "upstream", free_port()
    up_dir.mkdir()
    base = [str(INSTALLED_CITY), "--no-encryption", "--data-dir", str(up_dir)]
    env = dict(os.environ, XINFANG_LOG="warn")
    sh(*base, "hall", "add", "--code", "140521", "--name", "沁水县", env=env)
    code = sh(*base, "enrol-code", "--hall", "140521", "--hub", env=env).stdout.split()[-1].split("：")[-1]
    log = open(tmp_path / "upstream.log", "wb")
    upstream = subprocess.Popen([*base, "serve", "--listen", f"127.0.0.1:{up_port}"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(up_port)
        admin("hub", "join", "--upstream", f"http://127.0.0.1:{up_port}", "--code", code)
        assert "140521" in admin("hub", "status")
        set_env("XINFANG_CITY_SERVE_ARGS", '"--relay-every 2s"')
        assert "大厅服务器" in sh(*base, "device", "list", env=env).stdout
        port = service.start()
        assert healthz(port)
    finally:
        upstream.terminate()
        upstream.wait(timeout=15)
        log.close()
    # The service relays as the hall's hub, every 2 s as the env file says: with the city gone,
    # its next relay fails and says so.
    deadline = time.time() + 20
    while "relay to the city failed" not in service.logs():
        if time.time() > deadline:
            pytest.fail(f"the service does not relay as a hub:\n{service.logs()}")
        time.sleep(0.5)


# ---- remove, reinstall --------------------------------------------------------------------------

def test_remove_keeps_data(machine):
    apt("remove", *PACKAGES)
    assert not INSTALLED_DESK.exists() and not INSTALLED_CITY.exists() and not UNIT.exists()
    assert status("xinfang-city") == "config-files"
    assert (DATA / "city.db").exists() and KEY.exists() and ENV_FILE.exists()


def test_reinstall_reads_kept_data(machine, packages, service):
    apt("install", f"{packages['city']}")
    # The kept key opens the kept data: the hall added and the hub's link are there.
    assert "阳城县" in admin("hall", "list")
    assert "140521" in admin("hub", "status")
    assert "--relay-every 2s" in ENV_FILE.read_text()  # the changed settings were kept
    assert healthz(service.start())
