#!/usr/bin/env bash
# Debian packages the lab, the backup tests and the rendering tests (real parsers) need. Idempotent; CI runs it on a fresh machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for part in lab-deps.sh backup-deps.sh render-deps.sh; do
  if [[ -x "$here/$part" ]]; then
    "$here/$part"
  fi
done
