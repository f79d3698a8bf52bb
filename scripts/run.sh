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
# An ASGI server, as in production: each open sprint page or board holds a live stream
# (runserver is WSGI and cannot). Open streams end within 3 s of Ctrl-C.
exec .venv/bin/uvicorn sprintplan.asgi:application --host 127.0.0.1 --port "${PORT:-8000}" \
  --timeout-graceful-shutdown 3 --no-server-header --lifespan off
