"""What the tests share: a clock they step by hand, a screen that records what the engine shows, and
factories for posts. Import from here instead of writing another copy in a test module."""
