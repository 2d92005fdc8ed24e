"""While a kiosk cannot hear the fleet, its screen keeps its content and shows at most the header's
discreet stale-data marker ("Données anciennes : réseau"); it goes when the link is back."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from tests.fleet.conftest import kiosk_config, until
from tests.servers.nats import NatsFleet
from wall.engine.fleet.receiver import KioskReceiver
from wall.engine.services import open_store
from wall.shell import kiosk_health
from wall.shell.kiosk_health import LinkMarker
from widgets.hub import Hub


def marker_shows(marker: LinkMarker, hub: Hub) -> list[str]:
    """What the header's stale marker names after a look at the link (its timer's job in `wall run`)."""
    marker.check()
    return hub.stale_sources()


async def test_the_stale_marker_says_network_while_the_fleet_link_is_down(
    tmp_path: Path, broker: NatsFleet, qapp: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kiosk_health, "LINK_MARKER_AFTER_S", 0.3)  # 5 s in the product
    config = kiosk_config(broker, "lyon", tmp_path / "lyon")
    assert config.fleet is not None
    store, hub, changes = open_store(config), Hub(), []
    receiver = KioskReceiver(config.fleet, store, hub, pictures=tmp_path / "p")
    marker = LinkMarker(receiver, hub, "fr", lambda: changes.append(receiver.state.connected))
    receiver.start()
    try:
        await until(lambda: receiver.state.connected, "connected")
        marker.check()
        assert hub.stale_sources() == [] and changes == [True]

        broker.stop()
        await until(lambda: not receiver.state.connected, "the link is down")
        await until(lambda: marker_shows(marker, hub) == ["réseau"], "the marker shows")
        assert changes == [True, False]  # `wall status` was told at once

        broker.start()
        await until(lambda: marker_shows(marker, hub) == [], "the marker goes", 20)
        assert changes[-1] is True
    finally:
        marker.stop()
        await receiver.stop()
        store.close()
