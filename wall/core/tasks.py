"""Stopping asyncio tasks for good.

On Python 3.11 `asyncio.wait_for` swallows a cancel that arrives as the awaited work ends (fixed in
3.12): a loop around it (the poller's, nats-py's watchers) then runs on, and `task.cancel(); await
task` hangs for ever. Every stop goes through `cancel_until_done`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

STOP_RETRY_S = 1.0  # `cancel_until_done` cancels the tasks again this often until they end


async def cancel_until_done(tasks: Sequence[asyncio.Future[Any]]) -> None:
    """Cancel `tasks` and wait for them to end, cancelling again every `STOP_RETRY_S` (a cancel may be
    lost: see the module doc; nats-py's watchers wait with `asyncio.wait_for` too); their outcomes are
    retrieved, never raised."""
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=STOP_RETRY_S)
    await asyncio.gather(*tasks, return_exceptions=True)
