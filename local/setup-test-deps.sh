#!/usr/bin/env bash
# Prepares what the test tiers need beyond npm packages, exactly as CI does (`npm test` runs it as
# `pretest`; .ci/run relies on that): Ceph RadosGW for the local S3, ClamAV's clamd for the malware
# scan and Debian's Chromium for the console's browser tests. Each script installs only what is
# missing and is quick otherwise.
set -euo pipefail
cd "$(dirname "$0")"
bash ./setup-s3.sh
bash ./setup-clamav.sh
bash ./setup-browser.sh
