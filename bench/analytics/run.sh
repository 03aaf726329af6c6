#!/usr/bin/env bash
# Benchmark: kehu analyze vs the Python reference (pandas + lifetimes, everything kehu does)
# and a DuckDB SQL anchor (RFM + ABC only), on two seeded populations, each written sorted
# by date then customer like an order system's export:
#   pop1: the BG/NBD + Gamma-Gamma population of the crate's tests (integer ids);
#   pop2: an independent population, other parameters, string ids (C0000123), refunds and
#         0.00 lines (see crates/kehu-analytics/examples/gen_transactions.rs).
# Usage: bench/analytics/run.sh [CUSTOMERS] [SEED]   (default 1000000 customers ≈ 10 M rows
# per population; the whole run takes several minutes)
# Prints per population: wall times, kehu's peak RSS, the ratios kehu vs pandas+lifetimes
# (target >= 10x) and kehu vs DuckDB (target kehu <= DuckDB), and the agreement checks
# (bench/analytics/compare.py). Results under bench/out/<pop>/ (report.txt each).
# Environment: CARGO_TARGET_DIR (default target), KEHU_ENGINE_ONLY=1 (see below),
# POPULATIONS="pop1 pop2" (which to run). Exit status 1 when a check fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
CUSTOMERS=${1:-1000000}
SEED=${2:-42}
TARGET=${CARGO_TARGET_DIR:-target}
OUT=bench/out
POPULATIONS=${POPULATIONS:-pop1 pop2}
mkdir -p "$OUT"

if [ ! -x /usr/bin/time ]; then
  apt-get update -qq && apt-get install -y -qq time
fi
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/pip install -q pandas numpy scipy lifetimes 'setuptools<81' duckdb
PY=bench/.venv/bin/python

cargo build --release -q -p kehu-analytics --example gen_transactions --example analyze
KEHU=("$TARGET/release/kehu" analyze)
# KEHU_ENGINE_ONLY=1 skips building the full kehu binary (web stack included) and times the
# same command::run through the kehu-analytics example.
if [ -n "${KEHU_ENGINE_ONLY:-}" ] || ! cargo build --release -q -p kehu \
    || ! "$TARGET/release/kehu" analyze --help > /dev/null 2>&1; then
  echo "note: using the kehu-analytics analyze example (same command::run as kehu analyze)"
  KEHU=("$TARGET/release/examples/analyze")
fi
GEN="$TARGET/release/examples/gen_transactions"

status=0
for pop in $POPULATIONS; do
  case $pop in
    pop1) number=1 ;;
    pop2) number=2 ;;
    *) echo "unknown population $pop" >&2; exit 2 ;;
  esac
  DIR="$OUT/$pop"
  DATA="$OUT/transactions-$pop-sorted-$CUSTOMERS-$SEED.csv"
  mkdir -p "$DIR"
  if [ ! -s "$DATA" ] || [ "$GEN" -nt "$DATA" ]; then
    /usr/bin/time -v -o "$DIR/gen.time" "$GEN" --population "$number" --sorted-by-date \
      --customers "$CUSTOMERS" --seed "$SEED" --out "$DATA"
  fi
  echo "== $pop: $DATA ($(du -h "$DATA" | cut -f1))"
  rm -rf "$DIR/kehu"
  KEHU_ANALYZE_TIMINGS=1 /usr/bin/time -v -o "$DIR/kehu.time" "${KEHU[@]}" --transactions "$DATA" \
    --out "$DIR/kehu" 2> "$DIR/kehu.log"
  /usr/bin/time -v -o "$DIR/python.time" "$PY" bench/analytics/reference.py "$DATA" "$DIR/python.json" \
    --customers-csv "$DIR/python-customers.csv"
  /usr/bin/time -v -o "$DIR/duckdb.time" "$PY" bench/analytics/duckdb_ref.py "$DATA" "$DIR/duckdb.csv" \
    > "$DIR/duckdb.log"
  "$PY" bench/analytics/compare.py "$DIR" | tee "$DIR/report.txt" || status=1
  echo
done

echo "== summary ($CUSTOMERS customers per population, seed $SEED)"
for pop in $POPULATIONS; do
  echo "-- $pop"
  grep -E "^(customers|kehu analyze|kehu stage marks|pandas|DuckDB|speed ratio|kehu \(all|largest|identical|kehu vs|pandas\+lifetimes vs|all checks)" \
    "$OUT/$pop/report.txt" | cut -c1-220
done
exit $status
