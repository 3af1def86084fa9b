#!/usr/bin/env bash
# Seeds the benchmark store once: 1,000,000 visitors / 3,000,000 visits, cached outside the repo.
set -euo pipefail
dir="${XINFANG_BENCH_DIR:?set XINFANG_BENCH_DIR}"
bin="${XINFANG_BIN:-${CARGO_TARGET_DIR:-target}/release/xinfang}"
visitors="${BENCH_VISITORS:-1000000}"
visits="${BENCH_VISITS:-3000000}"
if [ -f "$dir/.complete-$visitors-$visits" ]; then
  echo "benchmark store ready: $dir"; exit 0
fi
rm -rf "$dir"; mkdir -p "$dir"
export XINFANG_DATA_DIR="$dir" XINFANG_PASSWORD=bench-pass-2026 XINFANG_NEW_PASSWORD=bench-pass-2026
"$bin" init --hall 140521 --admin admin
"$bin" --user admin staff add --username bench --name 基准 --role supervisor,clerk
start=$(date +%s)
"$bin" --user bench seed --visitors "$visitors" --visits "$visits" --seed 2026
echo "seeded $visitors visitors / $visits visits in $(( $(date +%s) - start )) s"
touch "$dir/.complete-$visitors-$visits"
