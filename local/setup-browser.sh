#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing (root on Debian/Ubuntu).
set -euo pipefail
if command -v chromium >/dev/null; then
  exit 0
fi
. /etc/os-release 2>/dev/null || true
if [[ "$(id -u)" != "0" || ! " ${ID:-} ${ID_LIKE:-} " =~ " "(debian|ubuntu)" " ]]; then
  echo "The browser tests need Chromium at /usr/bin/chromium: install the chromium package." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
