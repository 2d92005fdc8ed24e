#!/usr/bin/env bash
# Installs the venv bench/video.py measures a muted video loop in (issue 15): the app's own
# PySide6-Essentials version plus PySide6-Addons of exactly that version (QtMultimedia and its FFmpeg
# backend live there). A venv of its own, so the app's .venv never gets the Addons.
# Idempotent: does nothing when that venv already imports QtMultimedia at that version.
# Usage: install-video-bench.sh [VERSION]  (default: the PySide6-Essentials of $WALL_APP_VENV, i.e. .venv)
# Venv path: $WALL_VIDEO_VENV, default ~/.cache/lobby-wall/video-bench-venv (outside the repo: one
# copy of ~0.5 GB serves every checkout).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${WALL_VIDEO_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/lobby-wall/video-bench-venv}
app_venv=${WALL_APP_VENV:-$root/.venv}
python=${PYTHON:-python3}

version=${1:-}
if [ -z "$version" ]; then
  version=$("$app_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("PySide6-Essentials"))' \
            2>/dev/null || true)
fi
if [ -z "$version" ]; then
  echo "install-video-bench: no PySide6-Essentials in $app_venv: run 'make bench' (it creates .venv)," >&2
  echo "  or pass the version: scripts/install-video-bench.sh 6.11.3" >&2
  exit 1
fi

installed() {
  "$venv/bin/python" - "$version" <<'EOF' 2>/dev/null
import importlib.metadata as m, sys
import PySide6.QtMultimedia  # noqa: F401  (the Addons' module, with its FFmpeg plugin)
want = sys.argv[1]
sys.exit(0 if m.version("PySide6-Essentials") == want == m.version("PySide6-Addons") else 1)
EOF
}

if [ -x "$venv/bin/python" ] && installed; then
  exit 0
fi

mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "PySide6-Essentials==$version" "PySide6-Addons==$version"
installed || { echo "install-video-bench: PySide6.QtMultimedia $version does not import in $venv" >&2; exit 1; }
echo "install-video-bench: PySide6-Essentials and PySide6-Addons $version in $venv"
