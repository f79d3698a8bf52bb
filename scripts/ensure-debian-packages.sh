#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a downloaded browser). Install it when
# missing and we may (root); otherwise say how.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "note: /usr/bin/chromium is missing; run 'sudo apt-get install chromium' for the browser tests." >&2
fi
