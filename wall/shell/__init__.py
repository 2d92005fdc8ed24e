"""The Qt application around the engine: `runtime` is the composition root (config, engine, hub,
windows, systemd, reloads), with the windows and screens, the GUI-thread garbage collector, the
offscreen snapshots, memory tuning and the moderation page's desk. Only the entry point
(`wall.cli`) imports it."""
