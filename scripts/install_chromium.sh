#!/bin/sh
# Debian's Chromium (and a colour emoji font, so screenshots show the console's status badges) for the
# real-browser test and screenshots; playwright drives it and downloads no browser.
# Idempotent: does nothing when both are there. Needs root or sudo (CI runs as root).
set -eu
EMOJI=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
[ -x /usr/bin/chromium ] && [ -f "$EMOJI" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
  chromium fonts-dejavu-core fonts-noto-color-emoji >/dev/null
/usr/bin/chromium --version 2>/dev/null
