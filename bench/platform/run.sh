#!/usr/bin/env bash
# Platform benchmark (issue 3): not a test. Builds the release binary, starts kehu on a fresh
# SQLite database, and with wrk (32 connections, 10 s each) drives
#   1. an authenticated API read (bearer token, dictionary list),
#   2. /healthz,
#   3. a bare axum "hello" control binary,
# then prints requests/s, p99 latency, the ratio to the control, idle RSS and start-to-ready
# time on an existing database. Then a write run: 32 concurrent creators of dictionary items
# (POST /api/v1/dictionary with a bearer token, each create audited in its transaction) for
# WRITE_DURATION, capped at WRITES creates, against SQLite and against PostgreSQL (a fresh
# schema in $PG_URL), printing creates/s, p50, p99 and max. Then the audit list at
# AUDIT_ROWS (1,000,000) entries, on SQLite and on PostgreSQL: the log is filled in one
# statement (crates/kehu-store/examples/fill_audit.rs), then wrk (32 connections,
# AUDIT_DURATION each) reads GET /api/v1/audit — the first page, a page at a deep cursor, a
# filter matching 10 % (its count capped at 10,000+) and a rare filter (an exact count) —
# printing requests/s, rows/s, p50 and p99 (target p99 < 50 ms). Everything targets
# 127.0.0.1 only.
#
# Usage: bench/platform/run.sh   (env: DURATION=10s CONNECTIONS=32 WRITES=100000
#        WRITE_DURATION=10s PG_URL=postgres://postgres@127.0.0.1:5432/test ONLY_WRITES=1
#        AUDIT_ROWS=1000000 AUDIT_DURATION=10s ONLY_AUDIT=1)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
KEHU_PORT=18080
CONTROL_PORT=18081

if ! command -v wrk >/dev/null; then
    echo "== installing wrk (Debian)"
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

echo "== building release binaries"
cargo build --release -q -p kehu
cargo build --release -q -p kehu-web --example hello
cargo build --release -q -p kehu-store --example fill_audit
BIN=target/release/kehu
HELLO=target/release/examples/hello
FILL=target/release/examples/fill_audit
AUDIT_ROWS=${AUDIT_ROWS:-1000000}
AUDIT_DURATION=${AUDIT_DURATION:-10s}

WORK=$(mktemp -d)
PIDS=()
WRITES=${WRITES:-100000}
WRITE_DURATION=${WRITE_DURATION:-10s}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
PG_SCHEMA="kehu_bench_$$"
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    psql -q "$PG_URL" -c "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null 2>&1 || true
    psql -q "$PG_URL" -c "DROP SCHEMA IF EXISTS ${PG_SCHEMA}_audit CASCADE" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

export KEHU_DATA_DIR="$WORK/data" KEHU_LISTEN="127.0.0.1:$KEHU_PORT" KEHU_LOG_LEVEL=warn
export KEHU_ADMIN_PASSWORD=bench-admin-pass

wait_ready() {
    for _ in $(seq 1 3000); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$KEHU_PORT/readyz" 2>/dev/null; then return 0; fi
        sleep 0.001
    done
    echo "kehu did not become ready" >&2; exit 1
}

# 32 creators of dictionary items; each thread stops after its share of WRITES (a cap: wrk
# still runs for the whole duration, so a capped run's creates/s is a lower bound). Prints one
# RESULT line: requests, non-2xx, seconds, creates/s, p50, p99, max (ms).
cat >"$WORK/create.lua" <<'LUA'
local share = math.floor(tonumber(os.getenv("WRITES")) / 2)
local sent, answered = 0, 0
local threads = {}
function setup(thread)
    table.insert(threads, thread)
    thread:set("tid", #threads)
end
function init(args)
    wrk.method = "POST"
    wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
    wrk.headers["Content-Type"] = "application/json"
end
function request()
    sent = sent + 1
    local body = string.format('{"kind":"bench","item":"t%d-%d","value":"v%d"}', tid, sent, sent)
    return wrk.format(nil, "/api/v1/dictionary", nil, body)
end
function response(status, headers, body)
    answered = answered + 1
    if answered >= share then wrk.thread:stop() end
end
function done(summary, latency, requests)
    local secs = summary.duration / 1e6
    local ok = summary.requests - summary.errors.status
    io.write(string.format("RESULT %d %d %.1f %.0f %.2f %.2f %.2f\n", summary.requests,
        summary.errors.status, secs, ok / secs, latency:percentile(50) / 1000,
        latency:percentile(99) / 1000, latency.max / 1000))
end
LUA

write_run() { # label database-url
    local pid out
    KEHU_DATABASE_URL="$2" $BIN serve >"$WORK/write-$1.log" 2>&1 & pid=$!; PIDS+=($pid)
    wait_ready
    BENCH_TOKEN=$(KEHU_DATABASE_URL="$2" $BIN token issue --user admin --name "bench-$1")
    out=$(BENCH_TOKEN=$BENCH_TOKEN WRITES=$WRITES wrk -t2 -c32 -d"$WRITE_DURATION" --timeout 10s \
        -s "$WORK/create.lua" "http://127.0.0.1:$KEHU_PORT")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    awk -v label="$1" -v cap="$WRITES" '$1=="RESULT" {
        printf "%-34s %10s %10s %10s %10s %10s %8s\n", label, $5, $6 " ms", $7 " ms", $8 " ms", $2, $3
        if ($2 >= cap) print "  (capped at " cap " creates: creates/s is a lower bound)" }' <<<"$out"
}

write_runs() {
    psql -q "$PG_URL" -c "CREATE SCHEMA $PG_SCHEMA" >/dev/null
    echo
    echo "kehu write benchmark: 32 connections creating dictionary items for $WRITE_DURATION (cap $WRITES), $(nproc) cores"
    printf '%-34s %10s %10s %10s %10s %10s %8s\n' "backend" "creates/s" "p50" "p99" "max" "answers" "non-2xx"
    write_run "SQLite (WAL, synchronous=FULL)" "sqlite://$WORK/write.db"
    # The cost of durability: the same run with the setting that may lose commits on power loss.
    KEHU_SQLITE_SYNCHRONOUS=normal write_run "SQLite (WAL, synchronous=NORMAL)" "sqlite://$WORK/write-normal.db"
    write_run "PostgreSQL (schema $PG_SCHEMA)" "$PG_URL?options[search_path]=$PG_SCHEMA"
}

# The audit list at AUDIT_ROWS entries. Each target is checked once with curl (status, rows
# on the page, the count) before wrk drives it for AUDIT_DURATION with 32 connections.
audit_target() { # label path token
    local out code rows count
    out=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $3" "http://127.0.0.1:$KEHU_PORT$2")
    code=$(tail -n1 <<<"$out")
    if [ "$code" != 200 ]; then echo "$1: HTTP $code: $(head -c 300 <<<"$out")" >&2; exit 1; fi
    read -r rows count < <(head -n -1 <<<"$out" | python3 -c \
        'import json,sys; d=json.load(sys.stdin); print(len(d["items"]), str(d["total"]) + ("" if d["total_exact"] else "+"))')
    cat >"$WORK/audit.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $3"
LUA
    out=$(wrk -t2 -c"$CONNECTIONS" -d"$AUDIT_DURATION" --latency -s "$WORK/audit.lua" "http://127.0.0.1:$KEHU_PORT$2")
    local r; r=$(rps "$out")
    printf '%-30s %10s %10s %10s %10s %6s %8s %8s\n' "$1" "$r" "$(awk -v r="$r" -v n="$rows" 'BEGIN { printf "%.0f", r * n }')" \
        "$(p50 "$out")" "$(p99 "$out")" "$rows" "$count" "$(non2xx "$out")"
}

audit_run() { # label database-url
    local pid t deep_from
    echo "== $1: filling the audit log with $AUDIT_ROWS entries"
    $FILL "$2" "$AUDIT_ROWS"
    KEHU_DATABASE_URL="$2" $BIN serve >"$WORK/audit-$1.log" 2>&1 & pid=$!; PIDS+=($pid)
    wait_ready
    t=$(KEHU_DATABASE_URL="$2" $BIN token issue --user admin --name "bench-audit")
    # A cursor names a position, whatever the filter: the first entry before a date some 100
    # days back is about 60 % deep into the log.
    deep_from=$(curl -s -H "Authorization: Bearer $t" \
        "http://127.0.0.1:$KEHU_PORT/api/v1/audit?per_page=1&to=$(date -u -d '-100 days' +%F)" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["next_cursor"])')
    echo "$1: $AUDIT_ROWS entries, $CONNECTIONS connections, $AUDIT_DURATION each, $(nproc) cores"
    printf '%-30s %10s %10s %10s %10s %6s %8s %8s\n' "audit list" "requests/s" "rows/s" "p50" "p99" "rows" "count" "non-2xx"
    audit_target "first page" "/api/v1/audit?per_page=50" "$t"
    audit_target "deep cursor (~60 %)" "/api/v1/audit?per_page=50&cursor=$deep_from" "$t"
    audit_target "filter entity=role (10 %)" "/api/v1/audit?per_page=50&entity=role" "$t"
    audit_target "filter action=denied (0.1 %)" "/api/v1/audit?per_page=50&action=denied" "$t"
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

audit_runs() {
    psql -q "$PG_URL" -c "CREATE SCHEMA ${PG_SCHEMA}_audit" >/dev/null
    echo
    echo "kehu audit list benchmark (target: p99 < 50 ms)"
    audit_run "SQLite" "sqlite://$WORK/audit.db"
    audit_run "PostgreSQL" "$PG_URL?options[search_path]=${PG_SCHEMA}_audit"
}

rps() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
p50() { awk '$1=="50%" {print $2}' <<<"$1"; }
p99() { awk '$1=="99%" {print $2}' <<<"$1"; }
non2xx() { awk '/Non-2xx/ {print $NF}' <<<"$1"; }

if [ -n "${ONLY_WRITES:-}" ]; then
    write_runs
    exit 0
fi
if [ -n "${ONLY_AUDIT:-}" ]; then
    audit_runs
    exit 0
fi

# First start creates and migrates the database; the measured start is the second one.
$BIN serve >"$WORK/first.log" 2>&1 & PIDS+=($!)
wait_ready
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true

start_ns=$(date +%s%N)
$BIN serve >"$WORK/serve.log" 2>&1 & KEHU_PID=$!; PIDS+=($KEHU_PID)
wait_ready
ready_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
sleep 1
idle_rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$KEHU_PID/status")

TOKEN=$($BIN token issue --user admin --name bench)
READ_PATH="/api/v1/dictionary?kind=region&per_page=20"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$KEHU_PORT$READ_PATH")
if [ "$code" != 200 ]; then
    READ_PATH="/api/v1/me"   # fallback while the dictionary API is absent
fi

cat >"$WORK/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA

run_wrk() { # url [script]
    local extra=()
    [ -n "${2:-}" ] && extra=(-s "$2")
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "${extra[@]}" "$1"
}
echo "== wrk: authenticated read $READ_PATH"
AUTH=$(run_wrk "http://127.0.0.1:$KEHU_PORT$READ_PATH" "$WORK/auth.lua")
echo "== wrk: /healthz"
HEALTH=$(run_wrk "http://127.0.0.1:$KEHU_PORT/healthz")
busy_rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$KEHU_PID/status")
kill "$KEHU_PID"; wait "$KEHU_PID" 2>/dev/null || true

$HELLO "127.0.0.1:$CONTROL_PORT" & PIDS+=($!)
sleep 0.5
echo "== wrk: control (bare axum hello)"
CONTROL=$(run_wrk "http://127.0.0.1:$CONTROL_PORT/")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f %%", 100 * a / b }'; }
echo
echo "kehu platform benchmark ($CONNECTIONS connections, $DURATION each, $(nproc) cores)"
printf '%-34s %12s %10s %10s\n' "target" "requests/s" "p99" "vs control"
printf '%-34s %12s %10s %10s\n' "authenticated API read" "$(rps "$AUTH")" "$(p99 "$AUTH")" "$(ratio "$(rps "$AUTH")" "$(rps "$CONTROL")")"
printf '%-34s %12s %10s %10s\n' "/healthz" "$(rps "$HEALTH")" "$(p99 "$HEALTH")" "$(ratio "$(rps "$HEALTH")" "$(rps "$CONTROL")")"
printf '%-34s %12s %10s %10s\n' "control: axum hello" "$(rps "$CONTROL")" "$(p99 "$CONTROL")" "100 %"
[ -n "$(non2xx "$AUTH")" ] && echo "WARNING: non-2xx answers on the authenticated read: $(non2xx "$AUTH")"
echo "authenticated read path: $READ_PATH"
echo "idle RSS: $((idle_rss_kb / 1024)) MB (after load: $((busy_rss_kb / 1024)) MB)"
echo "start to ready on an existing database: ${ready_ms} ms"
echo "targets: read >= 30 % of control with p99 < 10 ms; idle RSS < 40 MB; ready < 300 ms"
write_runs
audit_runs
