"""Performance measurements (`make bench`): JSON on stdout, never asserted in tests."""
