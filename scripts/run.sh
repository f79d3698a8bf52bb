#!/usr/bin/env bash
# The embedded default: SQLite in var/, tasks in-process, demo data, http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export DEBUG="${DEBUG:-1}"
.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/python manage.py load_demo
echo
echo "Sprintplan: http://127.0.0.1:${PORT:-8000}/  (API docs: /api/docs/, admin: /admin/ as sam)"
exec .venv/bin/python manage.py runserver "127.0.0.1:${PORT:-8000}"
