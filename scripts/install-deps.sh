#!/usr/bin/env bash
# Installs what `make test` and `make run` need and is missing. Idempotent; safe to run often.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

# Rust components and test runner.
if have rustup; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi
cargo nextest --version >/dev/null 2>&1 || cargo install cargo-nextest --locked

# C toolchain for the bundled SQLite.
if ! have cc || ! have pkg-config; then
  apt_get() { if [ "$(id -u)" = 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi; }
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq build-essential pkg-config
fi

# Desktop app (issue 4): WebKitGTK and GTK for Tauri, Xvfb + fonts + WebKitWebDriver for e2e.
DESK_PKGS=(libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev
  libsoup-3.0-dev libjavascriptcoregtk-4.1-dev build-essential pkg-config libssl-dev
  xvfb xauth fonts-noto-cjk webkit2gtk-driver)
missing=()
for p in "${DESK_PKGS[@]}"; do
  dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt_get() { if [ "$(id -u)" = 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi; }
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq --no-install-recommends "${missing[@]}"
fi
have tauri-driver || cargo install tauri-driver --locked

# The city's web console (issue 20) is driven in headless Chromium over chromedriver
# (tests/e2e/test_city_console.py).
CONSOLE_PKGS=(chromium chromium-driver)
missing=()
for p in "${CONSOLE_PKGS[@]}"; do
  dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt_get() { if [ "$(id -u)" = 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi; }
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Printed notices (issue 6): tests read the PDFs back with pdftotext and look at pages with pdftoppm.
if ! dpkg -s poppler-utils >/dev/null 2>&1; then
  apt_get() { if [ "$(id -u)" = 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi; }
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq --no-install-recommends poppler-utils
fi

# Packages (issue 20): `rpm` reads the desk's .rpm back in the install test (tests/package);
# Tauri's bundler writes .deb and .rpm itself, dpkg-deb/dpkg-shlibdeps (dpkg-dev) make the
# city's .deb, systemd-analyze checks its unit.
PKG_TOOLS=(rpm dpkg-dev systemd)
missing=()
for p in "${PKG_TOOLS[@]}"; do
  dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt_get() { if [ "$(id -u)" = 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi; }
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq --no-install-recommends "${missing[@]}"
fi

# City server on PostgreSQL (issue 18): its tests start a real cluster (initdb + pg_ctl from
# /usr/lib/postgresql/N/bin, run as the package's `postgres` user when the tests run as root).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_get() { if [ "$(id -u)" = 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi; }
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq --no-install-recommends postgresql
fi

# Two city instances behind nginx with deploy/nginx-city.conf (crates/xinfang-city/tests/nginx.rs
# runs it unprivileged on a free port; the package's own service is not used).
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  apt_get() { if [ "$(id -u)" = 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi; }
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq --no-install-recommends nginx
fi

# Front end: `npm ci` when node_modules is missing or was installed from another lock file.
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -f "$ROOT/ui/package-lock.json" ]; then
  want="$(sha256sum "$ROOT/ui/package-lock.json" | cut -d' ' -f1)"
  if [ "$(cat "$ROOT/ui/node_modules/.lock-sha256" 2>/dev/null)" != "$want" ]; then
    (cd "$ROOT/ui" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$ROOT/ui/node_modules/.lock-sha256"
  fi
fi

# End-to-end tests: Selenium + pytest.
python3 -c 'import selenium, pytest' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check -r "$ROOT/tests/e2e/requirements.txt"

# City server API tests (issue 5): schemathesis in its own venv under target/, so it never
# clashes with system packages. `make city-schemathesis` uses it.
ST_VENV="$ROOT/target/schemathesis-venv"
if ! "$ST_VENV/bin/st" --version >/dev/null 2>&1; then
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    apt_get() { if [ "$(id -u)" = 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi; }
    apt_get update -qq
    DEBIAN_FRONTEND=noninteractive apt_get install -y -qq --no-install-recommends python3-venv
  fi
  rm -rf "$ST_VENV"
  python3 -m venv "$ST_VENV"
  "$ST_VENV/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4,<5'
fi
