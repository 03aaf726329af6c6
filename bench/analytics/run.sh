#!/usr/bin/env bash
# Benchmark: kehu analyze vs the Python reference (pandas + lifetimes) on a seeded
# BG/NBD + Gamma-Gamma population. Usage: bench/analytics/run.sh [CUSTOMERS] [SEED]
# Prints wall times, the speed ratio, kehu's peak RSS, and class counts, score
# distributions and fitted parameters side by side.
# Environment: CARGO_TARGET_DIR (default target), KEHU_ENGINE_ONLY=1 (see below).
set -euo pipefail
cd "$(dirname "$0")/../.."
CUSTOMERS=${1:-1000000}
SEED=${2:-42}
TARGET=${CARGO_TARGET_DIR:-target}
OUT=bench/out
mkdir -p "$OUT"

if [ ! -x /usr/bin/time ]; then
  apt-get update -qq && apt-get install -y -qq time
fi
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/pip install -q pandas numpy scipy lifetimes 'setuptools<81'

cargo build --release -q -p kehu-analytics --example gen_transactions --example analyze
KEHU=("$TARGET/release/kehu" analyze)
# KEHU_ENGINE_ONLY=1 skips building the full kehu binary (web stack included) and times the
# same command::run through the kehu-analytics example.
if [ -n "${KEHU_ENGINE_ONLY:-}" ] || ! cargo build --release -q -p kehu \
    || ! "$TARGET/release/kehu" analyze --help > /dev/null 2>&1; then
  echo "note: the kehu binary has no analyze subcommand; using the kehu-analytics analyze example (same command::run)"
  KEHU=("$TARGET/release/examples/analyze")
fi

DATA="$OUT/transactions-$CUSTOMERS-$SEED.csv"
if [ ! -s "$DATA" ]; then
  "$TARGET/release/examples/gen_transactions" --customers "$CUSTOMERS" --seed "$SEED" --out "$DATA"
fi

rm -rf "$OUT/kehu"
/usr/bin/time -v -o "$OUT/kehu.time" "${KEHU[@]}" --transactions "$DATA" --out "$OUT/kehu"
/usr/bin/time -v -o "$OUT/python.time" bench/.venv/bin/python bench/analytics/reference.py "$DATA" "$OUT/python.json"
bench/.venv/bin/python bench/analytics/compare.py "$OUT"
