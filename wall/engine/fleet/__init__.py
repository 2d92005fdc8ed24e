"""The fleet (issue 16): one headless collector publishes what each site's screens show to NATS
JetStream; kiosks receive it into their own store. The layout (subjects, buckets, who may do what)
is in `layout` and docs/fleet.md; nothing here imports Qt."""

import sys

# nats-py imports aiohttp at once for a WebSocket transport the fleet never uses (tls:// only): 8 MB
# more in every kiosk than standalone (`bench fleet`). Blocking that one import while nats loads
# leaves aiohttp importable afterwards for the moderation page.
if "nats" not in sys.modules and "aiohttp" not in sys.modules:
    sys.modules["aiohttp"] = None  # type: ignore[assignment]  # `import aiohttp` raises ImportError
    try:
        import nats.aio.transport  # noqa: F401
    finally:
        del sys.modules["aiohttp"]
