"""The wall without Qt: configuration, the sources' wiring, polling, consent, moderation, the
store, counts, trends, pictures and the `Engine` that ties them together and writes to a `Screen`.
A headless process (`wall fetch`, `wall status`, the fleet's collector) runs on this alone."""
