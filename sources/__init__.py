"""One adapter per network. Adapters share `sources.base` and never import each other."""
