"""The fleet (issue 16): one headless collector publishes what each site's screens show to NATS
JetStream; kiosks receive it into their own store. The layout (subjects, buckets, who may do what)
is in `layout` and docs/fleet.md; nothing here imports Qt."""

import sys


def load_nats_without_websockets() -> None:
    """Import nats-py without the aiohttp it loads for a WebSocket transport the fleet never uses
    (tls:// only): 8 MB more in every kiosk than standalone (`bench fleet`). Called where a process
    first needs the fleet (a kiosk's start, `wall collect`, `wall proof`), not at this package's
    import: `[fleet]`'s settings are read by every wall, which must not load nats-py at all.
    aiohttp stays importable afterwards for the moderation page."""
    if "nats" in sys.modules or "aiohttp" in sys.modules:
        return
    sys.modules["aiohttp"] = None  # type: ignore[assignment]  # `import aiohttp` raises ImportError
    try:
        import nats.aio.transport  # noqa: F401
    finally:
        del sys.modules["aiohttp"]
