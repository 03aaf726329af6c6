#!/usr/bin/env bash
# Imports 1,000,000 customers from a CSV written as Chinese Excel exports one (GBK, zh-CN
# titles, dictionary labels, managers by name, rows in no order of ours, ~6% bad rows) with
# the release binary, on SQLite and (when KEHU_BENCH_POSTGRES_URL is set) PostgreSQL, and
# prints rows/s and peak RSS. The controls in the same run: sqlite3's `.import` of the same
# rows (converted to UTF-8) into a bare table; and the floor: SQLite copying the rows kehu
# wrote into an empty database with the same tables and indexes (see below).
#
#   bench/customers/import.sh [ROWS]          (default 1000000)
#   KEHU_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bench/customers/import.sh
set -euo pipefail
ROWS=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --release -q -p kehu --bin kehu
cargo build --release -q -p kehu-customers --example import_file
KEHU="$TARGET/release/kehu"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FILE="$WORK/客户.csv"
"$TARGET/release/examples/import_file" "$FILE" "$ROWS" 10
echo "file: $(du -h "$FILE" | cut -f1), $ROWS rows"

setup() { # $1 = database URL: migrate, an administrator and the ten managers the file names
  export KEHU_DATABASE_URL="$1" KEHU_DATA_DIR="$WORK/data" KEHU_LOG_LEVEL=warn KEHU_USER_PASSWORD=bench-import-2026
  "$KEHU" user add admin --role admin >/dev/null
  for m in $(seq 1 10); do "$KEHU" user add "mgr$m" --name "经理$m" >/dev/null; done
}

run() { # $1 = label
  local log="$WORK/time.log"
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -v "$KEHU" import customers "$FILE" --rejects "$WORK/rejects.csv" 2>"$log" | tail -1
  end=$(date +%s.%N)
  local rss secs
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  secs=$(echo "$end - $start" | bc -l)
  printf '%s: %d rows in %.1f s = %.0f rows/s, peak RSS %d MB, %s rejected rows\n' \
    "$1" "$ROWS" "$secs" "$(echo "$ROWS / $secs" | bc -l)" "$((rss / 1024))" \
    "$(($(wc -l <"$WORK/rejects.csv") - 1))"
  grep -E "rows/s" "$log" || true
}

rm -rf "$WORK/data"; mkdir -p "$WORK/data"
setup "sqlite://$WORK/data/kehu.db"
run "kehu import, SQLite"

if command -v sqlite3 >/dev/null; then
  iconv -f GBK -t UTF-8 "$FILE" >"$WORK/utf8.csv"
  start=$(date +%s.%N)
  # (its complaints about the file's deliberately bad rows go unprinted)
  sqlite3 "$WORK/control.db" >/dev/null 2>&1 <<SQL
PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
.mode csv
.import $WORK/utf8.csv raw
SQL
  end=$(date +%s.%N)
  secs=$(echo "$end - $start" | bc -l)
  printf 'control, sqlite3 .import (no parsing, no checks, no indexes): %.1f s = %.0f rows/s\n' \
    "$secs" "$(echo "$ROWS / $secs" | bc -l)"

  # The floor any importer of this schema stands on: SQLite itself copying the rows kehu just
  # wrote (customers, contacts, tags, audit entries, search documents) into an empty database
  # with the same tables and indexes, in id order, one transaction per table; no parsing, no
  # checks, no duplicate look-ups, and no FTS5 tokens (a contentless index keeps none to copy).
  sqlite3 "$WORK/data/kehu.db" "SELECT sql || ';' FROM sqlite_master WHERE sql IS NOT NULL
      AND type IN ('table', 'index') AND name NOT LIKE 'search_fts%' AND name NOT LIKE 'sqlite_%'
      ORDER BY type = 'index'" >"$WORK/schema.sql"
  start=$(date +%s.%N)
  sqlite3 "$WORK/floor.db" >/dev/null <<SQL
PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
.read $WORK/schema.sql
ATTACH '$WORK/data/kehu.db' AS k;
INSERT INTO main.customers SELECT * FROM k.customers ORDER BY id;
INSERT INTO main.customer_tags SELECT * FROM k.customer_tags;
INSERT INTO main.contacts SELECT * FROM k.contacts ORDER BY id;
INSERT INTO main.audit_log SELECT * FROM k.audit_log ORDER BY id;
INSERT INTO main.search_docs SELECT * FROM k.search_docs ORDER BY id;
SQL
  end=$(date +%s.%N)
  secs=$(echo "$end - $start" | bc -l)
  printf 'floor, SQLite copying the rows kehu wrote into the same tables and indexes: %.1f s = %.0f rows/s\n' \
    "$secs" "$(echo "$ROWS / $secs" | bc -l)"
fi

if [ -n "${KEHU_BENCH_POSTGRES_URL:-}" ]; then
  SCHEMA="bench_import_$$"
  psql "$KEHU_BENCH_POSTGRES_URL" -qc "CREATE SCHEMA $SCHEMA" >/dev/null
  setup "$KEHU_BENCH_POSTGRES_URL?options[search_path]=$SCHEMA"
  run "kehu import, PostgreSQL"
  psql "$KEHU_BENCH_POSTGRES_URL" -qc "DROP SCHEMA $SCHEMA CASCADE" >/dev/null
fi
