# The two commands of the README: `make run` and `make test`. Everything else is their parts.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
XINFANG := $(TARGET_DIR)/release/xinfang
DEMO_DIR ?= $(CURDIR)/target/demo
DEMO_PASSWORD ?= demo-pass-2026
export XINFANG_LOG ?= warn

.PHONY: help run test deps lint rust-test cli bench bench-data fmt

help:
	@echo "make run    构建并打开演示（建立演示数据目录并生成演示数据）"
	@echo "make test   安装缺少的依赖，构建并运行全部测试"
	@echo "make bench  基准测试（需要先生成 1,000,000 来访人的数据，见 docs/performance.md）"

deps:
	@bash scripts/install-deps.sh

cli:
	$(CARGO) build --release -p xinfang-cli

# Until the desktop app lands: a demo data dir with seeded data, and a search over it.
run: deps cli
	@rm -rf "$(DEMO_DIR)"
	@export XINFANG_DATA_DIR="$(DEMO_DIR)" XINFANG_PASSWORD="$(DEMO_PASSWORD)" XINFANG_USER=admin; \
	set -e; x="$(XINFANG)"; \
	$$x init --hall 140521 --admin admin --name 系统管理员; \
	XINFANG_NEW_PASSWORD="$(DEMO_PASSWORD)" $$x staff add --username clerk --name 王接待 --role clerk; \
	XINFANG_NEW_PASSWORD="$(DEMO_PASSWORD)" $$x staff add --username supervisor --name 李科长 --role supervisor; \
	XINFANG_USER=supervisor $$x seed --visitors 2000 --visits 6000 --seed 7; \
	echo; echo "== 按拼音首字母 zsf 查询 =="; XINFANG_USER=clerk $$x search zsf --limit 5; \
	echo; echo "== 按姓名“王”查询 =="; XINFANG_USER=clerk $$x search 王 --limit 5; \
	echo; echo "== 校验 =="; $$x verify; \
	echo; echo "演示数据目录：$(DEMO_DIR)（账号 admin / clerk / supervisor，密码 $(DEMO_PASSWORD)）"

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-test:
	$(CARGO) nextest run --workspace --no-fail-fast

test: deps lint rust-test

# Benchmarks read a store seeded once with 1,000,000 visitors / 3,000,000 visits, cached
# outside the repo (XINFANG_BENCH_DIR).
XINFANG_BENCH_DIR ?= $(HOME)/.cache/xinfang-bench/1m
export XINFANG_BENCH_DIR
bench-data: cli
	@bash scripts/bench-data.sh

bench: bench-data
	$(CARGO) bench -p xinfang-store --bench search
