# The two commands of the README: `make run` and `make test`. Everything else is their parts.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
XINFANG := $(TARGET_DIR)/release/xinfang
DESK := $(TARGET_DIR)/release/xinfang-desk
DEMO_DIR ?= $(CURDIR)/target/demo
DEMO_PASSWORD ?= demo-pass-2026
export XINFANG_LOG ?= warn

.PHONY: help run test deps lint rust-test release cli bench bench-data bench-stats-data fmt app ui-build ui-test e2e screenshots desk-perf \
	city openapi city-schemathesis city-bench package package-test

help:
	@echo "make run    构建并打开演示（建立演示数据目录并生成演示数据）"
	@echo "make test   安装缺少的依赖，构建并运行全部测试"
	@echo "make bench  基准测试（需要先生成 1,000,000 来访人的数据，见 docs/performance.md）"

deps:
	@bash scripts/install-deps.sh

# The three release binaries in one cargo call: features are unified once, so the crates they
# share are compiled once (three calls compiled them up to three times on a cold machine).
release: ui-build
	$(CARGO) build --release -p xinfang-desk -p xinfang-cli -p xinfang-city --features xinfang-desk/custom-protocol

cli app city: release

# A demo data dir with seeded data and demo accounts; a local city server (target/demo-city,
# 127.0.0.1:8750) with the demo desk enrolled to it; then the desktop app opened on the data dir
# (scripts/demo.sh: the server stops when the app exits).
run: deps release
	@rm -rf "$(DEMO_DIR)"
	@export XINFANG_DATA_DIR="$(DEMO_DIR)" XINFANG_PASSWORD="$(DEMO_PASSWORD)" XINFANG_USER=admin; \
	set -e; x="$(XINFANG)"; \
	$$x init --hall 140521 --admin admin --name 系统管理员; \
	XINFANG_NEW_PASSWORD="$(DEMO_PASSWORD)" $$x staff add --username clerk --name 王接待 --role clerk; \
	XINFANG_NEW_PASSWORD="$(DEMO_PASSWORD)" $$x staff add --username supervisor --name 李科长 --role supervisor; \
	XINFANG_NEW_PASSWORD="$(DEMO_PASSWORD)" $$x staff add --username lawyer --name 张律师 --role lawyer; \
	XINFANG_NEW_PASSWORD="$(DEMO_PASSWORD)" $$x staff add --username mediator --name 赵调解 --role mediator; \
	XINFANG_USER=supervisor $$x seed --visitors 2000 --visits 6000 --seed 7 --lifecycle; \
	echo; echo "== 按拼音首字母 zsf 查询 =="; XINFANG_USER=clerk $$x search zsf --limit 5; \
	echo; echo "== 按姓名“王”查询 =="; XINFANG_USER=clerk $$x search 王 --limit 5; \
	echo; echo "== 校验 =="; $$x verify; \
	echo; echo "演示数据目录：$(DEMO_DIR)（账号 admin / clerk / supervisor / lawyer / mediator，密码 $(DEMO_PASSWORD)）"
	XINFANG="$(XINFANG)" DESK="$(DESK)" CITY="$(TARGET_DIR)/release/xinfang-city" DEMO_DIR="$(DEMO_DIR)" \
	DEMO_PASSWORD="$(DEMO_PASSWORD)" CITY_DIR="$(CURDIR)/target/demo-city" bash scripts/demo.sh

fmt:
	$(CARGO) fmt --all

lint: ui-build
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-test: ui-build
	$(CARGO) nextest run --workspace --no-fail-fast

test: deps lint rust-test ui-test city-schemathesis e2e package-test

# The desktop app's front end (ui/dist, embedded in its release binary) and the city's web
# console (ui/admin → ui/dist-admin, embedded in xinfang-city's): `npm run build` builds both.
ui-build:
	cd ui && npm run build

ui-test:
	cd ui && npx vitest run && npx vue-tsc --noEmit && npm run lint

# The real app in WebKitGTK under Xvfb over tauri-driver (tests/e2e/conftest.py starts both).
e2e: release
	XINFANG_SCREENSHOTS="$(XINFANG_SCREENSHOTS)" XINFANG_DESK_BIN="$(DESK)" XINFANG_CLI_BIN="$(XINFANG)" XINFANG_CITY_BIN="$(TARGET_DIR)/release/xinfang-city" \
		python3 -m pytest tests/e2e -v -p no:cacheprovider

# Packages (docs/deploy.md): the desk as .deb and .rpm by Tauri's bundler (`tauri bundle` packages
# the release binary built above, it does not build it again; the `xinfang` CLI and the print
# assets go in too), the city server as a .deb with its systemd unit by Debian's dpkg-deb
# (scripts/package-city.sh). All in $(PACKAGES) (target/package/release/bundle).
PKG_STAGE := $(TARGET_DIR)/package
PACKAGES := $(PKG_STAGE)/release/bundle
package: release
	@rm -rf "$(PKG_STAGE)" && mkdir -p "$(PKG_STAGE)/release"
	@# Stripped copies: the release profile keeps line tables (400 MB binaries); the bundler reads
	@# the app from a target dir, so it is pointed at the copies' (and patches those, not the build).
	strip --strip-unneeded -o "$(PKG_STAGE)/release/xinfang-desk" "$(DESK)"
	strip --strip-unneeded -o "$(PKG_STAGE)/release/xinfang" "$(XINFANG)"
	cd src-tauri && CARGO_TARGET_DIR="$(PKG_STAGE)" ../ui/node_modules/.bin/tauri bundle --ci --bundles deb,rpm \
		--config '{"bundle":{"linux":{"deb":{"files":{"/usr/bin/xinfang":"$(PKG_STAGE)/release/xinfang"}},"rpm":{"files":{"/usr/bin/xinfang":"$(PKG_STAGE)/release/xinfang"}}}}}'
	bash scripts/package-city.sh "$(TARGET_DIR)/release/xinfang-city" "$(PACKAGES)/deb"
	@ls -l "$(PACKAGES)"/deb/*.deb "$(PACKAGES)"/rpm/*.rpm

# Installs the packages on this machine (root), starts the installed desk and city service,
# removes them and checks the data kept; leaves the machine as it was (tests/package).
package-test: package
	XINFANG_PACKAGES="$(PACKAGES)" python3 -m pytest tests/package -v -p no:cacheprovider

# The committed pictures in docs/screenshots are refreshed only on purpose: the e2e suite with
# its screenshots pointed there (a plain test run writes them under target/screenshots).
screenshots:
	$(MAKE) e2e XINFANG_SCREENSHOTS="$(CURDIR)/docs/screenshots"

# Start-to-interactive time and memory of the desktop app (docs/performance.md).
desk-perf: app
	XINFANG_DESK_BIN="$(DESK)" XINFANG_CLI_BIN="$(XINFANG)" python3 scripts/desk-perf.py

# Benchmarks read a store seeded once with 1,000,000 visitors / 3,000,000 visits, cached
# outside the repo (XINFANG_BENCH_DIR).
XINFANG_BENCH_DIR ?= $(HOME)/.cache/xinfang-bench/1m
export XINFANG_BENCH_DIR
bench-data: cli
	@bash scripts/bench-data.sh

# The statistics, due-list, backlog and today screens (issue 21) need realistic matter states:
# a second store seeded with `seed --lifecycle` (XINFANG_STATS_BENCH_DIR; size by
# STATS_BENCH_VISITORS / STATS_BENCH_VISITS, default 1,000,000 / 3,000,000).
XINFANG_STATS_BENCH_DIR ?= $(HOME)/.cache/xinfang-bench/lifecycle
export XINFANG_STATS_BENCH_DIR
bench-stats-data: cli
	@bash scripts/bench-stats-data.sh

bench: bench-data bench-stats-data
	$(CARGO) bench -p xinfang-store --bench search
	XINFANG_BENCH_DIR="$(XINFANG_STATS_BENCH_DIR)" $(CARGO) bench -p xinfang-store --bench stats
	$(CARGO) bench -p xinfang-city --bench sync

# City server (issue 5): its OpenAPI document, API fuzzing, sync benchmarks.
openapi:
	$(CARGO) run -q -p xinfang-city -- openapi > docs/openapi.yaml

# schemathesis (installed by `make deps` into target/schemathesis-venv) against docs/openapi.yaml
# and the real server on a loopback port.
# The release server, built once for e2e as well (a debug build here compiled the shared crates
# again with other features).
city-schemathesis: release
	XINFANG_CITY_BIN="$(TARGET_DIR)/release/xinfang-city" bash scripts/city-schemathesis.sh

city-bench:
	$(CARGO) bench -p xinfang-city --bench sync
