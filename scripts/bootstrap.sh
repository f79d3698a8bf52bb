#!/usr/bin/env bash
# Create .venv with Python >= 3.12 and install the pinned dependencies. Re-runs are cheap:
# nothing is reinstalled unless pyproject.toml or constraints.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."

is_suitable() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }

find_python() {
  local wanted candidates=()
  wanted=$(cat .python-version 2>/dev/null || true)
  [ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
  if command -v pyenv >/dev/null 2>&1; then
    local root; root=$(pyenv root)
    [ -n "$wanted" ] && candidates+=("$root/versions/$wanted/bin/python")
    for dir in "$root"/versions/3.1[3-9]* "$root"/versions/3.12*; do candidates+=("$dir/bin/python"); done
  fi
  candidates+=(python3.14 python3.13 python3.12 python3)
  for candidate in "${candidates[@]}"; do
    if command -v "$candidate" >/dev/null 2>&1 && is_suitable "$candidate"; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ] || ! is_suitable .venv/bin/python; then
  python=$(find_python) || {
    echo "error: Sprintplan needs Python 3.12 or newer, and none was found." >&2
    echo "       Install one (e.g. 'pyenv install 3.12') or set PYTHON=/path/to/python3.12." >&2
    exit 1
  }
  echo "Creating .venv with $python ($("$python" --version))"
  rm -rf .venv
  "$python" -m venv .venv
fi

stamp=.venv/.sprintplan-installed
wanted=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "Installing dependencies (pinned by constraints.txt)..."
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
  echo "$wanted" > "$stamp"
fi
