"""lobby-wall: the application (config, model, store, poller, hub, CLI)."""

__version__ = "0.1.0"
