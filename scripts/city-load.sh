#!/usr/bin/env bash
# The table of docs/performance.md "Province scale", in one run: the load generator
# (crates/xinfang-city/examples/load.rs) against two xinfang-city instances on one PostgreSQL,
# one instance on PostgreSQL, one on SQLite, and the bare PostgreSQL insert of the same rows.
# PostgreSQL: a fresh local cluster with default settings (fsync and synchronous_commit on).
# Needs release builds: cargo build --release -p xinfang-city --bin xinfang-city --example load
# Usage: scripts/city-load.sh [DESKS] [BATCHES] [HALLS]   (defaults 100 3 6; a province: 1000 3 120)
set -euo pipefail
DESKS="${1:-100}"; BATCHES="${2:-3}"; HALLS="${3:-6}"
TARGET="${CARGO_TARGET_DIR:-target}/${PROFILE:-release}"
CITY="$TARGET/xinfang-city"; LOAD="$TARGET/examples/load"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
BASE=$(mktemp -d /tmp/city-load.XXXXXX); chmod 755 "$BASE"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg() { if [ "$(id -u)" = 0 ]; then chown -R postgres: "$BASE/pg" 2>/dev/null || true; runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$BASE/pg"
as_pg "$PGBIN/initdb" -D "$BASE/pg/data" -A trust -U xinfang -E UTF8 --locale=C >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$BASE/pg/data" -l "$BASE/pg/log" -w start \
  -o "-p $PORT -k $BASE/pg -c listen_addresses=127.0.0.1 -c max_connections=200" >/dev/null
# Each instance's pid is kept in its data dir: serve runs in a command substitution's subshell.
stop_all() {
  for f in "$BASE"/*/pid; do
    [ -f "$f" ] || continue
    p=$(cat "$f"); rm -f "$f"
    # CPU the instance spent (user + system), less sensitive to a busy machine than changes/s.
    [ -r "/proc/$p/stat" ] && awk -v t="$(getconf CLK_TCK)" -v d="$(basename "$(dirname "$f")")" \
      '{ printf "  instance %s: %.2f s CPU\n", d, ($14 + $15) / t }' "/proc/$p/stat"
    kill "$p" 2>/dev/null || true
    while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
  done
}
cleanup() {
  stop_all
  as_pg "$PGBIN/pg_ctl" -D "$BASE/pg/data" stop -m fast >/dev/null 2>&1 || true
  rm -rf "$BASE"
}
trap cleanup EXIT
db() { as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U xinfang "$1"; echo "postgres://xinfang@127.0.0.1:$PORT/$1"; }
# Starts an instance on database $1 with data dir $2; prints its URL.
serve() {
  mkdir -p "$2"
  # The generator enrols every desk from one address at once and has them all in flight:
  # the flood limits (api::Limits) are raised for it, nothing else.
  XINFANG_LOG=warn "$CITY" serve --listen 127.0.0.1:0 --data-dir "$2" --no-encryption \
    --max-in-flight 1024 --enrol-burst 100000 --enrol-burst-per-address 100000 \
    ${1:+--database "$1"} >"$2/out" 2>"$2/err" &
  echo $! >"$2/pid"
  until grep -q 'http://' "$2/out" 2>/dev/null; do sleep 0.1; done
  grep -o 'http://[0-9.:]*' "$2/out" | head -1
}

echo "$(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) desks $DESKS batches $BATCHES"
TWO=$(db two)
A=$(serve "$TWO" "$BASE/a"); B=$(serve "$TWO" "$BASE/b")
echo -n "two instances, one PostgreSQL: "
"$LOAD" --urls "$A,$B" --database "$TWO" --desks "$DESKS" --batches "$BATCHES" --halls "$HALLS" --bare
stop_all
ONE=$(db one)
A=$(serve "$ONE" "$BASE/c")
echo -n "one instance, PostgreSQL: "
"$LOAD" --urls "$A" --database "$ONE" --desks "$DESKS" --batches "$BATCHES" --halls "$HALLS"
stop_all
A=$(serve "" "$BASE/d")
echo -n "one instance, SQLite: "
"$LOAD" --urls "$A" --database "sqlite://$BASE/d/city.db" --desks "$DESKS" --batches "$BATCHES" --halls "$HALLS"
stop_all
echo "$(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
