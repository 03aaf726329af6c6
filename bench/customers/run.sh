#!/usr/bin/env bash
# Customer module benchmark (issue 9, part 18): not a test. With the release binary, on SQLite
# and (when KEHU_BENCH_POSTGRES_URL is set) on PostgreSQL:
#   1. imports ROWS customers (default 1,000,000) from a CSV written as Chinese Excel exports
#      one (GBK, zh-CN titles, rows in no order of ours, ~6 % bad rows; see import.sh for the
#      import's own figures and its sqlite3 control), timed, with peak RSS;
#   2. serves that database and drives it with wrk (CONNECTIONS=32, DURATION=10s each) over a
#      bearer token, printing requests/s, p50 and p99 of
#        - the control: GET /healthz (no database),
#        - the customer list with one filter and a sort (level, by code),
#        - the same list 200 pages deep by cursor,
#        - the header search API over a rotation of queries (pinyin, initials, Chinese, digits),
#        - the customer page (360°) of random customers.
# Targets: import >= 50,000 rows/s on SQLite with peak RSS < 300 MB; list, deep list and search
# p99 < 50 ms; customer page p99 < 30 ms. Everything targets 127.0.0.1 only.
#
#   bench/customers/run.sh [ROWS]
#   KEHU_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bench/customers/run.sh
#   SKIP_SQLITE=1 KEHU_BENCH_POSTGRES_URL=… bench/customers/run.sh   (PostgreSQL only)
set -euo pipefail
ROWS=${1:-1000000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
PORT=18090
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cd "$ROOT"

. "$ROOT/bench/lib/drive.sh"
cargo build --release -q -p kehu-customers --example import_file
SCHEMA="bench_customers_$$"
SCHEMAS+=("$SCHEMA")

FILE="$WORK/客户.csv"
"$TARGET/release/examples/import_file" "$FILE" "$ROWS" 10
echo "file: $(du -h "$FILE" | cut -f1), $ROWS rows, $(nproc) cores"

bench() { # label, database URL
    local label=$1 url=$2
    export KEHU_DATABASE_URL="$url" KEHU_DATA_DIR="$WORK/data-$label" KEHU_LOG_LEVEL=warn
    export KEHU_USER_PASSWORD=bench-customers-2026 KEHU_LISTEN="127.0.0.1:$PORT"
    mkdir -p "$KEHU_DATA_DIR"
    "$KEHU" user add admin --role admin >/dev/null
    for m in $(seq 1 10); do "$KEHU" user add "mgr$m" --name "经理$m" >/dev/null; done
    echo
    echo "== $label"
    local start end secs rss
    start=$(date +%s.%N)
    /usr/bin/time -v "$KEHU" import customers "$FILE" --rejects "$WORK/rejects.csv" \
        2>"$WORK/time.log" | tail -1
    end=$(date +%s.%N)
    secs=$(echo "$end - $start" | bc -l)
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.log")
    printf '  import: %d rows in %.1f s = %.0f rows/s, peak RSS %d MB\n' \
        "$ROWS" "$secs" "$(echo "$ROWS / $secs" | bc -l)" "$((rss / 1024))"

    "$KEHU" serve >"$WORK/serve-$label.log" 2>&1 &
    PIDS+=($!)
    ready "$PORT"
    TOKEN=$("$KEHU" token issue --user admin --name "bench-$label")
    local api="http://127.0.0.1:$PORT/api/v1/customers?level=key_account&sort=code&per_page=50"
    # 200 pages deep by cursor.
    local deep
    deep=$(TOKEN=$TOKEN python3 - "$api" <<'PY'
import json, os, sys, urllib.request
url = sys.argv[1]
cursor = None
for _ in range(200):
    u = url + (f"&cursor={cursor}" if cursor else "")
    req = urllib.request.Request(u, headers={"Authorization": "Bearer " + os.environ["TOKEN"]})
    cursor = json.load(urllib.request.urlopen(req))["next_cursor"]
print(f"/api/v1/customers?level=key_account&sort=code&per_page=50&cursor={cursor}")
PY
)
    local ids="" q
    for _ in $(seq 1 200); do ids="$ids /customers/$((RANDOM * 32768 % (ROWS * 9 / 10) + 1))"; done
    local searches=""
    for q in zs zhang 张 138 gz guangzhou 华强 0755 hq 公司 li wang; do
        searches="$searches /api/v1/search?q=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1]))' "$q")"
    done
    drive "control: /healthz" "$TOKEN" /healthz
    drive "list: level, by code, first page" "$TOKEN" "${api#http://127.0.0.1:$PORT}"
    drive "list: level, by code, 200 pages deep" "$TOKEN" "$deep"
    drive "header search (12 queries)" "$TOKEN" $searches
    LIMIT_MS=30 drive "customer page (360°), random customers" "$TOKEN" $ids
    kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
}

if [ -z "${SKIP_SQLITE:-}" ]; then
    bench sqlite "sqlite://$WORK/data-sqlite/kehu.db"
fi
if [ -n "${KEHU_BENCH_POSTGRES_URL:-}" ]; then
    psql "$KEHU_BENCH_POSTGRES_URL" -qc "CREATE SCHEMA $SCHEMA" >/dev/null
    bench postgres "$KEHU_BENCH_POSTGRES_URL?options[search_path]=$SCHEMA"
fi
