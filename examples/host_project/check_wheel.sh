#!/usr/bin/env bash
# Build billing's wheel from this checkout, install it into a new virtualenv (not the source tree), and
# run the example host project's tests with it: what a merchant's project gets from `pip install`.
# Runtime versions are the pins of requirements.txt (as constraints: the wheel itself declares ranges).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "== building the wheel"
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$ROOT"
rm -rf "$ROOT/build" "$ROOT"/*.egg-info
WHEEL="$(ls "$WORK"/dist/*.whl)"
echo "   $(basename "$WHEEL")"

echo "== installing it into a new virtualenv"
"$PYTHON" -m venv "$WORK/venv"
# pip refuses extras in a constraints file (psycopg[binary]==...): the pins without them.
sed -e 's/\[[^]]*\]//' "$ROOT/requirements.txt" > "$WORK/constraints.txt"
grep -E '^(pytest|pytest-django)==' "$ROOT/requirements-dev.txt" > "$WORK/test-tools.txt"
"$WORK/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -c "$WORK/constraints.txt" "$WHEEL" -r "$WORK/test-tools.txt"

echo "== the host project's tests, with the installed billing"
cp -r "$ROOT/examples/host_project" "$WORK/host"
rm -f "$WORK/host/db.sqlite3" "$WORK/host/iamport_sandbox.sqlite3"
cd "$WORK/host"  # billing is importable from site-packages only: the test asserts it
"$WORK/venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
