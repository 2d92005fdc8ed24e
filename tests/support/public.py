"""A loopback address standing in for a host on the internet, and the policy that lets it.

Tests never leave the machine: 127.0.0.2 plays a public server, and `POLICY` is the wall's outbound
policy with that one address counted as public (as `AddressPolicy(also_public=...)` allows benches
and tests to do). Every other loopback or private address stays refused.
"""

from __future__ import annotations

from wall.core.outbound import AddressPolicy

PUBLIC_STAND_IN = "127.0.0.2"
POLICY = AddressPolicy(also_public=[f"{PUBLIC_STAND_IN}/32"])
