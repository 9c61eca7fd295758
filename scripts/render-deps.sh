#!/usr/bin/env bash
# Install (idempotently) the real parsers the rendering tests feed every rendered host file to
# (tests/unit/test_render_parsers.py, tests/unit/test_render_hostile.py):
#
#   nftables        nft -c -f / nft -j list ruleset (in a private network namespace)
#   iproute2        ip netns (the private namespace the ruleset is loaded into)
#   openssh-server  sshd -t / sshd -T (effective settings)    openssh-client  ssh-keygen (throwaway host key)
#   rsyslog rsyslog-gnutls rsyslog-relp  rsyslogd -N1 (the forward and the receiver load omrelp/imrelp)
#   chrony          chronyd -p (prints the parsed configuration)
#   sudo            visudo -c -f
#   systemd         systemd-analyze verify (backup agent units)
#   cloud-init      cloud-init schema --config-file (the rendered #cloud-config)
#   nginx           nginx -t (the app role's site)           postgresql-15  postgres -C (db role's conf)
#
# Usage: sudo scripts/render-deps.sh   (safe to run again; apt-get update only when something is missing)
# Package postinst scripts must not start the daemons here: policy-rc.d refuses while installing.
set -euo pipefail

PACKAGES=(nftables iproute2 openssh-server openssh-client rsyslog rsyslog-gnutls rsyslog-relp chrony sudo systemd
          cloud-init nginx postgresql-15)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  SUDO=""
  if [[ ${EUID} -ne 0 ]]; then SUDO="sudo"; fi
  echo "render-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 0755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  trap 'if [[ ${created_policy} == 1 ]]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi' EXIT
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
fi

# Sanity: every parser the tests call must now be where the tests look for it.
for bin in nft ip sshd ssh-keygen rsyslogd chronyd visudo systemd-analyze cloud-init nginx \
           /usr/lib/postgresql/15/bin/postgres; do
  PATH="$PATH:/usr/sbin:/sbin" command -v "$bin" >/dev/null 2>&1 || {
    echo "render-deps: missing $bin after install" >&2
    exit 1
  }
done
echo "render-deps: all rendering parsers present (${PACKAGES[*]})"
