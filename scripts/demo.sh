#!/usr/bin/env bash
# The last part of `make run`: a local city server (xinfang-city on embedded SQLite, loopback
# only), the demo desk enrolled to it and synced once, then the desktop app. The server stops
# when the app exits (or on Ctrl+C).
#
# Env (the Makefile sets them): XINFANG, DESK, CITY (binaries), DEMO_DIR (the demo desk's data
# dir, already made and seeded), DEMO_PASSWORD; optional CITY_DIR (default target/demo-city),
# DEMO_CITY_PORT (default 8750).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
: "${XINFANG:?}" "${DESK:?}" "${CITY:?}" "${DEMO_DIR:?}" "${DEMO_PASSWORD:?}"
CITY_DIR="${CITY_DIR:-$ROOT/target/demo-city}"
PORT="${DEMO_CITY_PORT:-8750}"
URL="http://127.0.0.1:$PORT"

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "错误：端口 $PORT 已被占用（可能上次的演示服务器还在运行）。请先关闭占用它的程序，或用 DEMO_CITY_PORT=其他端口 make run。" >&2
  exit 1
fi

# The demo keeps the city's database in clear (a throwaway dir); production uses --key-file.
ENC=()
if "$CITY" --help 2>/dev/null | grep -q -- --no-encryption; then ENC=(--no-encryption); fi
city() { "$CITY" "${ENC[@]}" --data-dir "$CITY_DIR" "$@"; }
desk() { XINFANG_USER=admin XINFANG_PASSWORD="$DEMO_PASSWORD" "$XINFANG" --data-dir "$DEMO_DIR" "$@"; }

rm -rf "$CITY_DIR"
mkdir -p "$CITY_DIR"
# The city reviewer's key: desks seal every 检举控告 to it (docs/security.md). Production keeps
# the secret off the server; the demo keeps it beside the city's dir.
REVIEWER_KEY="$(dirname "$CITY_DIR")/demo-reviewer.key"
rm -f "$REVIEWER_KEY"
city reviewer-key init --secret-out "$REVIEWER_KEY" >/dev/null
"$CITY" "${ENC[@]}" --data-dir "$CITY_DIR" serve --listen "127.0.0.1:$PORT" >"$CITY_DIR/server.log" 2>&1 &
PID=$!
stop() {
  if kill -0 "$PID" 2>/dev/null; then
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    echo "市级演示服务器已停止。"
  fi
}
trap stop EXIT
trap 'exit 130' INT TERM

for _ in $(seq 100); do
  grep -q listening "$CITY_DIR/server.log" 2>/dev/null && break
  kill -0 "$PID" 2>/dev/null || { cat "$CITY_DIR/server.log" >&2; echo "错误：市级演示服务器没有启动（日志见上）。" >&2; exit 1; }
  sleep 0.1
done

echo; echo "== 市级演示服务器 $URL（数据目录 $CITY_DIR）=="
CODE="$(city enrol-code --hall 140521 | awk '{print $NF}' | sed 's/.*：//')"
desk enrol --server "$URL" --code "$CODE"
echo; echo "== 首次同步 =="
desk sync
echo
echo "接待台每 ${XINFANG_SYNC_SECONDS:-30} 秒（以及每次登记后）自动同步；关闭接待台窗口即停止演示服务器。"
echo "市级审阅检举控告件：$CITY --no-encryption --data-dir $CITY_DIR reviewer-key open --secret-file $REVIEWER_KEY 来访编号"
"$DESK" --data-dir "$DEMO_DIR"
