#!/usr/bin/env bash
# Install lacl-search for this checkout: third-party packages in one shared environment per machine,
# this checkout's own code in its own .venv.
#
# - $LACL_VENV (default ~/.cache/lacl-search/venv) holds the pinned third-party packages only (torch &
#   co. are installed once per machine; pip only checks them on later runs). No project code is in it.
# - <checkout>/.venv is created without packages of its own: a .pth file layers the shared environment
#   under it, and the project is installed there in editable mode. Each checkout therefore runs its own
#   code, whatever other clones on the machine installed (tests/test_layout.py checks it).
# Prints the checkout's venv on stdout; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"
DEPS="${LACL_VENV:-${LACL_HOME:-$HOME/.cache/lacl-search}/venv}"
VENV="$REPO/.venv"
PYTHON="${PYTHON:-python3}"

"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 10):
    sys.exit(f"lacl-search needs Python >= 3.10, found {sys.version.split()[0]}")
PY
if [ ! -x "$DEPS/bin/python" ]; then
  echo "creating the shared dependency environment $DEPS" >&2
  "$PYTHON" -m venv "$DEPS"
  "$DEPS/bin/python" -m pip install -q --upgrade "pip>=24"
fi
start=$(date +%s)
# An editable lacl-search left in the shared environment by an older layout would serve one clone's
# code to every other: remove it.
if "$DEPS/bin/python" -m pip show -q lacl-search >/dev/null 2>&1; then
  "$DEPS/bin/python" -m pip uninstall -q -y lacl-search >&2
fi
"$DEPS/bin/python" scripts/requirements.py > "$DEPS/.lacl-requirements.txt" 2>/dev/null \
  || { "$DEPS/bin/python" -m pip install -q tomli && "$DEPS/bin/python" scripts/requirements.py > "$DEPS/.lacl-requirements.txt"; }
"$DEPS/bin/python" -m pip install -q --disable-pip-version-check -c requirements/constraints.txt \
  -r "$DEPS/.lacl-requirements.txt" >&2

if [ ! -x "$VENV/bin/python" ]; then
  "$DEPS/bin/python" -m venv --without-pip "$VENV"
fi
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
DEPS_SITE=$("$DEPS/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
echo "import site; site.addsitedir('$DEPS_SITE')" > "$SITE/lacl-shared-deps.pth"
stamp="$(sha256sum pyproject.toml | cut -c1-16) $REPO"
if [ "$(cat "$VENV/.lacl-installed" 2>/dev/null)" != "$stamp" ]; then
  "$DEPS/bin/python" -m pip --python "$VENV/bin/python" install -q --disable-pip-version-check --no-deps \
    -e . >&2
  echo "$stamp" > "$VENV/.lacl-installed"
fi
echo "python environment ready in $(( $(date +%s) - start )) s: $VENV (packages from $DEPS)" >&2
echo "$VENV"
