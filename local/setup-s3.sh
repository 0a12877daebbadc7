#!/usr/bin/env bash
# Installs Ceph RadosGW (the local runtime's S3) from Debian's packages when it is missing.
# Only as root on Debian or Ubuntu; anywhere else it says what to do instead, once, and fails.
set -euo pipefail

if [[ -n "${AIRLOCK_S3_ENDPOINT:-}" ]]; then
  exit 0 # another S3-compatible server was named: nothing to install
fi
if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null; then
  exit 0
fi
. /etc/os-release 2>/dev/null || true
if [[ "$(id -u)" != "0" || ! " ${ID:-} ${ID_LIKE:-} " =~ " "(debian|ubuntu)" " ]]; then
  echo "Airlock needs Ceph RadosGW as its local S3, and can install it only as root on Debian/Ubuntu." >&2
  echo "Install the packages radosgw, ceph-mon and ceph-osd, or set AIRLOCK_S3_ENDPOINT (with" >&2
  echo "AIRLOCK_S3_ACCESS_KEY_ID and AIRLOCK_S3_SECRET_ACCESS_KEY) to any S3-compatible server." >&2
  exit 1
fi
echo "[airlock] installing Ceph RadosGW from Debian packages (about 30 s)…" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends radosgw ceph-mon ceph-osd ceph-common >/dev/null
