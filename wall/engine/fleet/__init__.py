"""The fleet (issue 16): one headless collector publishes what each site's screens show to NATS
JetStream; kiosks receive it into their own store. The layout (subjects, buckets, who may do what)
is in `layout` and docs/fleet.md; nothing here imports Qt."""
