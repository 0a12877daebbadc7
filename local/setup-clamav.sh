#!/usr/bin/env bash
# Installs ClamAV's daemon (the local runtime's malware scanner) from Debian's packages when it is
# missing. Only as root on Debian or Ubuntu; anywhere else it says what to do instead and fails.
# The runtime starts its own clamd under the data dir (local/clamd.ts): the package's system
# service is never started here, and nothing is downloaded besides the packages.
set -euo pipefail

if command -v clamd >/dev/null || [[ -x /usr/sbin/clamd ]]; then
  exit 0
fi
. /etc/os-release 2>/dev/null || true
if [[ "$(id -u)" != "0" || ! " ${ID:-} ${ID_LIKE:-} " =~ " "(debian|ubuntu)" " ]]; then
  echo "Airlock scans uploads with ClamAV's clamd, and can install it only as root on Debian/Ubuntu." >&2
  echo "Install the package clamav-daemon (it provides /usr/sbin/clamd)." >&2
  exit 1
fi
echo "[airlock] installing ClamAV (clamav-daemon) from Debian packages…" >&2
export DEBIAN_FRONTEND=noninteractive

# The package would start its system clamd (which finds no database offline and fails) and its
# freshclam service. A policy-rc.d that refuses every start holds them back during the install;
# one that is already there (containers have one) is left as it is.
policy=/usr/sbin/policy-rc.d
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\n# Airlock: no service starts while clamav-daemon installs.\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends clamav-daemon >/dev/null

# The system clamd is not Airlock's: keep it from starting at boot (or by socket activation). The
# freshclam service stays as the package set it up: on a connected machine it keeps
# /var/lib/clamav current, and the runtime then scans with that database.
if [[ -d /run/systemd/system ]]; then
  systemctl disable --quiet clamav-daemon.service clamav-daemon.socket 2>/dev/null || true
fi
