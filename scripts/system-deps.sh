#!/usr/bin/env bash
# Debian packages the lab and the backup tests need. Idempotent; CI runs it on a fresh machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for part in lab-deps.sh backup-deps.sh; do
  if [[ -x "$here/$part" ]]; then
    "$here/$part"
  fi
done
