#!/usr/bin/env bash
# The README's two commands. Both install what they need first (idempotent):
#   ./dev.sh matrix [run options]   build the guests and run the full matrix on every runtime here
#   ./dev.sh test   [pytest options] run the project's own tests (unit tests + scenarios on real runtimes)
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
}

cmd=${1:-}
shift || true
case "$cmd" in
    matrix)
        setup
        .venv/bin/keel-conformance build-fixtures
        exec .venv/bin/keel-conformance run "$@"
        ;;
    test)
        setup
        exec .venv/bin/python -m pytest "$@"
        ;;
    *)
        echo "usage: ./dev.sh matrix [keel-conformance run options] | ./dev.sh test [pytest options]" >&2
        exit 2
        ;;
esac
