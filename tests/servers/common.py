"""What the local test servers (snac2, Synapse) share: waiting for a server to answer, log tails."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path


def wait_until_answering(
    url: str,
    deadline: float,
    process: subprocess.Popen[bytes] | None,
    failed: Callable[[str], Exception],
    *,
    poll: float = 0.02,
) -> None:
    """Return once `url` answers 200; raise `failed(reason)` if the process exits or time runs out."""
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise failed(f"exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(poll)
    raise failed(f"did not answer {url} in time")


def log_tail(path: Path, lines: int) -> str:
    """The last lines of a server's log, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
