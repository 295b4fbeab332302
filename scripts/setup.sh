#!/usr/bin/env bash
# Install lacl-search and its pinned dependencies into one virtual environment per machine.
#
# The venv lives outside the clone ($LACL_VENV, default ~/.cache/lacl-search/venv), so a fresh clone
# re-uses torch & co. when they are already there at the pinned versions (pip then only checks them).
# Prints nothing but pip's errors; the venv's bin folder is what the other scripts use.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${LACL_VENV:-${LACL_HOME:-$HOME/.cache/lacl-search}/venv}"
PYTHON="${PYTHON:-python3}"

"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 10):
    sys.exit(f"lacl-search needs Python >= 3.10, found {sys.version.split()[0]}")
PY
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating virtual environment $VENV" >&2
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade "pip>=24"
fi
start=$(date +%s)
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -c requirements/constraints.txt -e ".[all]"
echo "python environment ready in $(( $(date +%s) - start )) s: $VENV" >&2
