"""What an alert says: the signal, its figures, its window, the posts that weigh most, a link to the page.

An `Alert` is a plain record (JSON in the store, a message for Apprise, a row on the page). Its text is
French, as comms read it; the figures are the detector's, unrounded in the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from wall.core.model import iso, parse_iso

AlertState = Literal["alert", "over"]
SIGNAL_NAMES: dict[str, str] = {
    "volume": "volume de mentions",
    "hidden_share": "part de messages masqués par la modération",
    "tone": "ton négatif (messages en anglais)",
    "watch_word": "mot surveillé",
}
MAX_EVIDENCE = 5
EXCERPT_CHARS = 140


@dataclass(frozen=True, slots=True)
class Evidence:
    """One post that weighs in an alert: where to read it, who wrote it, the start of its text."""

    key: str
    url: str
    author: str
    excerpt: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "key": self.key,
            "url": self.url,
            "author": self.author,
            "excerpt": self.excerpt,
            "at": iso(self.at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        """Inverse of `to_dict`."""
        return cls(data["key"], data["url"], data["author"], data["excerpt"], parse_iso(data["at"]))


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert (or the end of its episode) with its evidence.

    `observed`, `baseline` and `threshold` are posts per hour for volume and watch words, shares
    (0..1) for the hidden share and the tone; `detail` is the watch word, or the fraction seen.
    """

    signal: str
    state: AlertState
    at: datetime
    observed: float
    baseline: float
    threshold: float
    window_start: datetime
    window_end: datetime
    detail: str = ""
    evidence: tuple[Evidence, ...] = ()
    page_url: str = ""

    @property
    def episode(self) -> str:
        """Which episode this belongs to: the signal, and the watch word for watch words."""
        return f"{self.signal}:{self.detail}" if self.signal == "watch_word" else self.signal

    @property
    def is_share(self) -> bool:
        """True when the figures are shares (0..1), not counts."""
        return self.signal in ("hidden_share", "tone")

    def figure(self, value: float) -> str:
        """A figure as a person reads it: "42 %" for a share, "12,5 / h" for a rate."""
        if self.is_share:
            return f"{value * 100:.0f} %"
        return f"{value:.1f}".replace(".", ",").removesuffix(",0") + " / h"

    def title(self) -> str:
        """One line: what happened."""
        name = SIGNAL_NAMES.get(self.signal, self.signal)
        word = f" « {self.detail} »" if self.signal == "watch_word" else ""
        if self.state == "over":
            return f"Fin d'alerte mur : {name}{word} revenu à la normale"
        return f"Alerte mur : {name}{word}"

    def body(self) -> str:
        """The message comms receive: figures, window, the posts that weigh most, the page."""
        lines = [
            f"Signal : {SIGNAL_NAMES.get(self.signal, self.signal)}"
            + (f" « {self.detail} »" if self.signal == "watch_word" else ""),
            f"Observé : {self.figure(self.observed)}"
            + (f" ({self.detail})" if self.is_share and self.detail else ""),
            f"Référence : {self.figure(self.baseline)} ; seuil : {self.figure(self.threshold)}",
            f"Fenêtre : {self.window_start:%d/%m %H:%M} – {self.window_end:%d/%m %H:%M} UTC",
        ]
        if self.evidence:
            lines.append("Messages qui pèsent le plus :")
            for item in self.evidence:
                where = f" {item.url}" if item.url else ""
                lines.append(f"- {item.author} : {item.excerpt}{where}")
        if self.page_url:
            lines.append(f"Page de modération : {self.page_url}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the store, `wall signals --json`)."""
        return {
            "signal": self.signal,
            "state": self.state,
            "at": iso(self.at),
            "observed": self.observed,
            "baseline": self.baseline,
            "threshold": self.threshold,
            "window_start": iso(self.window_start),
            "window_end": iso(self.window_end),
            "detail": self.detail,
            "evidence": [e.to_dict() for e in self.evidence],
            "page_url": self.page_url,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        """Inverse of `to_dict`."""
        return cls(
            signal=data["signal"],
            state=data["state"],
            at=parse_iso(data["at"]),
            observed=float(data["observed"]),
            baseline=float(data["baseline"]),
            threshold=float(data["threshold"]),
            window_start=parse_iso(data["window_start"]),
            window_end=parse_iso(data["window_end"]),
            detail=data.get("detail", ""),
            evidence=tuple(Evidence.from_dict(e) for e in data.get("evidence", [])),
            page_url=data.get("page_url", ""),
        )


def excerpt(text: str) -> str:
    """The start of a post's text on one line, cut at a word."""
    flat = " ".join(text.split())
    if len(flat) <= EXCERPT_CHARS:
        return flat
    return flat[:EXCERPT_CHARS].rsplit(" ", 1)[0] + " …"
