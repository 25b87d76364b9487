#!/bin/sh
# Debian's Chromium for the real-browser tests and screenshots (playwright drives it; it downloads no browser).
# Idempotent: does nothing when /usr/bin/chromium is there. Needs root (CI runs as root).
set -eu
[ -x /usr/bin/chromium ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
