#!/usr/bin/env bash
# Install (idempotently) the Debian packages the local QEMU lab needs.
#
#   qemu-system-x86  QEMU (TCG; KVM when /dev/kvm works)
#   qemu-utils       qemu-img (qcow2 base image + per-VM overlays)
#   debootstrap      builds the Debian 12 root filesystem
#   e2fsprogs        mkfs.ext4 -d (disk image without loop mounts)
#   genisoimage      NoCloud seed ISO (volume label "cidata")
#   openssh-client   ssh / ssh-keygen for operators and tests
#   debian-archive-keyring  to verify the bookworm mirror in debootstrap
#   ca-certificates  for https mirrors
#   procps           pgrep (tests)
#   ssh-audit, testssl.sh, lynis, nmap, bsdextrautils  the independent judges (`ccsec judge`)
#
# Usage: sudo scripts/lab-deps.sh   (safe to run again; installs only what is missing)
set -euo pipefail

PKGS=(qemu-system-x86 qemu-utils debootstrap e2fsprogs genisoimage openssh-client procps
      debian-archive-keyring ca-certificates ssh-audit testssl.sh lynis nmap bsdextrautils)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "lab-deps: all present (${PKGS[*]})"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "lab-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
