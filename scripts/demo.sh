#!/usr/bin/env bash
# The main job end to end on the local lab:
#   1. plan the lab stack offline and evaluate the policy pack (exit 1 on a mandatory violation)
#   2. boot the lab hosts from the very cloud-init the stack ships (QEMU, host keys pinned); db and
#      recordings back up to a real Swift all-in-one on this machine (started by `lab up`)
#   3. verify the running hosts with the testinfra suite (JUnit + JSON under reports/)
#   4. back them up now: sample rows on db, a sample recording, a differential on each (the timers
#      also run one every 5 minutes)
#   5. DR drill: restore both into scratch targets here, verify sha256 / row counts / checksums,
#      print the RPO/RTO report (exit 1 if a verification fails or RPO > 5 min)
#   6. take the lab down again (always, also on failure)
# Set CCSEC_DEMO_ROLES to choose the hosts (default: db,recordings; e.g. bastion,app,db,recordings).
set -euo pipefail
cd "$(dirname "$0")/.."
ccsec=".venv/bin/ccsec"
roles="${CCSEC_DEMO_ROLES:-db,recordings}"
report="reports/demo-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$report"

echo "== 1/5 ccsec plan --stack lab (offline, mock engine + policy pack)"
"$ccsec" plan --stack lab --format json > "$report/plan.json"
"$ccsec" plan --stack lab | tail -n 1

echo "== 2/5 ccsec lab up --roles $roles"
trap '"$ccsec" lab down' EXIT
"$ccsec" lab up --roles "$roles"
"$ccsec" lab status

echo "== 3/5 ccsec verify --lab"
status=0
"$ccsec" verify --lab --out "$report/verify" || status=$?

if [[ ",$roles," == *",db,"* || ",$roles," == *",recordings,"* ]]; then
  echo "== 4/5 ccsec lab backup --seed"
  "$ccsec" lab backup --seed || status=$?
  echo "== 5/5 ccsec drill --lab"
  "$ccsec" drill --lab --out "$report/drill" || status=$?
else
  echo "== 4-5/5 no db/recordings host: nothing to back up or drill"
fi

echo "== lab down (trap); reports in $report"
exit "$status"
