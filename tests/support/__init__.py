"""What the tests share: clocks they step by hand (`clock`), posts built by keyword (`posts`) and a
screen that records what the engine shows (`screen`). Import from here instead of writing another copy
in a test module."""
