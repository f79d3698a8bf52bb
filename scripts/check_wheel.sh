#!/usr/bin/env bash
# The production install, checked: build the wheel, install it into a fresh venv outside the
# source tree, then from that install run `check --deploy` and `migrate` against a scratch
# PostgreSQL database (created here, dropped at the end) and collect the static files.
# Catches an app, template or static file missing from the package.
#   scripts/check_wheel.sh postgres://postgres@127.0.0.1:5432/anything
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
pg_url="${1:?usage: scripts/check_wheel.sh POSTGRES_URL}"
server_url="${pg_url%/*}"
scratch_db="sprintplan_wheel_$$"
work=$(mktemp -d /tmp/sprintplan-wheel.XXXXXX)
db_admin() { "$root/.venv/bin/python" - "$server_url/postgres" "$1" <<'PY'
import sys, psycopg2
conn = psycopg2.connect(sys.argv[1], connect_timeout=5)
conn.autocommit = True
conn.cursor().execute(sys.argv[2])
PY
}
cleanup() {
  db_admin "DROP DATABASE IF EXISTS $scratch_db WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "-- building the wheel"
# From a copy of the project's files (tracked and new, not ignored), so no build/ left over
# from an earlier build, and nothing untracked-but-ignored, can slip into the wheel.
mkdir "$work/src"
git ls-files -z --cached --others --exclude-standard | xargs -0 tar --ignore-failed-read -cf - | tar -xf - -C "$work/src"
.venv/bin/python -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$work/src" \
  >"$work/build.log" 2>&1 \
  || { cat "$work/build.log"; exit 1; }
wheel=$(ls "$work"/dist/sprintplan-*.whl)

echo "-- installing $(basename "$wheel") into a fresh venv"
.venv/bin/python -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet -c constraints.txt "$wheel" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log"; exit 1; }

db_admin "CREATE DATABASE $scratch_db"
cd "$work"  # nothing of the checkout on the import path from here on
export DJANGO_SETTINGS_MODULE=sprintplan.settings PYTHONSAFEPATH=1
export SECRET_KEY="wheel-check-$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')"
export REQUIRE_SECRET_KEY=1 DEBUG=0 ALLOWED_HOSTS=sprintplan.example.com
export CSRF_TRUSTED_ORIGINS=https://sprintplan.example.com SECURE_COOKIES=1
export SECURE_SSL_REDIRECT=1 SECURE_HSTS_SECONDS=31536000 SECURE_HSTS_INCLUDE_SUBDOMAINS=1
export SECURE_HSTS_PRELOAD=1
export DATABASE_URL="$server_url/$scratch_db" SPRINTPLAN_VAR_DIR="$work/var"
unset REDIS_URL
sprintplan="$work/venv/bin/sprintplan"
location=$("$work/venv/bin/python" -c 'import sprintplan; print(sprintplan.__file__)')
case "$location" in "$root"/*) echo "error: imported from the checkout: $location" >&2; exit 1;; esac

echo "-- check --deploy (security warnings fail too)"
"$sprintplan" check --deploy
"$sprintplan" check --deploy --tag security --fail-level WARNING
echo "-- migrate"
"$sprintplan" migrate --no-input -v 0
echo "-- collectstatic and a rendered page from the installed templates"
"$sprintplan" collectstatic --no-input -v 0
test -s "$work/var/static/css/app.css"
"$work/venv/bin/python" - <<'PY'
import django
django.setup()
from django.template.loader import get_template
for name in ("base.html", "registration/login.html", "programs/board/pi_board.html"):
    get_template(name)
from django.test import Client
response = Client(HTTP_HOST="sprintplan.example.com").get("/login/", secure=True)
assert response.status_code == 200, response.status_code
assert b"<form" in response.content
print("   templates render from", get_template("base.html").origin.name)
PY
echo "-- wheel install OK"
