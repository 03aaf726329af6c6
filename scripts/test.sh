#!/usr/bin/env bash
# kehu's one test command: ./scripts/test.sh   (CI runs exactly this, through .ci/run)
#
# What it does, in order:
#   1. cargo fmt --check and cargo clippy -D warnings over the whole workspace.
#   2. PostgreSQL for the storage and HTTP tests on both backends:
#        - KEHU_TEST_POSTGRES_URL if set, else postgres://postgres@127.0.0.1:5432/test;
#        - a local server that is installed but stopped is started (pg_ctlcluster);
#        - on a machine without PostgreSQL, as root (or with password-less sudo), Debian's
#          `postgresql` is installed and started, 127.0.0.1 is trusted in pg_hba.conf and the
#          database `test` is created;
#        - if there is still no server, the script stops with a message: tests are never skipped.
#      Leftover kehu_t_* schemas of earlier runs are dropped (only when nobody else is connected
#      to the test database, so that a parallel run keeps its schemas).
#   3. Chromium for the browser tests: Debian's `chromium` and `chromium-driver` are installed if
#      missing (root or sudo), else the script stops with a message.
#   4. All tests: unit, integration (SQLite and PostgreSQL), CLI and browser tests, with
#      cargo-nextest when installed (settings in .config/nextest.toml), else cargo test; the doc
#      tests too once there are any (nextest does not run them).
#   5. API fuzzing: scripts/fuzz-api.sh runs schemathesis (from PyPI, in a venv under target/)
#      over every operation of the OpenAPI document against a real `kehu serve`; any 5xx,
#      dropped connection or answer that does not match the document fails (about 2 minutes).
#
# Needs: a Rust toolchain with rustfmt and clippy, and python3; Debian or Ubuntu (apt-get) for
# what is missing.
# Environment it reads: KEHU_TEST_POSTGRES_URL, KEHU_CHROMIUM, KEHU_CHROMEDRIVER (paths of an
# already installed browser and driver), CI (when set, Cargo.lock must be up to date).
# No TTY needed; it exits non-zero at the first failing step.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

started=$SECONDS
step_started=
# CI checks that Cargo.lock is up to date; locally cargo may update it as usual.
locked=()
if [[ -n ${CI:-} ]]; then
    locked=(--locked)
fi

step() {
    if [[ -n $step_started ]]; then
        echo "    (took $(( SECONDS - step_started )) s)"
    fi
    step_started=$SECONDS
    echo
    echo "==> $*"
}

run() {
    echo "+ $*"
    "$@"
}

die() {
    echo >&2
    echo "test.sh: error: $*" >&2
    exit 1
}

# Runs a command as root (shown first): directly, or through password-less sudo; fails if
# neither is possible.
as_root() {
    if (( EUID == 0 )); then
        run "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        run sudo -n "$@"
    else
        return 1
    fi
}

# The same, without showing the command (for checks).
as_root_quietly() {
    if (( EUID == 0 )); then
        "$@"
    else
        sudo -n "$@" 2>/dev/null
    fi
}

can_be_root() {
    (( EUID == 0 )) || { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }
}

apt_updated=0
apt_install() {
    command -v apt-get >/dev/null || return 1
    can_be_root || return 1
    if (( apt_updated == 0 )); then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
        apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# --- 1. formatting and lints ---------------------------------------------------------------

step "Formatting (cargo fmt --check)"
# rustfmt colours its diff even into a CI log unless told otherwise.
fmt_color=never
if [[ -t 1 ]]; then
    fmt_color=auto
fi
run cargo fmt --all -- --check --color "$fmt_color"

step "Lints (cargo clippy, warnings are errors)"
run cargo clippy --workspace --all-targets "${locked[@]}" -- -D warnings

# --- 2. PostgreSQL ----------------------------------------------------------------------------

step "PostgreSQL"
pg_url=${KEHU_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
# The URL without credentials, for messages.
pg_shown=$(sed -E 's#//[^@/]*@#//…@#' <<<"$pg_url")
case "$pg_url" in
    *@127.0.0.1[:/]* | *@localhost[:/]* | *//127.0.0.1[:/]* | *//localhost[:/]*) pg_local=1 ;;
    *) pg_local=0 ;;
esac

pg_ok() {
    psql "$pg_url" -v ON_ERROR_STOP=1 -qAtc 'SELECT 1' >/dev/null 2>&1
}

# The newest installed cluster version, e.g. 15 (empty when none is installed).
pg_version() {
    find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -V | tail -n 1
}

pg_start_local() {
    local version
    version=$(pg_version)
    [[ -n $version ]] || return 1
    if ! pg_lsclusters -h 2>/dev/null | awk -v v="$version" '$1 == v && $2 == "main" && $4 == "online" { found = 1 } END { exit !found }'; then
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || return 1
    fi
    for _ in $(seq 1 30); do
        pg_isready -q -h 127.0.0.1 -p 5432 && return 0
        sleep 1
    done
    return 1
}

# Lets the local role `postgres` connect over TCP without a password and creates `test`.
pg_prepare_local() {
    local version hba
    version=$(pg_version)
    hba=/etc/postgresql/$version/main/pg_hba.conf
    if ! as_root_quietly grep -Eq '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
        echo "trusting 127.0.0.1 in $hba (a test database server)"
        as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    fi
    if ! psql -h 127.0.0.1 -U postgres -d postgres -qAtc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
        run psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test'
    fi
}

if ! command -v psql >/dev/null; then
    if (( pg_local )) && [[ -z $(pg_version) ]]; then
        echo "PostgreSQL is not installed: installing Debian's postgresql"
        apt_install postgresql || die "PostgreSQL is not installed and cannot be installed here (needs apt-get and root).
Install PostgreSQL, or point KEHU_TEST_POSTGRES_URL at a server (e.g. postgres://postgres@host:5432/test)."
    else
        echo "psql is missing: installing Debian's postgresql-client"
        apt_install postgresql-client || die "psql is needed to check and clean the test database: install postgresql-client."
    fi
fi

if ! pg_ok && (( pg_local )); then
    if [[ -z $(pg_version) ]]; then
        echo "no local PostgreSQL server is installed: installing Debian's postgresql"
        apt_install postgresql || die "no PostgreSQL at $pg_shown and it cannot be installed here (needs apt-get and root)."
    fi
    echo "no PostgreSQL answers at $pg_shown: checking the local cluster $(pg_version)/main"
    pg_start_local || die "the local PostgreSQL cluster $(pg_version)/main does not start (see /var/log/postgresql/)."
    pg_ok || pg_prepare_local || true
fi
if ! pg_ok; then
    psql "$pg_url" -qAtc 'SELECT 1' 2>&1 | head -n 3 >&2 || true
fi
pg_ok || die "cannot connect to PostgreSQL at $pg_shown.
Start a server there, or set KEHU_TEST_POSTGRES_URL to one (tests on PostgreSQL are never skipped)."
echo "PostgreSQL answers at $pg_shown: $(psql "$pg_url" -qAtc 'SHOW server_version')"

# Every test makes its own schema kehu_t_<uuid>; drop those left by earlier runs, unless another
# client is connected (maybe a second test run in progress, whose schemas must stay).
others=$(psql "$pg_url" -qAtc "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
leftovers=$(psql "$pg_url" -qAtc "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'kehu\_t\_%'")
if (( leftovers == 0 )); then
    echo "no leftover test schemas"
elif (( others > 0 )); then
    echo "leaving $leftovers kehu_t_* schemas alone: $others other connection(s) to the test database"
else
    echo "dropping $leftovers leftover kehu_t_* schemas"
    # One transaction per schema: dropping dozens at once runs out of the lock table
    # (max_locks_per_transaction) after a few interrupted runs.
    psql "$pg_url" -v ON_ERROR_STOP=1 -qAt >/dev/null <<'SQL'
SET client_min_messages TO warning;
SELECT format('DROP SCHEMA %I CASCADE', nspname) FROM pg_namespace
 WHERE nspname LIKE 'kehu\_t\_%' \gexec
SQL
fi
export KEHU_TEST_POSTGRES_URL=$pg_url

# --- 3. Chromium ------------------------------------------------------------------------------

step "Chromium and chromedriver"
chromium=${KEHU_CHROMIUM:-/usr/bin/chromium}
chromedriver=${KEHU_CHROMEDRIVER:-/usr/bin/chromedriver}
if [[ ! -x $chromium || ! -x $chromedriver ]]; then
    if [[ -n ${KEHU_CHROMIUM:-}${KEHU_CHROMEDRIVER:-} ]]; then
        die "KEHU_CHROMIUM=$chromium or KEHU_CHROMEDRIVER=$chromedriver is not an executable."
    fi
    echo "installing Debian's chromium and chromium-driver"
    apt_install chromium chromium-driver || die "the browser tests need Chromium and chromedriver, and they cannot be installed here (needs apt-get and root).
Install Debian's chromium and chromium-driver, or set KEHU_CHROMIUM and KEHU_CHROMEDRIVER."
fi
# Chinese in the screenshots the browser tests take: without a CJK font it shows as boxes.
if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
    apt_install fonts-noto-cjk || echo "warning: fonts-noto-cjk cannot be installed here: Chinese shows as boxes in the screenshots" >&2
fi
# The reports' browser story reads the text of a page it printed to PDF (poppler's pdftotext).
if ! command -v pdftotext >/dev/null; then
    apt_install poppler-utils || die "the reports' browser story needs pdftotext (Debian: poppler-utils), and it cannot be installed here (needs apt-get and root)."
fi
# The Debian launcher script prints a harmless shell warning on stderr; keep the version line.
echo "$("$chromium" --version 2>/dev/null) / $("$chromedriver" --version)"
export KEHU_CHROMIUM=$chromium KEHU_CHROMEDRIVER=$chromedriver

# --- 4. tests ---------------------------------------------------------------------------------

if cargo nextest --version >/dev/null 2>&1; then
    step "Tests (cargo nextest, settings in .config/nextest.toml)"
    run cargo nextest run --workspace "${locked[@]}"
    # nextest does not run doc tests: run them too once there are any.
    if grep -rqE '^[[:space:]]*//[/!][[:space:]]*```' crates/*/src; then
        step "Doc tests"
        run cargo test --workspace "${locked[@]}" --doc
    fi
else
    step "Tests (cargo test; install cargo-nextest for a faster, clearer run)"
    run cargo test --workspace "${locked[@]}"
fi

step "API fuzzing (schemathesis against kehu serve)"
run ./scripts/fuzz-api.sh

step "All checks passed in $(( SECONDS - started )) s"
