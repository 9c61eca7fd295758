#!/usr/bin/env bash
# The main job end to end: plan the dev stack offline and evaluate the policy pack.
set -euo pipefail
cd "$(dirname "$0")/.."
ccsec=".venv/bin/ccsec"
echo "== ccsec plan --stack dev (offline, mock engine)"
"$ccsec" plan --stack dev
