#!/usr/bin/env bash
# Seeds the statistics benchmark store once with realistic matter states (`seed --lifecycle`:
# decisions, conclusions, extensions, evaluations, backlog cases), cached outside the repo.
set -euo pipefail
dir="${XINFANG_STATS_BENCH_DIR:?set XINFANG_STATS_BENCH_DIR}"
bin="${XINFANG_BIN:-${CARGO_TARGET_DIR:-target}/release/xinfang}"
visitors="${STATS_BENCH_VISITORS:-1000000}"
visits="${STATS_BENCH_VISITS:-3000000}"
if [ -f "$dir/.complete-$visitors-$visits" ]; then
  echo "statistics benchmark store ready: $dir"; exit 0
fi
rm -rf "$dir"; mkdir -p "$dir"
export XINFANG_DATA_DIR="$dir" XINFANG_PASSWORD=bench-pass-2026 XINFANG_NEW_PASSWORD=bench-pass-2026
"$bin" init --hall 140521 --admin admin
"$bin" --user admin staff add --username bench --name 基准 --role supervisor,clerk
start=$(date +%s)
"$bin" --user bench seed --visitors "$visitors" --visits "$visits" --seed 2026 --lifecycle
echo "seeded $visitors visitors / $visits visits with their lifecycle in $(( $(date +%s) - start )) s"
touch "$dir/.complete-$visitors-$visits"
