#!/usr/bin/env bash
# Debian packages the tests drive for real: Chromium for the browser tests (never a
# downloaded browser) and nginx for the production router's config
# (deploy/nginx/). Install what is missing when we may (root); otherwise say how.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's ${missing[*]} for the tests..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "note: missing ${missing[*]}; run 'sudo apt-get install ${missing[*]}' for the browser and router tests." >&2
fi
