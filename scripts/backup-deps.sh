#!/usr/bin/env bash
# Install everything the backup agent, its tests and the local all-in-one Swift need,
# from Debian 12 packages only. Idempotent: safe to run again on a machine that has them.
#
#   sudo scripts/backup-deps.sh
#
# Packages: OpenStack Swift (proxy/account/container/object) + memcached for tempauth,
# restic (files engine), pgBackRest + PostgreSQL 15 (database engine), openssl for the
# proxy's self-signed TLS certificate, python3-swiftclient for manual inspection.
set -euo pipefail

PACKAGES=(
  swift swift-proxy swift-account swift-container swift-object
  memcached
  restic
  pgbackrest postgresql-15 postgresql-client-15
  python3-swiftclient
  openssl ca-certificates util-linux procps systemd
  locales
)

if [[ ${EUID} -ne 0 ]]; then
  echo "backup-deps.sh: must run as root (apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update
  # policy-rc.d: don't let package postinst scripts start system-wide services (the
  # all-in-one Swift and the test PostgreSQL clusters are started by the project itself).
  created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  trap 'if [[ ${created_policy} == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
fi

# The lab's db (Debian 12 image) initdb's with en_US.UTF-8: a drill restoring its cluster here needs that locale.
if ! locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then
  sed -i 's/^# *\(en_US\.UTF-8 UTF-8\)/\1/' /etc/locale.gen
  grep -q '^en_US.UTF-8 UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' >> /etc/locale.gen
  locale-gen >/dev/null
fi

# Sanity: every tool the agent and tests call must now be on PATH.
for bin in swift-ring-builder swift-proxy-server memcached restic pgbackrest \
           /usr/lib/postgresql/15/bin/initdb /usr/lib/postgresql/15/bin/pg_ctl openssl flock runuser systemd-analyze; do
  command -v "$bin" >/dev/null 2>&1 || { echo "backup-deps.sh: missing $bin after install" >&2; exit 1; }
done
id swift >/dev/null 2>&1 || { echo "backup-deps.sh: user 'swift' missing (swift package)" >&2; exit 1; }
id postgres >/dev/null 2>&1 || { echo "backup-deps.sh: user 'postgres' missing" >&2; exit 1; }
echo "backup-deps.sh: all backup dependencies present"
