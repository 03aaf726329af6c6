#!/usr/bin/env bash
# Service module benchmark (issue 11, part 11): not a test. With the release binary:
#
# A. Lists at ROWS services (default 1,000,000), on SQLite and (when KEHU_BENCH_POSTGRES_URL
#    is set) on PostgreSQL:
#    1. loads the demo's users and 800 customers, then ROWS services with
#       `kehu demo --customers 0 --opportunities 0 --services ROWS` (two years of them, oldest
#       first, each in the stage its age makes likely; the newest 200 played through the
#       store), timed (seconds, services/s, peak RSS);
#    2. serves that database and drives it with wrk (CONNECTIONS=32, DURATION=10s each, after
#       2 s unreported) as the sales supervisor (every service) and as an account manager
#       (the ones they took or handle), printing requests/s, p50 and p99 of
#         - the control: GET /healthz (no database), in the same run,
#         - the home page / (its overdue and due-soon services), the list page /services and
#           its stage tab 服务处理 (/services?stage=handle),
#         - the list API: first page, 200 pages deep by cursor, status=assigned, overdue=true,
#           type=complaint, sort=resolve_due_at (most urgent first), one customer's, one
#           handler's, one month a year ago (created_from/created_to).
#    Target: p99 < 50 ms for each.
# B. Automatic distribution (PostgreSQL only): on a fresh schema with the demo's users and
#    customers, consultations distributed least-load, TOTAL services (default 10,000) are
#    created by POST /api/v1/services from CONNECTIONS clients at once, alternating between
#    two `kehu serve` processes on that one database. Then counts: every creation answered
#    201, every service assigned exactly once (one assignment notice, no later change), and
#    the spread between the most and the least loaded handler (target ≤ 1).
# Everything targets 127.0.0.1 only.
#
#   bench/service/run.sh [ROWS] [TOTAL]
#   KEHU_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bench/service/run.sh
#   SKIP_SQLITE=1 KEHU_BENCH_POSTGRES_URL=… bench/service/run.sh   (PostgreSQL only)
#   SKIP_LISTS=1 KEHU_BENCH_POSTGRES_URL=… bench/service/run.sh    (distribution only)
set -euo pipefail
ROWS=${1:-1000000}
TOTAL=${2:-10000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18093}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cd "$ROOT"

. "$ROOT/bench/lib/drive.sh"
SCHEMA="bench_service_$$"
SCHEMAS+=("$SCHEMA" "${SCHEMA}_acd")

# TOKEN PATH: the first item's FIELD of a list API's page (e.g. a customer's id).
first_of() {
    curl -fsS -H "Authorization: Bearer $1" "http://127.0.0.1:$PORT$2" |
        python3 -c "import json, sys; print(json.load(sys.stdin)['items'][0]['$3'])"
}

# The demo's users and 800 customers on the database of KEHU_DATABASE_URL.
company() {
    "$KEHU" demo --customers 800 --opportunities 0 --services 0 >/dev/null
}

lists() { # label, database URL
    local label=$1 url=$2
    export KEHU_DATABASE_URL="$url" KEHU_DATA_DIR="$WORK/data-$label" KEHU_LOG_LEVEL=warn
    export KEHU_DEMO_PASSWORD=bench-service-2026 KEHU_LISTEN="127.0.0.1:$PORT"
    mkdir -p "$KEHU_DATA_DIR"
    echo
    echo "== lists on $label"
    company
    demo_load services "$ROWS"

    serve "$label"
    local boss mgr
    boss=$("$KEHU" token issue --user zhangwei --name "bench-$label")
    mgr=$("$KEHU" token issue --user lina --name "bench-$label")
    local list=/api/v1/services
    local customer handler from to
    customer=$(first_of "$mgr" "/api/v1/customers?per_page=1" id)
    handler=$(first_of "$mgr" "$list?status=assigned&per_page=1" assignee_id)
    from=$(date -u -d '-365 days' +%F)
    to=$(date -u -d '-335 days' +%F)
    drive "control: /healthz" "$boss" /healthz
    local who token
    for who in supervisor manager; do
        if [ "$who" = supervisor ]; then token=$boss; else token=$mgr; fi
        echo "  -- as the $who"
        drive "home page /" "$token" /
        drive "list page /services" "$token" /services
        drive "stage tab /services?stage=handle" "$token" "/services?stage=handle"
        drive "list API: first page" "$token" "$list"
        drive "list API: 200 pages deep (cursor)" "$token" "$(deep "$token" "$list")"
        drive "list API: status=assigned" "$token" "$list?status=assigned"
        drive "list API: overdue=true" "$token" "$list?overdue=true"
        drive "list API: type=complaint" "$token" "$list?type=complaint"
        drive "list API: sort=resolve_due_at" "$token" "$list?sort=resolve_due_at"
        drive "list API: customer_id (one customer)" "$token" "$list?customer_id=$customer"
        drive "list API: assignee_id (one handler)" "$token" "$list?assignee_id=$handler"
        drive "list API: one month a year ago" "$token" \
            "$list?created_from=$from&created_to=$to"
    done
    drive "control: /healthz (again)" "$boss" /healthz
    kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
}

distribution() { # database URL of a fresh schema
    export KEHU_DATABASE_URL=$1 KEHU_DATA_DIR="$WORK/data-acd" KEHU_LOG_LEVEL=warn
    export KEHU_DEMO_PASSWORD=bench-service-2026
    mkdir -p "$KEHU_DATA_DIR"
    echo
    echo "== automatic distribution: $TOTAL services through two kehu processes on one PostgreSQL"
    company
    local a=$PORT b=$((PORT + 1))
    KEHU_LISTEN="127.0.0.1:$a" "$KEHU" serve >"$WORK/serve-acd-a.log" 2>&1 &
    PIDS+=($!)
    KEHU_LISTEN="127.0.0.1:$b" "$KEHU" serve >"$WORK/serve-acd-b.log" 2>&1 &
    PIDS+=($!)
    ready "$a"
    ready "$b"
    local boss mgr customer
    boss=$("$KEHU" token issue --user zhangwei --name bench-acd)
    mgr=$("$KEHU" token issue --user lina --name bench-acd)
    curl -fsS -o /dev/null -X PUT -H "Authorization: Bearer $boss" \
        -H 'Content-Type: application/json' -d '{"mode":"least_load"}' \
        "http://127.0.0.1:$a/api/v1/service-settings/routing/consultation"
    customer=$(first_of "$mgr" "/api/v1/customers?per_page=1" id)
    local created=0
    TOKEN=$mgr python3 - "$TOTAL" "$CONNECTIONS" "$customer" "$a" "$b" <<'PY' || created=1
import http.client, json, os, sys, threading, time
total, clients, customer = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ports = [int(p) for p in sys.argv[4:]]
headers = {"Authorization": "Bearer " + os.environ["TOKEN"], "Content-Type": "application/json"}
lock = threading.Lock()
state = {"next": 0}
latencies, statuses = [], {}

def client(k):
    conn = http.client.HTTPConnection("127.0.0.1", ports[k % len(ports)], timeout=30)
    while True:
        with lock:
            i = state["next"]
            if i >= total:
                break
            state["next"] = i + 1
        body = json.dumps({"type": "consultation", "title": f"压测咨询 {i}",
                           "customer_id": int(customer), "request": "客户来电咨询产品用法。"})
        t = time.perf_counter()
        conn.request("POST", "/api/v1/services", body, headers)
        r = conn.getresponse()
        r.read()
        ms = (time.perf_counter() - t) * 1000
        with lock:
            latencies.append(ms)
            statuses[r.status] = statuses.get(r.status, 0) + 1

start = time.perf_counter()
threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
secs = time.perf_counter() - start
latencies.sort()
pct = lambda p: latencies[min(len(latencies) - 1, int(len(latencies) * p))]
print(f"  created: {len(latencies)} requests in {secs:.1f} s = {len(latencies) / secs:.0f}/s, "
      f"p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, answers {dict(sorted(statuses.items()))}")
sys.exit(0 if statuses == {201: total} else 1)
PY
    # What the database holds: every service given to exactly one handler, once.
    local q="psql -X -qAt $KEHU_BENCH_POSTGRES_URL -c"
    local sp="SET search_path TO ${SCHEMA}_acd;"
    local services unassigned changed notices spread
    services=$($q "$sp SELECT count(*) FROM services" | tail -1)
    unassigned=$($q "$sp SELECT count(*) FROM services WHERE assignee_id IS NULL OR status <> 'assigned'" | tail -1)
    changed=$($q "$sp SELECT count(*) FROM audit_log WHERE entity = 'service' AND action <> 'create'" | tail -1)
    notices=$($q "$sp SELECT count(*) FROM (SELECT record_id FROM notices WHERE kind = 'service-assigned'
        GROUP BY record_id HAVING count(*) <> 1) x" | tail -1)
    spread=$($q "$sp SELECT max(n) - min(n) || ' (' || min(n) || '..' || max(n) || ' over ' || count(*) || ' handlers)'
        FROM (SELECT u.id, (SELECT count(*) FROM services s WHERE s.assignee_id = u.id) n
              FROM users u JOIN role_rights r ON r.role_id = u.role_id
              WHERE r.right_code = 'service.handle' AND NOT u.disabled) h" | tail -1)
    echo "  services: $services (want $TOTAL), not assigned: $unassigned, changed after creation: $changed, with other than one assignment notice: $notices"
    echo "  least-load spread (most - least loaded handler): $spread"
    if [ "$created" -ne 0 ] || [ "$services" -ne "$TOTAL" ] || [ "$unassigned" -ne 0 ] ||
        [ "$changed" -ne 0 ] || [ "$notices" -ne 0 ] || [ "${spread%% *}" -gt 1 ]; then
        echo "  <-- MISS"
        MISSES=$((MISSES + 1))
    fi
    for p in "${PIDS[@]: -2}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
}

echo "service benchmark: $ROWS services, $TOTAL distributed, $CONNECTIONS connections, $DURATION a target, $(nproc) cores"
if [ -z "${SKIP_LISTS:-}" ]; then
    if [ -z "${SKIP_SQLITE:-}" ]; then
        lists sqlite "sqlite://$WORK/data-sqlite/kehu.db"
    fi
    if [ -n "${KEHU_BENCH_POSTGRES_URL:-}" ]; then
        psql "$KEHU_BENCH_POSTGRES_URL" -qc "CREATE SCHEMA $SCHEMA" >/dev/null
        lists postgres "$KEHU_BENCH_POSTGRES_URL?options[search_path]=$SCHEMA"
    fi
fi
if [ -n "${KEHU_BENCH_POSTGRES_URL:-}" ]; then
    psql "$KEHU_BENCH_POSTGRES_URL" -qc "CREATE SCHEMA ${SCHEMA}_acd" >/dev/null
    distribution "$KEHU_BENCH_POSTGRES_URL?options[search_path]=${SCHEMA}_acd"
else
    echo
    echo "automatic distribution: needs KEHU_BENCH_POSTGRES_URL (two kehu processes on one PostgreSQL)"
fi
echo
echo "targets over p99 50 ms or with errors, or distribution misses: $MISSES"
