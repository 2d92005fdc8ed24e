"""Alerts kept in the wall's store, with how each delivery went, for the moderation page.

Kept as one small JSON value in the store's `meta` table (the newest `ALERTS_KEPT`), written on
the store thread only: alerts are rare, and a value of its own keeps the store's schema unchanged.
An alert is kept before it is sent, so a target that is down never loses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from wall.core.model import iso
from wall.engine.signals.alerts import Alert
from wall.engine.store import Store

ALERTS_KEPT = 200
META_KEY = "signals_alerts"
PENDING = "pending"


def alert_id(alert: Alert) -> str:
    """One alert's identity: its episode, state and time."""
    return f"{alert.episode}|{alert.state}|{iso(alert.at)}"


@dataclass(frozen=True, slots=True)
class KeptAlert:
    """An alert as stored: itself, and each target's delivery ("pending", "sent", "failed: ...")."""

    alert: Alert
    deliveries: dict[str, str] = field(default_factory=dict)


class AlertJournal:
    """The alerts of the running wall, newest first (call it from the store thread)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, alert: Alert, targets: Sequence[str]) -> None:
        """Keep `alert`, each target's delivery pending."""
        rows = self._rows()
        rows.insert(0, {"alert": alert.to_dict(), "deliveries": dict.fromkeys(targets, PENDING)})
        self.store.set_meta(META_KEY, rows[:ALERTS_KEPT])

    def delivered(self, alert: Alert, target: str, status: str) -> None:
        """Record how the delivery of `alert` to `target` ended."""
        rows = self._rows()
        wanted = alert_id(alert)
        for row in rows:
            if alert_id(Alert.from_dict(row["alert"])) == wanted:
                row["deliveries"][target] = status
                self.store.set_meta(META_KEY, rows)
                return

    def alerts(self, limit: int = ALERTS_KEPT) -> list[KeptAlert]:
        """The kept alerts, newest first."""
        return [
            KeptAlert(Alert.from_dict(row["alert"]), dict(row["deliveries"])) for row in self._rows()[:limit]
        ]

    def _rows(self) -> list[dict[str, Any]]:
        value = self.store.meta(META_KEY)
        return list(value) if isinstance(value, list) else []
