#!/usr/bin/env bash
# Sales module benchmark (issue 10, part 10): not a test. With the release binary, on SQLite
# and (when KEHU_BENCH_POSTGRES_URL is set) on PostgreSQL:
#   1. loads the demo's users and 800 customers (`kehu demo --opportunities 0`), then ROWS
#      opportunities (default 1,000,000) with `kehu demo --customers 0 --opportunities ROWS`,
#      timed (seconds, opportunities/s, peak RSS);
#   2. serves that database and drives it with wrk (CONNECTIONS=32, DURATION=10s each, after
#      2 s unreported) over bearer tokens, as the sales supervisor (every record) and as an
#      account manager (their own), printing requests/s, p50 and p99 of
#        - the control: GET /healthz (no database), in the same run,
#        - the board page /pipeline (HTML) and the pipeline API /api/v1/pipeline,
#        - the opportunity list page /opportunities (HTML),
#        - the list API: first page, 200 pages deep by cursor, status=developing, mine=true,
#          sort=-expected_amount.
# Target: p99 < 50 ms for each. Everything targets 127.0.0.1 only.
#
#   bench/sales/run.sh [ROWS]
#   KEHU_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bench/sales/run.sh
#   SKIP_SQLITE=1 KEHU_BENCH_POSTGRES_URL=… bench/sales/run.sh   (PostgreSQL only)
set -euo pipefail
ROWS=${1:-1000000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18092}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cd "$ROOT"

if ! command -v wrk >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
cargo build --release -q -p kehu --bin kehu
KEHU="$TARGET/release/kehu"
WORK=$(mktemp -d)
PIDS=()
SCHEMA="bench_sales_$$"
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "${KEHU_BENCH_POSTGRES_URL:-}" ]; then
        psql "$KEHU_BENCH_POSTGRES_URL" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$WORK/rotate.lua" <<'LUA'
-- PATHS: the paths to rotate through, separated by spaces; every request takes the next.
local paths = {}
for p in string.gmatch(os.getenv("PATHS"), "%S+") do table.insert(paths, p) end
local i = 0
function init(args)
    wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end
function request()
    i = i % #paths + 1
    return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
    io.write(string.format("RESULT %.0f %.2f %.2f %d %d\n", summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        summary.errors.status, summary.requests))
end
LUA

MISSES=0
drive() { # label, token, then the paths
    local label=$1 token=$2; shift 2
    local out
    PATHS="$*" BENCH_TOKEN=$token wrk -t2 -c"$CONNECTIONS" -d2s --timeout 10s \
        -s "$WORK/rotate.lua" "http://127.0.0.1:$PORT" >/dev/null
    out=$(PATHS="$*" BENCH_TOKEN=$token wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --timeout 10s \
        -s "$WORK/rotate.lua" "http://127.0.0.1:$PORT")
    awk -v label="$label" '$1=="RESULT" {
        miss = ($4 >= 50 || $5 > 0) ? "  <-- MISS" : ""
        printf "  %-46s %8s req/s  p50 %7s ms  p99 %7s ms  non-2xx %s of %s%s\n", label, $2, $3, $4, $5, $6, miss }' <<<"$out"
    if awk '$1=="RESULT" && ($4 >= 50 || $5 > 0) { found=1 } END { exit !found }' <<<"$out"; then
        MISSES=$((MISSES + 1))
    fi
}

# The list API's path 200 pages of 20 deep by cursor, as the holder of token $1.
deep() {
    TOKEN=$1 python3 - "http://127.0.0.1:$PORT" <<'PY'
import json, os, sys, urllib.request
base, path = sys.argv[1], "/api/v1/opportunities?per_page=20"
cursor = None
for _ in range(200):
    u = base + path + (f"&cursor={cursor}" if cursor else "")
    req = urllib.request.Request(u, headers={"Authorization": "Bearer " + os.environ["TOKEN"]})
    cursor = json.load(urllib.request.urlopen(req))["next_cursor"]
    if cursor is None:
        break
print(path + (f"&cursor={cursor}" if cursor else ""))
PY
}

bench() { # label, database URL
    local label=$1 url=$2
    export KEHU_DATABASE_URL="$url" KEHU_DATA_DIR="$WORK/data-$label" KEHU_LOG_LEVEL=warn
    export KEHU_DEMO_PASSWORD=bench-sales-2026 KEHU_LISTEN="127.0.0.1:$PORT"
    mkdir -p "$KEHU_DATA_DIR"
    echo
    echo "== $label"
    # The demo's users, and customers for the won opportunities to be linked to.
    "$KEHU" demo --customers 800 --opportunities 0 >/dev/null
    local start end secs rss summary
    start=$(date +%s.%N)
    summary=$(/usr/bin/time -v "$KEHU" demo --customers 0 --opportunities "$ROWS" \
        2>"$WORK/time.log" | grep '^demo opportunities')
    end=$(date +%s.%N)
    secs=$(echo "$end - $start" | bc -l)
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.log")
    echo "  $summary"
    printf '  load: %d opportunities in %.1f s = %.0f opportunities/s (command, with start and totals), peak RSS %d MB\n' \
        "$ROWS" "$secs" "$(echo "$ROWS / $secs" | bc -l)" "$((rss / 1024))"

    "$KEHU" serve >"$WORK/serve-$label.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 600); do
        curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null && break
        sleep 0.1
    done
    local boss mgr
    boss=$("$KEHU" token issue --user zhangwei --name "bench-$label")
    mgr=$("$KEHU" token issue --user lina --name "bench-$label")
    local list=/api/v1/opportunities
    drive "control: /healthz" "$boss" /healthz
    local who token
    for who in supervisor manager; do
        if [ "$who" = supervisor ]; then token=$boss; else token=$mgr; fi
        echo "  -- as the $who"
        drive "board page /pipeline" "$token" /pipeline
        drive "pipeline API" "$token" /api/v1/pipeline
        drive "list page /opportunities" "$token" /opportunities
        drive "list API: first page" "$token" "$list"
        drive "list API: 200 pages deep (cursor)" "$token" "$(deep "$token")"
        drive "list API: status=developing" "$token" "$list?status=developing"
        drive "list API: mine=true" "$token" "$list?mine=true"
        drive "list API: sort=-expected_amount" "$token" "$list?sort=-expected_amount"
    done
    drive "control: /healthz (again)" "$boss" /healthz
    kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
}

echo "sales benchmark: $ROWS opportunities, $CONNECTIONS connections, $DURATION a target, $(nproc) cores"
if [ -z "${SKIP_SQLITE:-}" ]; then
    bench sqlite "sqlite://$WORK/data-sqlite/kehu.db"
fi
if [ -n "${KEHU_BENCH_POSTGRES_URL:-}" ]; then
    psql "$KEHU_BENCH_POSTGRES_URL" -qc "CREATE SCHEMA $SCHEMA" >/dev/null
    bench postgres "$KEHU_BENCH_POSTGRES_URL?options[search_path]=$SCHEMA"
fi
echo
echo "targets over p99 50 ms or with errors: $MISSES"
