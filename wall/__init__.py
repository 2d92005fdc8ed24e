"""lobby-wall: the application (config, model, store, poller, hub, CLI)."""

import sys

__version__ = "0.1.0"

# httpx imports its command-line tool whenever click, rich and pygments are installed (the test and
# lint tools bring them into the same venv, and a kiosk is installed with them): 83 modules and
# ~7 MB of a running wall's memory for a tool it never runs. An entry of None makes that import
# fail the way httpx expects when they are absent (its `httpx.main` then says so).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
