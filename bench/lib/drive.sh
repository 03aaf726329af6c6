# The kit of the module benchmarks (sourced, not run): the release binary, a scratch
# directory and the servers and PostgreSQL schemas cleaned up on exit, and wrk over bearer
# tokens against one `kehu serve` on 127.0.0.1:$PORT, with p99 < 50 ms as the target.
#
# Needs before sourcing: ROOT, TARGET, PORT, CONNECTIONS, DURATION.
# Gives: KEHU (the binary), WORK (scratch), PIDS (servers to stop: add yours), SCHEMAS
# (schemas to drop: add yours), drive LABEL TOKEN PATH… (prints a line, counts a miss in
# MISSES; LIMIT_MS=30 drive … for a tighter target), deep TOKEN PATH (PATH 200 pages of 20
# deep by cursor), ready PORT (waits for /readyz), demo_load WHAT ROWS (times
# `kehu demo` loading ROWS of WHAT — opportunities, services — alone, and prints its summary,
# rate and peak RSS), serve LABEL (starts `kehu serve` and waits for it).

if ! command -v wrk >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
cargo build --release -q -p kehu --bin kehu
KEHU="$TARGET/release/kehu"
WORK=$(mktemp -d)
PIDS=()
SCHEMAS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "${KEHU_BENCH_POSTGRES_URL:-}" ]; then
        for s in "${SCHEMAS[@]}"; do
            psql "$KEHU_BENCH_POSTGRES_URL" -qc "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true
        done
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

# LABEL TOKEN PATH…: 2 s unreported (the database's pages into memory and the list's count
# known, as on a server that has been up for a while), then DURATION measured, rotating
# through the paths.
drive() {
    local label=$1 token=$2; shift 2
    local out limit=${LIMIT_MS:-50}
    PATHS="$*" BENCH_TOKEN=$token wrk -t2 -c"$CONNECTIONS" -d2s --timeout 10s \
        -s "$WORK/rotate.lua" "http://127.0.0.1:$PORT" >/dev/null
    out=$(PATHS="$*" BENCH_TOKEN=$token wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --timeout 10s \
        -s "$WORK/rotate.lua" "http://127.0.0.1:$PORT")
    awk -v label="$label" -v limit="$limit" '$1=="RESULT" {
        miss = ($4 >= limit || $5 > 0) ? "  <-- MISS" : ""
        printf "  %-46s %8s req/s  p50 %7s ms  p99 %7s ms  non-2xx %s of %s%s\n", label, $2, $3, $4, $5, $6, miss }' <<<"$out"
    if awk -v limit="$limit" '$1=="RESULT" && ($4 >= limit || $5 > 0) { found=1 } END { exit !found }' <<<"$out"; then
        MISSES=$((MISSES + 1))
    fi
}

# TOKEN PATH: PATH (a list API) 200 pages of 20 deep by cursor, as the holder of TOKEN.
deep() {
    TOKEN=$1 python3 - "http://127.0.0.1:$PORT" "$2" <<'PY'
import json, os, sys, urllib.request
base, path = sys.argv[1], sys.argv[2] + "?per_page=20"
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

# PORT: waits up to a minute for the server there to be ready.
ready() {
    for _ in $(seq 1 600); do
        curl -fsS -o /dev/null "http://127.0.0.1:$1/readyz" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "kehu on port $1 did not become ready" >&2
    return 1
}

# WHAT ROWS: `kehu demo` adding ROWS of WHAT (opportunities or services) and nothing else,
# timed (the command, with its start and totals), with its peak RSS.
demo_load() {
    local what=$1 rows=$2 start end secs rss summary
    local -A n=([customers]=0 [opportunities]=0 [services]=0)
    n[$what]=$rows
    start=$(date +%s.%N)
    summary=$(/usr/bin/time -v "$KEHU" demo --customers "${n[customers]}" \
        --opportunities "${n[opportunities]}" --services "${n[services]}" \
        2>"$WORK/time.log" | grep "^demo $what")
    end=$(date +%s.%N)
    secs=$(echo "$end - $start" | bc -l)
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.log")
    echo "  $summary"
    printf '  load: %d %s in %.1f s = %.0f %s/s (command, with start and totals), peak RSS %d MB\n' \
        "$rows" "$what" "$secs" "$(echo "$rows / $secs" | bc -l)" "$what" "$((rss / 1024))"
}

# LABEL: `kehu serve` on KEHU_LISTEN, its log in WORK, stopped on exit; waits until ready.
serve() {
    "$KEHU" serve >"$WORK/serve-$1.log" 2>&1 &
    PIDS+=($!)
    ready "$PORT"
}
