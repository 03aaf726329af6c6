#!/usr/bin/env bash
# Reports benchmark: the report pages at scale and the customer-value analysis against
# `kehu analyze`, not a test. With the release binary, on SQLite and (when
# KEHU_BENCH_POSTGRES_URL is set, in a fresh schema dropped afterwards) PostgreSQL:
#
#   1. loads the demo's users and catalogue, then CUSTOMERS customers (default 1,000,000) and
#      LINES order lines (default ten a customer) with kehu-loss' example loss_data (a book
#      that grew over six years, orders inserted by order date as an import of an order
#      history would: around the order store, so the running figures are rebuilt next);
#   2. `kehu jobs run report-figures`: the orders' and products' running figures rebuilt from
#      the orders — timed, peak RSS;
#   3. the customer-value analysis both ways on the same orders, one after the other:
#        - the control: the orders exported as a real export is (by order date, every order
#          that counts: customer_id,date,amount) and `kehu analyze` over that file;
#        - `kehu jobs run analytics`: reads the orders from the database, runs the same engine,
#          writes every customer's values back and the run's figures;
#      wall time and peak RSS of each, and the ratio (target: the job within 2× of analyze);
#   4. serves the database (jobs not ticking) and drives each report page and API with wrk
#      (CONNECTIONS, DURATION each, after 2 s unreported), as the sales supervisor (every
#      customer) and as an account manager (their own): p50, p99, non-2xx; target p99 < 200 ms.
#   and prints a summary. Everything targets 127.0.0.1; every wrk run is bounded (-d).
#
#   bench/reports/run.sh [CUSTOMERS] [LINES]
#   KEHU_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bench/reports/run.sh
#   SKIP_SQLITE=1 KEHU_BENCH_POSTGRES_URL=… bench/reports/run.sh   (PostgreSQL only)
set -euo pipefail
CUSTOMERS=${1:-1000000}
LINES=${2:-$((CUSTOMERS * 10))}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-4}
PORT=${PORT:-18097}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cd "$ROOT"

. "$ROOT/bench/lib/drive.sh"
cargo build --release -q -p kehu-loss --example loss_data
LOADER="$TARGET/release/examples/loss_data"
SCHEMA="bench_reports_$$"
SCHEMAS+=("$SCHEMA")
SUMMARY=()
export LIMIT_MS=${LIMIT_MS:-200}
YEAR=$(TZ=Asia/Shanghai date +%Y)

# LABEL COMMAND…: runs COMMAND timed with its peak RSS; sets SECS and RSS_MB.
timed() {
    local label=$1 start end
    shift
    start=$(date +%s.%N)
    /usr/bin/time -v "$@" >"$WORK/out-$label.log" 2>"$WORK/time-$label.log" || {
        cat "$WORK/out-$label.log" "$WORK/time-$label.log" >&2
        return 1
    }
    end=$(date +%s.%N)
    SECS=$(echo "$end - $start" | bc -l)
    RSS_MB=$(($(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time-$label.log") / 1024))
}

bench() { # label, database URL
    local label=$1 url=$2
    export KEHU_DATABASE_URL="$url" KEHU_DATA_DIR="$WORK/data-$label" KEHU_LOG_LEVEL=warn
    export KEHU_DEMO_PASSWORD=bench-reports-2026 KEHU_LISTEN="127.0.0.1:$PORT"
    mkdir -p "$KEHU_DATA_DIR"
    echo
    echo "== $label"
    "$KEHU" demo --customers 0 --opportunities 0 --services 0 >/dev/null

    # 1. The data.
    timed load "$LOADER" "$url" "$CUSTOMERS" "$LINES"
    grep -v '^expect ' "$WORK/out-load.log" | sed 's/^/  /'
    printf '  load: %.1f s, peak RSS %d MB\n' "$SECS" "$RSS_MB"
    SUMMARY+=("$(printf '%-8s %-44s %.1f s, peak RSS %d MB' "$label" "load ($CUSTOMERS customers, $LINES lines)" "$SECS" "$RSS_MB")")

    # 2. The running figures from the orders.
    timed figures "$KEHU" jobs run report-figures
    printf '  report-figures: %.1f s, peak RSS %d MB: %s\n' "$SECS" "$RSS_MB" "$(tail -1 "$WORK/out-figures.log")"
    SUMMARY+=("$(printf '%-8s %-44s %.1f s, peak RSS %d MB' "$label" "rebuild of the running figures" "$SECS" "$RSS_MB")")

    # 3. The analysis: the control (export + kehu analyze), then the job.
    local csv="$WORK/orders-$label.csv" sql="SELECT customer_id, order_date, total FROM orders WHERE status <> 'cancelled' ORDER BY order_date, id"
    local start end export_secs
    start=$(date +%s.%N)
    if [ "$label" = sqlite ]; then
        {
            echo "customer_id,date,amount"
            sqlite3 -csv "$KEHU_DATA_DIR/kehu.db" \
                "SELECT customer_id, order_date, printf('%d.%02d', total / 100, total % 100) FROM orders WHERE status <> 'cancelled' ORDER BY order_date, id"
        } >"$csv"
    else
        psql "$KEHU_BENCH_POSTGRES_URL" -X -q -c "SET search_path TO $SCHEMA" \
            -c "\\copy (SELECT customer_id, order_date, to_char(total / 100.0, 'FM999999999990.00') AS amount FROM orders WHERE status <> 'cancelled' ORDER BY order_date, id) TO '$csv' WITH (FORMAT csv, HEADER)"
        sed -i '1s/.*/customer_id,date,amount/' "$csv"
    fi
    end=$(date +%s.%N)
    export_secs=$(echo "$end - $start" | bc -l)
    local rows
    rows=$(($(wc -l <"$csv") - 1))
    printf '  export for the control: %d orders in %.1f s (%s)\n' "$rows" "$export_secs" "$sql"
    local as_of
    as_of=$(TZ=Asia/Shanghai date +%Y-%m-%d)
    timed analyze "$KEHU" analyze --transactions "$csv" --out "$WORK/analyze-$label" --as-of "$as_of"
    local a_secs=$SECS a_rss=$RSS_MB
    printf '  kehu analyze (control): %.2f s, peak RSS %d MB\n' "$a_secs" "$a_rss"
    timed analytics "$KEHU" jobs run analytics
    local j_secs=$SECS j_rss=$RSS_MB
    printf '  kehu jobs run analytics: %.2f s, peak RSS %d MB: %s\n' "$j_secs" "$j_rss" "$(tail -1 "$WORK/out-analytics.log")"
    local ratio
    ratio=$(echo "$j_secs / $a_secs" | bc -l)
    local verdict=""
    if [ "$(echo "$ratio > 2" | bc -l)" = 1 ]; then
        verdict="  <-- MISS (target 2×)"
        MISSES=$((MISSES + 1))
    fi
    printf '  the job against the control: %.2f× the wall time, %.2f× the peak RSS%s\n' \
        "$ratio" "$(echo "$j_rss / $a_rss" | bc -l)" "$verdict"
    SUMMARY+=("$(printf '%-8s %-44s %.2f s, peak RSS %d MB' "$label" "kehu analyze over the export (control)" "$a_secs" "$a_rss")")
    SUMMARY+=("$(printf '%-8s %-44s %.2f s, peak RSS %d MB, %.2f× the control%s' "$label" "analytics job (read, analyse, write back)" "$j_secs" "$j_rss" "$ratio" "$verdict")")

    # 4. The pages and the API.
    KEHU_JOB_TICK_SECS=0 serve "$label"
    local boss mgr
    boss=$("$KEHU" token issue --user zhangwei --name "bench-$label")
    mgr=$("$KEHU" token issue --user lina --name "bench-$label")
    local -a paths=(
        "/reports/contribution?period=this_year"
        "/reports/contribution?period=all"
        "/api/v1/reports/contribution?from=$YEAR-01-01&to=$YEAR-12-31"
        "/api/v1/reports/contribution?from=$YEAR-03-15&to=$YEAR-06-20"
        "/reports/composition?by=level"
        "/reports/composition?by=credit"
        "/reports/service?period=this_year&by=month"
        "/reports/loss?period=this_year"
        "/reports/value"
        "/reports/clv"
        "/reports/clv?view=at_risk"
        "/reports/retention"
        "/api/v1/reports/pareto"
        "/api/v1/reports/rfm"
        "/"
    )
    for p in "${paths[@]}"; do
        local code
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $boss" "http://127.0.0.1:$PORT$p")
        if [ "$code" != 200 ]; then
            echo "  GET $p as the supervisor answers $code, not 200  <-- MISS"
            MISSES=$((MISSES + 1))
        fi
    done
    echo "  -- as the sales supervisor (every customer), $DURATION each, $CONNECTIONS connections:"
    for p in "${paths[@]}"; do
        drive "$p" "$boss" "$p" | tee -a "$WORK/drive-$label.log"
    done
    echo "  -- as an account manager (their own customers):"
    for p in "${paths[@]}"; do
        drive "$p (manager)" "$mgr" "$p" | tee -a "$WORK/drive-$label.log"
    done
    while read -r line; do
        SUMMARY+=("$(printf '%-8s %s' "$label" "$line")")
    done <"$WORK/drive-$label.log"
    kill "${PIDS[@]}" 2>/dev/null || true
    PIDS=()
    sleep 1
}

echo "reports benchmark: $CUSTOMERS customers, $LINES order lines, wrk $CONNECTIONS connections, $(nproc) cores"
if [ -z "${SKIP_SQLITE:-}" ]; then
    bench sqlite "sqlite://$WORK/data-sqlite/kehu.db"
fi
if [ -n "${KEHU_BENCH_POSTGRES_URL:-}" ]; then
    psql "$KEHU_BENCH_POSTGRES_URL" -qc "CREATE SCHEMA $SCHEMA" >/dev/null
    bench postgres "$KEHU_BENCH_POSTGRES_URL?options[search_path]=$SCHEMA"
else
    echo
    echo "PostgreSQL: set KEHU_BENCH_POSTGRES_URL to run it too"
fi
echo
echo "== summary ($CUSTOMERS customers, $LINES order lines)"
printf '%s\n' "${SUMMARY[@]}"
echo
echo "misses (a page's p99 ≥ ${LIMIT_MS} ms or a non-2xx, the analytics job over 2× kehu analyze): $MISSES"
