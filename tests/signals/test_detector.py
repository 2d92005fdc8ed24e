"""The weak-signal detector on synthetic weeks: a spike alerts once at its hour, quiet days and a
slow rise never alert, hidden posts and watch words alert, negative English posts alert, the demo's
week raises nothing; each episode ends with one "over" message."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sources.demo import DemoSettings, DemoSource
from tests.signals.weeks import DAYS, HIDDEN, SHOWN, START, Judged, burst, office_rate, post, week
from wall.engine.moderation.rules import ModerationSettings, Moderator
from wall.engine.signals.detector import Detector, replay
from wall.engine.signals.settings import SignalsSettings

END = START + timedelta(days=DAYS)
SPIKE_DAY, SPIKE_HOUR = 5, 14  # Saturday 14:00 UTC


def alerts_of(posts: list[Judged], **settings: object) -> list[tuple[str, str, datetime]]:
    found = replay(posts, SignalsSettings.model_validate(settings), since=START, until=END)
    return [(a.signal, a.state, a.at) for a in found]


def quiet(day: int, hour: int) -> float:
    return office_rate(hour)


def test_a_spike_alerts_once_at_its_hour_and_the_quiet_days_never() -> None:
    spike = burst(SPIKE_DAY, SPIKE_HOUR, 60, "Rappel produit ? Les freins lâchent", SHOWN, 100_000)
    posts = week(quiet, extra=lambda d, h: spike if (d, h) == (SPIKE_DAY, SPIKE_HOUR) else [])

    found = replay(posts, SignalsSettings(), since=START, until=END)

    alerts = [a for a in found if a.state == "alert"]
    assert [(a.signal, a.at.date(), a.at.hour) for a in alerts] == [
        ("volume", (START + timedelta(days=SPIKE_DAY)).date(), SPIKE_HOUR)
    ]
    alert = alerts[0]
    assert alert.observed > alert.threshold > alert.baseline
    assert 3 <= len(alert.evidence) <= 5
    assert all(e.url.startswith("https://social.example/") for e in alert.evidence)
    assert "freins" in alert.body() and "Seuil" not in alert.title()
    # The episode ends once, after the spike left the rolling hour and the cooldown passed.
    overs = [a for a in found if a.state == "over"]
    assert [a.signal for a in overs] == ["volume"]
    assert alert.at < overs[0].at < alert.at + timedelta(hours=3)


def test_the_quiet_week_alone_raises_nothing() -> None:
    assert alerts_of(week(quiet)) == []


def test_a_slow_rise_over_the_week_does_not_alert() -> None:
    # From about 3 to about 24 mentions an hour in office hours, growing a little every hour.
    def rising(day: int, hour: int) -> float:
        return office_rate(hour) * (1 + 2.0 * (day * 24 + hour) / (DAYS * 24))

    assert alerts_of(week(rising)) == []


def test_a_spike_of_hidden_posts_alerts_on_the_hidden_share() -> None:
    hidden = burst(4, 10, 12, "Arnaque totale, boycott", HIDDEN, 200_000)
    posts = week(quiet, extra=lambda d, h: hidden if (d, h) == (4, 10) else [])

    found = [(s, at.day, at.hour) for s, st, at in alerts_of(posts) if st == "alert"]

    assert ("hidden_share", 6, 10) in found
    assert [f for f in found if f[0] == "hidden_share"] == [("hidden_share", 6, 10)]


def test_a_watch_word_alerts_at_once_with_its_post() -> None:
    detector = Detector(SignalsSettings(watch_words=["grève", "rappel"]), scorer=None)
    for number, (judged, _) in enumerate(week(quiet)[:50]):
        detector.observe(judged, SHOWN)
        assert detector.evaluate(judged.created_at) == [], number
    at = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)
    detector.observe(post(9, at, "La GR3VE commence demain à l'usine"), SHOWN)

    alerts = detector.evaluate(at)

    assert [(a.signal, a.detail, a.state, a.at) for a in alerts] == [("watch_word", "grève", "alert", at)]
    assert alerts[0].evidence[0].url == "https://social.example/@p9/9"
    # Whole words only, as the moderation's matching: "rappelons" and "trappeur" are innocent.
    detector.observe(post(10, at, "Rappelons le trappeur demain"), SHOWN)
    assert detector.evaluate(at + timedelta(minutes=1)) == []


def test_a_watch_word_written_before_the_hour_turned_and_polled_after_still_alerts() -> None:
    detector = Detector(SignalsSettings(watch_words=["rappel"], cooldown_minutes=30), scorer=None)
    written = datetime(2026, 11, 2, 9, 58, tzinfo=UTC)
    polled = datetime(2026, 11, 2, 10, 1, tzinfo=UTC)
    detector.observe(post(11, written, "Rappel massif des freins"), SHOWN)

    alerts = detector.evaluate(polled)

    assert [(a.signal, a.detail, a.state) for a in alerts] == [("watch_word", "rappel", "alert")]
    # Once the post is an hour old and the cooldown has passed, the episode is over.
    assert detector.evaluate(written + timedelta(minutes=61)) == []
    over = detector.evaluate(written + timedelta(minutes=92))
    assert [(a.detail, a.state) for a in over] == [("rappel", "over")]


def test_negative_english_posts_alert_on_tone_and_french_ones_are_never_scored() -> None:
    angry: list[Judged] = [
        (post(300_000 + i, START + timedelta(days=3, hours=15, minutes=2 * i), text, language="en"), SHOWN)
        for i, text in enumerate(
            ["This is a terrible scam, I hate it", "Worst service ever, awful and rude staff"] * 4
        )
    ]
    english: list[Judged] = [
        (post(400_000 + i, START + timedelta(hours=3 * i), "Nice visit, good coffee", language="en"), SHOWN)
        for i in range(50)
    ]
    french: list[Judged] = [
        (
            post(
                500_000 + i,
                START + timedelta(days=5, hours=9, minutes=i),
                "C'est une honte, nul",
                language="fr",
            ),
            SHOWN,
        )
        for i in range(8)
    ]
    posts = week(quiet, extra=lambda d, h: angry if (d, h) == (3, 15) else []) + english + french

    found = [(s, st, at.day, at.hour) for s, st, at in alerts_of(posts) if st == "alert" and s == "tone"]

    assert found == [("tone", "alert", 5, 15)]


def test_internal_posts_count_only_when_configured() -> None:
    spike: list[Judged] = [
        (
            post(
                600_000 + i,
                START + timedelta(days=5, hours=11, minutes=i),
                "Réorganisation ?",
                kind="internal",
            ),
            SHOWN,
        )
        for i in range(50)
    ]
    posts = week(quiet, extra=lambda d, h: spike if (d, h) == (5, 11) else [])

    assert alerts_of(posts) == []
    assert [s for s, st, _ in alerts_of(posts, include_internal=True) if st == "alert"] == ["volume"]


def test_the_demo_week_raises_no_false_alert() -> None:
    """The demo has no week of posts (one post a poll): the test makes one by polling it through a
    stepped clock, at a pace that follows office hours, and judges each post with the default rules."""
    demo = DemoSource(DemoSettings(name="demo"), clock=lambda: now)
    moderator = Moderator(ModerationSettings())
    posts: list[Judged] = []
    now = START
    while now < END:
        batch = asyncio.run(demo.poll())
        verdicts = moderator.judge_many(batch.posts, now=now)
        posts += [(p, verdicts[p.key]) for p in batch.posts if p.kind in ("mention", "internal")]
        now += timedelta(minutes=60 / office_rate(now.hour))

    found = replay(
        posts,
        SignalsSettings(
            include_internal=True, watch_words=["grève", "rappel", "boycott", "accident", "arnaque"]
        ),
        since=START,
        until=END,
    )

    assert len(posts) > 500
    assert found == []
