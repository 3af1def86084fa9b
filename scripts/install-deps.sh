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
