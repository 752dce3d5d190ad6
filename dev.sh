#!/usr/bin/env bash
# The README's two commands. Both install what they need first (idempotent):
#   ./dev.sh matrix [run options]   build the guests and run the full matrix on every runtime here
#   ./dev.sh test   [pytest options] run the project's own tests (unit tests + scenarios on every runtime here)
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3}

setup() {
    if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "dev.sh: Python >= 3.11 is needed (found: $("$PY" --version 2>&1))" >&2
        exit 2
    fi
    if [ ! -x .venv/bin/python ]; then
        "$PY" -m venv .venv
    fi
    # Reinstall only when the project's metadata changed since the last install.
    local stamp=.venv/.keel-installed
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]' 2>&1 \
            | grep -v "^WARNING: Location" >&2 || true
        .venv/bin/python -c 'import keel_conformance, wasmtime, rocksdict, pytest_bdd' \
            || { echo "dev.sh: the Python install failed" >&2; exit 2; }
        touch "$stamp"
    fi
    # The JavaScript toolchain (jco, componentize-js, the preview2 shim), pinned by package-lock.json.
    if command -v npm >/dev/null 2>&1; then
        if [ ! -f node_modules/.keel-installed ] || [ package-lock.json -nt node_modules/.keel-installed ]; then
            npm ci --no-audit --no-fund --loglevel=error >&2
            touch node_modules/.keel-installed
        fi
    else
        echo "dev.sh: npm not found: the jco columns will be n/a" >&2
    fi
}

# Debian packages, installed as root or with passwordless sudo (CI runners); can_install says whether
# this machine allows it and sets AS_ROOT for the commands that need it.
AS_ROOT=""
can_install() {
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || return 1
        AS_ROOT="sudo -n"
    fi
    command -v apt-get >/dev/null 2>&1
}

APT_UPDATED=""
apt_install() {  # LOG PACKAGE...
    local log=$1
    shift
    if [ -z "$APT_UPDATED" ]; then
        $AS_ROOT apt-get update -qq >"$log" 2>&1 || return 1
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $AS_ROOT apt-get install -y -qq "$@" >>"$log" 2>&1
}

# The C guests of the WASI p1 bridge tier (c-p1-*) need Debian's clang-14, lld-14 and wasi-libc;
# both commands build guests, so both install them where they can (apt-get as root or passwordless sudo).
setup_c() {
    if command -v clang-14 >/dev/null 2>&1 && command -v wasm-ld-14 >/dev/null 2>&1 \
        && [ -f /usr/lib/wasm32-wasi/crt1-command.o ]; then
        return
    fi
    local pkgs="clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32"
    if can_install; then
        echo "dev.sh: installing $pkgs for the p1 bridge guests" >&2
        if ! apt_install /tmp/keel-apt-c.log $pkgs; then
            echo "dev.sh: $pkgs could not be installed (log: /tmp/keel-apt-c.log); the c-p1-* guests will not build" >&2
        fi
    else
        echo "dev.sh: the c-p1-* guests need $pkgs (apt-get install as root); they will not build" >&2
    fi
}

# The browser columns (runners/browser.py): Debian's Chromium, Firefox ESR and WebKitGTK's MiniBrowser,
# which has no headless mode and runs on an Xvfb screen the suite starts.
setup_browsers() {
    local missing=""
    command -v chromium >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 || missing="$missing chromium"
    command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1 || missing="$missing firefox-esr"
    compgen -G "/usr/lib/*/webkit2gtk-4.1/MiniBrowser" >/dev/null || missing="$missing libwebkit2gtk-4.1-0"
    command -v Xvfb >/dev/null 2>&1 || missing="$missing xvfb"
    [ -n "$missing" ] || return 0
    if ! can_install; then
        echo "dev.sh: some browser-* columns will be n/a: they need$missing (apt-get install as root)" >&2
        return
    fi
    echo "dev.sh: installing$missing for the browser columns" >&2
    # One package at a time: a distribution without one of them (Ubuntu has no firefox-esr) still gets the rest.
    for pkg in $missing; do
        apt_install "/tmp/keel-apt-$pkg.log" "$pkg" \
            || echo "dev.sh: $pkg could not be installed (log: /tmp/keel-apt-$pkg.log); its browser column will be n/a" >&2
    done
}

# Engine builds for the JavaScript columns (~700 MB): Node 22/24/26 and Bun from npm, Deno from PyPI.
# Both commands install them: the tests run every scenario on every column, the Docker ones included.
setup_engines() {
    if command -v npm >/dev/null 2>&1; then
        local dir=runners/js/engines
        if [ ! -f $dir/node_modules/.keel-installed ] || [ $dir/package-lock.json -nt $dir/node_modules/.keel-installed ]; then
            if npm ci --prefix $dir --ignore-scripts --no-audit --no-fund --loglevel=error >&2; then
                touch $dir/node_modules/.keel-installed
            else
                echo "dev.sh: the engine builds could not be installed; their columns will say n/a" >&2
            fi
        fi
    fi
    .venv/bin/python -c 'import deno' 2>/dev/null \
        || .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[engines]' 2>&1 \
        | grep -v "^WARNING: Location" >&2 || true
}

# The docker-jco-* columns need a Docker engine. Where none answers, install Debian's docker.io (as root
# or with passwordless sudo) and start dockerd for this run; a daemon started here is stopped when the run
# ends, one that was already running is left alone. Where it cannot, say in one line why those columns are n/a.
STARTED_DOCKERD=""
setup_docker() {
    if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        return
    fi
    if ! can_install && ! command -v dockerd >/dev/null 2>&1; then
        echo "dev.sh: the docker-* columns will be n/a: no Docker engine answers, and docker.io cannot be installed here (apt-get as root or passwordless sudo)" >&2
        return
    fi
    if [ "$(id -u)" != 0 ] && [ -z "$AS_ROOT" ]; then
        echo "dev.sh: the docker-* columns will be n/a: no Docker engine answers and this is not root (or passwordless sudo)" >&2
        return
    fi
    if ! command -v dockerd >/dev/null 2>&1; then
        echo "dev.sh: installing docker.io for the docker-* columns" >&2
        if ! apt_install /tmp/keel-apt-docker.log docker.io; then
            echo "dev.sh: the docker-* columns will be n/a: docker.io could not be installed (log: /tmp/keel-apt-docker.log)" >&2
            return
        fi
    fi
    $AS_ROOT dockerd >/tmp/keel-dockerd.log 2>&1 &
    STARTED_DOCKERD=$!
    for _ in $(seq 60); do
        if $AS_ROOT docker info >/dev/null 2>&1; then
            return
        fi
        if ! kill -0 "$STARTED_DOCKERD" 2>/dev/null; then
            break
        fi
        sleep 0.5
    done
    echo "dev.sh: the docker-* columns will be n/a: dockerd did not start (log: /tmp/keel-dockerd.log)" >&2
    stop_docker
}

stop_docker() {
    if [ -n "$STARTED_DOCKERD" ] && kill -0 "$STARTED_DOCKERD" 2>/dev/null; then
        kill -TERM "$STARTED_DOCKERD" 2>/dev/null || true
        for _ in $(seq 40); do
            kill -0 "$STARTED_DOCKERD" 2>/dev/null || break
            sleep 0.25
        done
    fi
    STARTED_DOCKERD=""
}

# Runs a command to its end, passing SIGINT and SIGTERM on to it (it stops at a safe point and writes its
# partial reports), then stops what setup started; exits with the command's own code.
run_then_clean_up() {
    "$@" &
    local child=$! code=0
    trap 'kill -INT "$child" 2>/dev/null || true' INT
    trap 'kill -TERM "$child" 2>/dev/null || true' TERM
    while true; do
        code=0
        wait "$child" || code=$?
        kill -0 "$child" 2>/dev/null || break  # wait returns early when a trapped signal arrives
    done
    trap - INT TERM
    stop_docker
    exit "$code"
}

cmd=${1:-}
shift || true
case "$cmd" in
    matrix)
        setup
        setup_c
        setup_engines
        setup_docker
        setup_browsers
        .venv/bin/keel-conformance build-fixtures || { code=$?; stop_docker; exit "$code"; }
        run_then_clean_up .venv/bin/keel-conformance run "$@"
        ;;
    test)
        setup
        setup_c
        setup_engines
        setup_docker
        setup_browsers
        # A private temp root: another pytest session on this machine cleaning up its own numbered
        # directories can then never remove this session's SQLite and RocksDB files under it.
        run_then_clean_up .venv/bin/python -m pytest --basetemp "$(mktemp -d -t keel-test-XXXXXX)/t" "$@"
        ;;
    with-docker)
        # For tox -e docker: a command that needs a Docker engine, with the same install, start and stop.
        setup_docker
        run_then_clean_up "$@"
        ;;
    *)
        echo "usage: ./dev.sh matrix [keel-conformance run options] | ./dev.sh test [pytest options]" >&2
        exit 2
        ;;
esac
