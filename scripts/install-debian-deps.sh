#!/usr/bin/env bash
# Installs the Debian packages lobby-wall needs: the Qt runtime libraries, fonts (color emoji
# included), Xvfb, and, for the tests, snac2 (a real Mastodon-API server) from bookworm-backports and
# chromium (the moderation page's browser tests drive it with Playwright; never `playwright install`)
# and nodejs (its npm installs axe-core for the page's accessibility audit: scripts/install-axe.sh),
# nats-server and openssl (the fleet: real JetStream servers, `wall fleet init`'s certificates),
# and, for `make bench` only, ffmpeg (bench/video.py makes its H.264 clips with it).
# ca-certificates: the authorities the wall's HTTPS requests trust (wall/core/outbound.py
# trust_context), kept up to date by Debian's updates for the years a kiosk runs.
# Idempotent: packages already present are not fetched again.  Usage: install-debian-deps.sh [run|test|bench]
set -euo pipefail
what=${1:-run}

runtime=(libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libglib2.0-0 libfontconfig1 libdbus-1-3
         libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
         libxcb-shape0 libxcb-xinerama0 libxcb-xfixes0 libxcb-xkb1 libx11-xcb1
         libwayland-client0 libwayland-cursor0 libwayland-egl1
         fonts-noto-core fonts-noto-color-emoji fonts-dejavu-core xvfb python3-venv ca-certificates)
tests=(snac2 cage chromium nodejs nats-server openssl)  # nats-server: the fleet's tests (issue 16)
bench=(ffmpeg)  # `make bench` only: bench/video.py makes its clips with it

missing=()
want=("${runtime[@]}")
[ "$what" = test ] || [ "$what" = bench ] && want+=("${tests[@]}")
[ "$what" = bench ] && want+=("${bench[@]}")
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
# Debian's nodejs comes without npm (its own package); some nodejs builds include it: ask only if absent.
if { [ "$what" = test ] || [ "$what" = bench ]; } && ! command -v npm >/dev/null; then
  dpkg-query -W -f='${Status}' npm 2>/dev/null | grep -q 'ok installed' || missing+=(npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

# snac2 lives in bookworm-backports: enable that suite on the mirror this machine already uses.
if [[ " ${missing[*]} " == *" snac2 "* ]] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # The first Debian (not security) mirror, from deb822 "URIs:" or one-line "deb [options] URI" entries.
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
           | sed -E 's/\[[^]]*\]//' | awk '($1 == "URIs:" || $1 == "deb") && $2 ~ /^[a-z]+:\/\/.*\/debian\/?$/ {print $2; exit}' || true)
  mirror=${mirror%/}
  if [ -z "$mirror" ]; then
    echo "install-debian-deps: no Debian mirror found in /etc/apt/sources.list*; add a line" >&2
    echo "  deb <your mirror> bookworm-backports main  to /etc/apt/sources.list.d/backports.list" >&2
    exit 1
  fi
  echo "deb $mirror bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/lobby-wall-backports.list >/dev/null
fi

$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
