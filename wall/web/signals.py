"""The moderation page's "Signaux" section (issue 17): a week of hourly volume as a small SVG drawn
here on the server (no script, no inline style: the page's CSP), the alerts with their evidence and
how each delivery went, and the button that ends crisis mode. Pure and Qt-free.

Its wording lives here, beside the only HTML that uses it, in the page's two languages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from wall.engine.signals.alerts import SIGNAL_NAMES
from wall.engine.signals.journal import KeptAlert
from wall.engine.signals.watch import SignalsView
from wall.web.queue import QueueView, view_fields
from wall.web.wording import esc as _e
from wall.web.wording import local_time as _when

CHART_WIDTH = 672  # 4 px an hour over 7 days
CHART_HEIGHT = 120
_TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Signaux",
        "off": "La veille des signaux faibles est désactivée ([signals] enabled = false).",
        "chart": "Mentions par heure, 7 derniers jours : {total} en tout, au plus {peak} en une heure",
        "alerts.none": "Aucune alerte.",
        "alert": "Alerte",
        "over": "Fin d'alerte",
        "figures": "Observé {observed}, référence {baseline}, seuil {threshold}",
        "window": "Fenêtre : {start} – {end}",
        "delivery": "Envoi",
        "delivery.none": "aucune destination configurée ([signals] notify)",
        "crisis.active": "Mode crise ACTIF ({mode}) depuis {when}, déclenché par {who} : {why}",
        "crisis.pre_moderation": "les mentions publiques attendent une approbation",
        "crisis.hide_mentions": "le panneau des mentions est retiré du mur",
        "crisis.clear": "Terminer le mode crise",
        "crisis.armed": "En cas d'alerte : {mode}.",
        "crisis.none": 'En cas d\'alerte, le mur ne change rien (on_alert = "none").',
    },
    "en": {
        "title": "Signals",
        "off": "Weak-signal watching is off ([signals] enabled = false).",
        "chart": "Mentions per hour, last 7 days: {total} in all, at most {peak} in one hour",
        "alerts.none": "No alerts.",
        "alert": "Alert",
        "over": "Alert over",
        "figures": "Observed {observed}, baseline {baseline}, threshold {threshold}",
        "window": "Window: {start} – {end}",
        "delivery": "Delivery",
        "delivery.none": "no target configured ([signals] notify)",
        "crisis.active": "Crisis mode ON ({mode}) since {when}, started by {who}: {why}",
        "crisis.pre_moderation": "public mentions wait for approval",
        "crisis.hide_mentions": "the mentions panel is off the wall",
        "crisis.clear": "End crisis mode",
        "crisis.armed": "On an alert: {mode}.",
        "crisis.none": 'On an alert, the wall changes nothing (on_alert = "none").',
    },
}


def _t(key: str, lang: str, **values: str) -> str:
    return _TEXT.get(lang, _TEXT["fr"])[key].format(**values)


def signals_section(
    *, lang: str, zone: ZoneInfo, csrf: str, view: QueueView, signals: SignalsView | None
) -> str:
    """The "Signaux" section of the main page (`signals` None: watching is off)."""
    head = f'<section class="signals" id="signaux"><h2>{_e(_t("title", lang))}</h2>'
    if signals is None:
        return f'{head}<p class="none">{_e(_t("off", lang))}</p></section>'
    return (
        head
        + _crisis(signals, lang, zone, csrf, view)
        + volume_chart(signals.hourly, lang, zone)
        + _alerts(signals.alerts, lang, zone)
        + "</section>"
    )


def volume_chart(hourly: Sequence[tuple[datetime, int]], lang: str, zone: ZoneInfo) -> str:
    """An SVG bar chart of the hourly counts (oldest first), a line at each local midnight."""
    peak = max((count for _, count in hourly), default=0)
    total = sum(count for _, count in hourly)
    label = _t("chart", lang, total=str(total), peak=str(peak))
    step = CHART_WIDTH / max(len(hourly), 1)
    bars, days = [], []
    for index, (at, count) in enumerate(hourly):
        x = index * step
        local = at.astimezone(zone)
        if local.hour == 0:
            days.append(
                f'<line class="day" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{CHART_HEIGHT}"></line>'
                f'<text class="day" x="{x + 2:.1f}" y="12">{_e(local.strftime("%d/%m"))}</text>'
            )
        if count:
            height = (CHART_HEIGHT - 16) * count / peak
            bars.append(
                f'<rect class="bar" x="{x:.1f}" y="{CHART_HEIGHT - height:.1f}" '
                f'width="{max(step - 1, 1):.1f}" height="{height:.1f}"></rect>'
            )
    return (
        f'<figure class="volume"><svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-labelledby="volume-title" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" '
        f'width="{CHART_WIDTH}" height="{CHART_HEIGHT}"><title id="volume-title">{_e(label)}</title>'
        f"{''.join(days)}{''.join(bars)}</svg><figcaption>{_e(label)}</figcaption></figure>"
    )


def _crisis(signals: SignalsView, lang: str, zone: ZoneInfo, csrf: str, view: QueueView) -> str:
    crisis = signals.crisis
    if crisis is None:
        armed = (
            _t("crisis.armed", lang, mode=_t(f"crisis.{signals.on_alert}", lang))
            if signals.on_alert != "none"
            else _t("crisis.none", lang)
        )
        return f'<p class="crisis-armed">{_e(armed)}</p>'
    mode = (
        _t(f"crisis.{crisis.mode}", lang)
        if crisis.mode in ("pre_moderation", "hide_mentions")
        else crisis.mode
    )
    said = _e(_t("crisis.active", lang, mode=mode, when=_when(crisis.at, lang, zone), who="\x00", why="\x01"))
    said = said.replace("\x00", f"<bdi>{_e(crisis.who)}</bdi>").replace(
        "\x01", f"<bdi>{_e(crisis.detail)}</bdi>"
    )
    return (
        f'<div class="crisis-active" role="status"><p>{said}</p>'
        f'<form method="post" action="/crisis"><input type="hidden" name="csrf" value="{_e(csrf)}">'
        f"{view_fields(view)}"
        f'<button type="submit" class="release">{_e(_t("crisis.clear", lang))}</button></form></div>'
    )


def _alerts(alerts: Sequence[KeptAlert], lang: str, zone: ZoneInfo) -> str:
    if not alerts:
        return f'<p class="none">{_e(_t("alerts.none", lang))}</p>'
    return '<ul class="alert-list">' + "".join(_alert(k, lang, zone) for k in alerts) + "</ul>"


def _alert(kept: KeptAlert, lang: str, zone: ZoneInfo) -> str:
    alert = kept.alert
    name = SIGNAL_NAMES.get(alert.signal, alert.signal)
    word = f" « {alert.detail} »" if alert.signal == "watch_word" else ""
    kind = _t("over" if alert.state == "over" else "alert", lang)
    figures = _t(
        "figures",
        lang,
        observed=alert.figure(alert.observed),
        baseline=alert.figure(alert.baseline),
        threshold=alert.figure(alert.threshold),
    )
    window = _t(
        "window", lang, start=_when(alert.window_start, lang, zone), end=_when(alert.window_end, lang, zone)
    )
    evidence = "".join(
        f'<li><span class="author"><bdi>{_e(e.author)}</bdi></span> : <bdi dir="auto">{_e(e.excerpt)}</bdi>'
        + (f' <a href="{_e(e.url)}" rel="noreferrer noopener">{_e(e.url)}</a>' if _is_web(e.url) else "")
        + "</li>"
        for e in alert.evidence
    )
    deliveries = (
        ", ".join(f"{_e(target)} : {_e(status)}" for target, status in kept.deliveries.items())
        if kept.deliveries
        else _e(_t("delivery.none", lang))
    )
    return (
        f'<li class="signal-alert {"over" if alert.state == "over" else "alert"}">'
        f'<p class="meta">{_e(_when(alert.at, lang, zone))} · <strong>{_e(kind)}</strong> : '
        f'{_e(name)}<bdi>{_e(word)}</bdi></p><p>{_e(figures)}</p><p class="meta">{_e(window)}</p>'
        + (f'<ul class="evidence">{evidence}</ul>' if evidence else "")
        + f'<p class="meta">{_e(_t("delivery", lang))} : {deliveries}</p></li>'
    )


def _is_web(url: str) -> bool:
    """Only http(s) links are made clickable (a post's URL comes from the outside world)."""
    return url.startswith(("https://", "http://"))
