#!/bin/sh
# Installs the Debian packages vhostd needs to build, test and benchmark; quiet when none is missing.
set -e
PACKAGES="gcc meson ninja-build pkg-config libjansson-dev liburing-dev libaio-dev libcmocka-dev
  qemu-system-x86 qemu-utils busybox-static fio sg3-utils cpio"
missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq $missing >/dev/null
