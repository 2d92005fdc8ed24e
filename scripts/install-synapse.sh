#!/usr/bin/env bash
# Installs Synapse (PyPI matrix-synapse), the real Matrix homeserver the matrix source is tested
# against, in a venv of its own: its pins must never move the app's. Idempotent: does nothing when
# that venv already runs synapse.  Venv path: $WALL_SYNAPSE_VENV, default .venv-synapse in the repo root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${WALL_SYNAPSE_VENV:-$root/.venv-synapse}
python=${PYTHON:-python3}
spec='matrix-synapse>=1.120,<2'

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import synapse' 2>/dev/null \
   && [ -x "$venv/bin/register_new_matrix_user" ]; then
  exit 0
fi

"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "$spec"
"$venv/bin/python" -c 'import synapse.app.homeserver'
echo "install-synapse: $("$venv/bin/python" -c 'import synapse; print("synapse", synapse.__version__)') in $venv"
