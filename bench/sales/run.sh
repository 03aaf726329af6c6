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

. "$ROOT/bench/lib/drive.sh"
SCHEMA="bench_sales_$$"
SCHEMAS+=("$SCHEMA")

bench() { # label, database URL
    local label=$1 url=$2
    export KEHU_DATABASE_URL="$url" KEHU_DATA_DIR="$WORK/data-$label" KEHU_LOG_LEVEL=warn
    export KEHU_DEMO_PASSWORD=bench-sales-2026 KEHU_LISTEN="127.0.0.1:$PORT"
    mkdir -p "$KEHU_DATA_DIR"
    echo
    echo "== $label"
    # The demo's users, and customers for the won opportunities to be linked to.
    "$KEHU" demo --customers 800 --opportunities 0 --services 0 >/dev/null
    demo_load opportunities "$ROWS"

    serve "$label"
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
        drive "list API: 200 pages deep (cursor)" "$token" "$(deep "$token" "$list")"
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
