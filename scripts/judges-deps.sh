#!/usr/bin/env bash
# Fetch testssl.sh 3.2 (the first release that prints an SSL Labs-style overall grade) for `ccsec judge`.
#
# Debian 12 ships testssl.sh 3.0.8, which has no rating. Debian 13 (trixie) ships 3.2.x as an
# architecture-independent bash script, so we download that one package from Debian's own archive
# with a private apt configuration (this machine's sources stay untouched), verify it with the
# Debian archive keyring, and unpack it into the cache: nothing is installed system-wide.
#
#   ~/.cache/ccsec/judges/testssl/usr/bin/testssl        the script
#   ~/.cache/ccsec/judges/testssl/etc/testssl            its data (TESTSSL_INSTALL_DIR)
#
# Usage: scripts/judges-deps.sh   (idempotent; prints the script's path)
set -euo pipefail

CACHE="${CCSEC_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ccsec}/judges"
TARGET="$CACHE/testssl"
if [ -x "$TARGET/usr/bin/testssl" ]; then
  echo "$TARGET/usr/bin/testssl"
  exit 0
fi

APT="$CACHE/apt"
mkdir -p "$APT/lists/partial" "$APT/archives/partial"
cat > "$APT/sources.list" <<SOURCES
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
SOURCES
OPTS=(-o "Dir::Etc::SourceList=$APT/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT" -o "Dir::Cache::archives=$APT/archives"
      -o APT::Sandbox::User=root -o Debug::NoLocking=1)
echo "judges-deps: fetching testssl.sh from Debian trixie" >&2
apt-get "${OPTS[@]}" update >/dev/null
(cd "$APT" && apt-get "${OPTS[@]}" download testssl.sh >/dev/null)
deb=$(ls "$APT"/testssl.sh_*_all.deb | tail -n 1)
rm -rf "$TARGET.tmp" && mkdir -p "$TARGET.tmp"
dpkg-deb -x "$deb" "$TARGET.tmp"
rm -rf "$TARGET" && mv "$TARGET.tmp" "$TARGET"
echo "$TARGET/usr/bin/testssl"
