#!/usr/bin/env bash
# The main job end to end on the local lab:
#   1. plan the lab stack offline and evaluate the policy pack (exit 1 on a mandatory violation)
#   2. boot the lab hosts from the very cloud-init the stack ships (QEMU, host keys pinned)
#   3. verify the running hosts with the testinfra suite (JUnit + JSON under reports/)
#   4. take the lab down again (always, also on failure)
# Set CCSEC_DEMO_ROLES to choose the hosts (default: bastion,app).
set -euo pipefail
cd "$(dirname "$0")/.."
ccsec=".venv/bin/ccsec"
roles="${CCSEC_DEMO_ROLES:-bastion,app}"
report="reports/demo-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$report"

echo "== 1/4 ccsec plan --stack lab (offline, mock engine + policy pack)"
"$ccsec" plan --stack lab --format json > "$report/plan.json"
"$ccsec" plan --stack lab | tail -n 1

echo "== 2/4 ccsec lab up --roles $roles"
trap '"$ccsec" lab down' EXIT
"$ccsec" lab up --roles "$roles"
"$ccsec" lab status

echo "== 3/4 ccsec verify --lab"
status=0
"$ccsec" verify --lab --out "$report/verify" || status=$?

echo "== 4/4 lab down (trap); reports in $report"
exit "$status"
