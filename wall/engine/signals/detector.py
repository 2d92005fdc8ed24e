"""The weak-signal detector: pure, explainable, no Qt, no I/O (issue 17).

Every signal reads the UTC clock hour in progress (from its start to now) against baselines a person
can check by hand; the count of an hour only grows, so an alert comes the moment it crosses:

- **volume**: posts this hour against the same clock hour on each of the past `baseline_days` days
  (with the hours either side, scaled up when the last 24 hours were busier than an average day)
  *and* against each of the `recent_hours` hours before it. It alerts only above both thresholds and
  at `min_count` posts or more. A threshold is mean + `threshold_sigma` standard deviations, and at
  least the count a Poisson law of that mean passes as rarely (small counts have long tails). Both
  baselines must be beaten: a daily peak beats the night before but not the same hour yesterday,
  and a slow rise beats last week's hour but not the hours before.
- **hidden_share**: the share of this hour's posts hidden by the moderation rules (blocked words,
  blocked authors) against that share over the baseline days (binomial standard deviation), with at
  least `hidden_min_count` hidden posts.
- **tone**: the share of negative English posts (VADER) among this hour's English posts, the same way.
- **watch_word**: a post with a watch word alerts at once (one episode per word). It reads the last
  60 minutes, not the clock hour: a post written at 09:58 and polled at 10:01 still alerts.

An episode raises one alert; it ends, with an "over" message, once its signal has stayed below its
threshold for `cooldown_minutes`; a new breach meanwhile belongs to the same episode.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from wall.core.model import Post, as_utc
from wall.engine.moderation.rules import BLOCKED_AUTHOR, Verdict, fold, word_pattern
from wall.engine.signals.alerts import MAX_EVIDENCE, Alert, AlertState, Evidence, excerpt
from wall.engine.signals.settings import SignalsSettings
from wall.engine.signals.tone import NEGATIVE_BELOW, ToneScorer

HOUR = 3600.0
DAY = 24 * HOUR
_LAST = "\U0010ffff"  # sorts after every post key: (ts, _LAST) is after every entry at ts


@dataclass(frozen=True, slots=True)
class Observation:
    """What the detector keeps of one post: when, whether the rules hid it, its tone and watch words."""

    key: str
    ts: float  # created_at, POSIX seconds
    hidden: bool
    tone: float | None  # VADER compound for English posts, else None
    watch: tuple[str, ...]
    url: str
    author: str
    excerpt: str


@dataclass(frozen=True, slots=True)
class Reading:
    """One signal's figures at one moment, and the posts behind them."""

    signal: str
    detail: str
    breach: bool
    observed: float
    baseline: float
    threshold: float
    start: float  # the window: from the start of the clock hour to the moment read
    evidence: tuple[Evidence, ...] = ()


@dataclass(slots=True)
class _Episode:
    opened: Alert
    quiet_since: float | None = None


@dataclass(slots=True)
class _Timeline:
    """(ts, key) pairs in time order: counts in a window are two bisections."""

    entries: list[tuple[float, str]] = field(default_factory=list)

    def add(self, ts: float, key: str) -> None:
        insort(self.entries, (ts, key))

    def remove(self, ts: float, key: str) -> None:
        index = bisect_right(self.entries, (ts, key)) - 1
        if index >= 0 and self.entries[index] == (ts, key):
            del self.entries[index]

    def count(self, start: float, end: float) -> int:
        """Entries with start < ts <= end."""
        return bisect_right(self.entries, (end, _LAST)) - bisect_right(self.entries, (start, _LAST))

    def keys(self, start: float, end: float) -> list[str]:
        """Keys of the entries with start < ts <= end, oldest first."""
        low = bisect_right(self.entries, (start, _LAST))
        high = bisect_right(self.entries, (end, _LAST))
        return [key for _, key in self.entries[low:high]]

    def drop_before(self, ts: float) -> list[str]:
        """Forget the entries at or before `ts`; returns their keys."""
        cut = bisect_right(self.entries, (ts, _LAST))
        gone = [key for _, key in self.entries[:cut]]
        del self.entries[:cut]
        return gone


def hidden_by_rules(verdict: Verdict | None) -> bool:
    """True when the moderation rules hid a post for what it says or who wrote it (not for
    pre-moderation, a duplicate or a flood cap: those say nothing about trouble)."""
    return (
        verdict is not None
        and not verdict.shown
        and (verdict.reason.startswith("blocked word") or verdict.reason == BLOCKED_AUTHOR)
    )


class Detector:
    """Keeps the recent posts' timelines and turns them into readings and alerts (see the module doc)."""

    def __init__(
        self, settings: SignalsSettings, *, page_url: str = "", scorer: ToneScorer | None = None
    ) -> None:
        self.settings = settings
        self.page_url = page_url or settings.page_url
        self._scorer = scorer if scorer is not None else (ToneScorer() if settings.tone else None)
        self._words = [(word, word_pattern(word)) for word in dict.fromkeys(settings.watch_words)]
        self._posts: dict[str, Observation] = {}
        self._all = _Timeline()
        self._hidden = _Timeline()
        self._english = _Timeline()
        self._negative = _Timeline()
        self._watched: dict[str, _Timeline] = {word: _Timeline() for word, _ in self._words}
        self._start: float | None = None  # the oldest post seen: baselines never reach before it
        self._episodes: dict[str, _Episode] = {}

    # --- what comes in -----------------------------------------------------------------------
    def kinds(self) -> tuple[str, ...]:
        """The kinds of posts watched: public mentions, and internal posts when configured."""
        return ("mention", "internal") if self.settings.include_internal else ("mention",)

    def observe(self, post: Post, verdict: Verdict | None) -> Observation | None:
        """Take in a new or edited post with its moderation verdict; returns what is kept of it
        (None for a kind not watched)."""
        if post.kind not in self.kinds():
            return None
        tone = self._scorer.score(post.text, post.language) if self._scorer is not None else None
        folded = fold(f"{post.spoiler_text}\n{post.text}")
        watch = tuple(word for word, pattern in self._words if pattern.search(folded))
        seen = Observation(
            key=post.key,
            ts=as_utc(post.created_at).timestamp(),
            hidden=hidden_by_rules(verdict),
            tone=tone,
            watch=watch,
            url=post.url,
            author=post.author.handle or post.author.name,
            excerpt=excerpt(post.text),
        )
        self.add(seen)
        return seen

    def add(self, seen: Observation) -> None:
        """Take in an observation as `observe` made it (kept from an earlier run, see
        `wall.engine.signals.observations`); watch words no longer configured are left out."""
        self.forget(seen.key)
        self._posts[seen.key] = seen
        self._all.add(seen.ts, seen.key)
        if seen.hidden:
            self._hidden.add(seen.ts, seen.key)
        if seen.tone is not None:
            self._english.add(seen.ts, seen.key)
            if seen.tone <= NEGATIVE_BELOW:
                self._negative.add(seen.ts, seen.key)
        for word in seen.watch:
            if word in self._watched:
                self._watched[word].add(seen.ts, seen.key)
        self._start = seen.ts if self._start is None else min(self._start, seen.ts)

    def knows(self, key: str) -> bool:
        """True when the post `key` is kept."""
        return key in self._posts

    def forget(self, key: str) -> None:
        """Drop a post (deleted at its source, or about to be replaced by its edit)."""
        old = self._posts.pop(key, None)
        if old is None:
            return
        for timeline in (self._all, self._hidden, self._english, self._negative, *self._watched.values()):
            timeline.remove(old.ts, key)

    def prune(self, now: datetime) -> float:
        """Forget posts older than every baseline needs (a wall runs for months); returns the cut-off
        (POSIX seconds)."""
        keep_after = as_utc(now).timestamp() - (self.settings.baseline_days + 1) * DAY
        for key in self._all.drop_before(keep_after):
            self.forget(key)
        return keep_after

    def hourly(self, now: datetime, hours: int = 7 * 24) -> list[tuple[datetime, int]]:
        """Posts watched in each UTC clock hour of the last `hours` (the current one last), for the
        page's chart."""
        begin = _hour_start(as_utc(now).timestamp())
        starts = [begin - h * HOUR for h in range(hours - 1, -1, -1)]
        return [(datetime.fromtimestamp(t, UTC), self._all.count(t, t + HOUR)) for t in starts]

    def observed_count(self) -> int:
        """How many posts the detector keeps."""
        return len(self._posts)

    # --- what goes out -----------------------------------------------------------------------
    def readings(self, now: datetime) -> list[Reading]:
        """Every signal's figures for the clock hour in progress at `now`, up to `now`."""
        end = as_utc(now).timestamp()
        readings = [self._volume(end), self._share(end, "hidden_share", self._hidden, self._all)]
        if self._scorer is not None:
            readings.append(self._share(end, "tone", self._negative, self._english))
        readings += [self._watch(end, word) for word, _ in self._words]
        return readings

    def evaluate(self, now: datetime) -> list[Alert]:
        """The alerts and "over" messages due at `now` (each episode alerts once)."""
        at = as_utc(now)
        end = at.timestamp()
        cooldown = self.settings.cooldown_minutes * 60
        due: list[Alert] = []
        for reading in self.readings(at):
            episode_key = reading.signal + (f":{reading.detail}" if reading.signal == "watch_word" else "")
            episode = self._episodes.get(episode_key)
            if reading.breach:
                if episode is None:
                    alert = self._alert(reading, "alert", end)
                    self._episodes[episode_key] = _Episode(alert)
                    due.append(alert)
                else:
                    episode.quiet_since = None
            elif episode is not None:
                if episode.quiet_since is None:
                    episode.quiet_since = end
                elif end - episode.quiet_since >= cooldown:
                    del self._episodes[episode_key]
                    due.append(self._alert(reading, "over", end))
        return due

    def resume(self, kept: Iterable[Alert]) -> None:
        """Reopen the episodes a previous run left open, from its alerts newest first (the alert
        journal): an episode whose newest message is an "alert" is still on, so it neither alerts
        again nor loses its "over". When its signal went quiet is not kept, so the cooldown counts
        from the first quiet reading of this run (an "over" may come later, never twice). Episodes
        of signals no longer read (a watch word removed, tone switched off) stay closed."""
        read = set(self.episode_keys())
        decided: set[str] = set()
        for alert in kept:
            if alert.episode in decided:
                continue
            decided.add(alert.episode)
            if alert.state == "alert" and alert.episode in read:
                self._episodes.setdefault(alert.episode, _Episode(alert))

    def episode_keys(self) -> list[str]:
        """The episode of each signal read (`Alert.episode`'s form)."""
        keys = ["volume", "hidden_share"] + (["tone"] if self._scorer is not None else [])
        return keys + [f"watch_word:{word}" for word, _ in self._words]

    def active(self) -> list[Alert]:
        """The alerts whose episode is not over."""
        return [episode.opened for episode in self._episodes.values()]

    # --- the signals -------------------------------------------------------------------------
    def _covered(self, start: float) -> bool:
        return self._start is not None and self._start <= start

    def _volume(self, end: float) -> Reading:
        s = self.settings
        begin = _hour_start(end)
        observed = self._all.count(begin, end)
        # The same clock hour on past days, with the hours either side: three times the samples
        # for a steadier mean, and the slope of a day's rhythm averages out around the hour.
        same_hour = [
            self._all.count(begin - d * DAY + shift, begin - d * DAY + shift + HOUR)
            for d in range(1, s.baseline_days + 1)
            for shift in (-HOUR, 0.0, HOUR)
            if self._covered(begin - d * DAY + shift)
        ]
        recent = [
            self._all.count(begin - h * HOUR, begin - (h - 1) * HOUR) for h in range(1, s.recent_hours + 1)
        ]
        evidence = self._evidence(self._all.keys(begin, end), _weight)
        if len(same_hour) < 6 or not self._covered(begin - s.recent_hours * HOUR):
            # Too little history to tell a crisis from an ordinary day: never alert.
            return Reading("volume", "", False, observed, 0.0, math.inf, begin, evidence)
        # Past days lag behind a growing audience: their hour is scaled by how much busier the
        # last 24 hours were than the average past day (never scaled down).
        days = [
            self._all.count(begin - (d + 1) * DAY, begin - d * DAY)
            for d in range(1, s.baseline_days)
            if self._covered(begin - (d + 1) * DAY)
        ]
        growth = (
            max(1.0, self._all.count(begin - DAY, begin) / max(sum(days) / len(days), 1.0)) if days else 1.0
        )
        same_hour_scaled = [count * growth for count in same_hour]
        bounds = [_bound(same_hour_scaled, s.threshold_sigma), _bound(recent, s.threshold_sigma)]
        baseline, threshold = max(bounds, key=lambda b: b[1])
        breach = observed >= s.min_count and observed > threshold
        return Reading("volume", "", breach, observed, baseline, threshold, begin, evidence)

    def _share(self, end: float, signal: str, part: _Timeline, whole: _Timeline) -> Reading:
        s = self.settings
        begin = _hour_start(end)
        n = whole.count(begin, end)
        k = part.count(begin, end)
        base_start = min(max(begin - s.baseline_days * DAY, self._start or begin), begin)
        n0 = whole.count(base_start, begin)
        k0 = part.count(base_start, begin)
        p0 = k0 / n0 if n0 else 0.0
        # An empty baseline (nothing hidden all week) must not make one hidden post a crisis.
        p = max(p0, 1 / (n0 + 1))
        threshold = p0 + s.threshold_sigma * math.sqrt(p * (1 - p) / max(n, 1))
        observed = k / n if n else 0.0
        minimum = s.hidden_min_count if signal == "hidden_share" else s.tone_min_count
        breach = self._covered(begin - DAY) and k >= minimum and observed > threshold
        if signal == "tone":
            evidence = self._evidence(part.keys(begin, end), lambda o: -(o.tone or 0.0))
        else:
            evidence = self._evidence(part.keys(begin, end), _weight)
        return Reading(signal, f"{k}/{n}", breach, observed, p0, min(threshold, 1.0), begin, evidence)

    def _watch(self, end: float, word: str) -> Reading:
        timeline = self._watched[word]
        begin = end - HOUR  # a rolling hour: a post from just before the hour turned, polled after
        observed = timeline.count(begin, end)
        base_start = min(max(begin - self.settings.baseline_days * DAY, self._start or begin), begin)
        hours = max((begin - base_start) / HOUR, 1.0)
        baseline = timeline.count(base_start, begin) / hours
        evidence = self._evidence(timeline.keys(begin, end), _weight)
        return Reading("watch_word", word, observed >= 1, observed, baseline, 1.0, begin, evidence)

    def _evidence(self, keys: Sequence[str], weight: Callable[[Observation], float]) -> tuple[Evidence, ...]:
        """The posts that weigh most (heaviest first, then newest)."""
        posts = [self._posts[key] for key in keys if key in self._posts]
        posts.sort(key=lambda o: (weight(o), o.ts), reverse=True)
        return tuple(
            Evidence(o.key, o.url, o.author, o.excerpt, datetime.fromtimestamp(o.ts, UTC))
            for o in posts[:MAX_EVIDENCE]
        )

    def _alert(self, reading: Reading, state: AlertState, end: float) -> Alert:
        return Alert(
            signal=reading.signal,
            state=state,
            at=datetime.fromtimestamp(end, UTC),
            observed=float(reading.observed),
            baseline=float(reading.baseline),
            threshold=float(reading.threshold),
            window_start=datetime.fromtimestamp(reading.start, UTC),
            window_end=datetime.fromtimestamp(end, UTC),
            detail=reading.detail,
            evidence=reading.evidence,
            page_url=self.page_url,
        )


def _weight(seen: Observation) -> float:
    """Watch words weigh most, then a negative tone, then being hidden by the rules."""
    tone = -seen.tone if seen.tone is not None and seen.tone < 0 else 0.0
    return 3.0 * len(seen.watch) + tone + (1.0 if seen.hidden else 0.0)


def _hour_start(ts: float) -> float:
    """The start of the UTC clock hour holding `ts` (a post exactly on the hour closes the previous one)."""
    return math.ceil(ts / HOUR) * HOUR - HOUR


def _bound(counts: Sequence[float], sigmas: float) -> tuple[float, float]:
    """(mean, threshold): the higher of mean + `sigmas` standard deviations of a new hour (the
    sample's, widened by sqrt(1 + 1/n) because the mean is itself estimated from n hours) and the
    count a Poisson law of that mean (taken at its upper bound) exceeds no more often than a normal
    law exceeds `sigmas` deviations: small counts have a longer tail than the bell, and 13 posts
    against a mean of 6 is not rare enough to wake anyone."""
    mean = sum(counts) / len(counts)
    variance = sum((c - mean) ** 2 for c in counts) / max(len(counts) - 1, 1)
    sd = max(math.sqrt(variance), 1.0) * math.sqrt(1 + 1 / len(counts))
    # The Poisson mean is the baseline's upper bound: its mean plus `sigmas` standard errors.
    upper = mean + sigmas * math.sqrt(max(mean, 1.0) / len(counts))
    return mean, max(mean + sigmas * sd, _poisson_bound(upper, sigmas))


def _poisson_bound(mean: float, sigmas: float) -> float:
    """The largest count c with P(X >= c) above the normal tail of `sigmas` (X ~ Poisson(mean)):
    a count above it is as rare as `sigmas` deviations."""
    tail = 0.5 * math.erfc(sigmas / math.sqrt(2))
    if mean > 500:  # the bell is a fine approximation there, and the sum below would be long
        return mean + sigmas * math.sqrt(mean)
    lam = max(mean, 1e-9)
    pmf = math.exp(-lam)
    below = 0.0  # P(X < c)
    c = 0
    while 1.0 - below - pmf > tail:  # P(X >= c + 1) still too likely
        below += pmf
        c += 1
        pmf *= lam / c
    return float(c)


def replay(
    posts: Iterable[tuple[Post, Verdict | None]],
    settings: SignalsSettings,
    *,
    since: datetime,
    until: datetime,
    step: timedelta = timedelta(minutes=5),
    page_url: str = "",
    scorer: ToneScorer | None = None,
) -> list[Alert]:
    """The alerts the detector would have raised between `since` and `until`, replaying `posts`
    as they arrived (each post, then every `step`); posts before `since` only fill the baselines."""
    detector = Detector(settings, page_url=page_url, scorer=scorer)
    ordered = sorted(posts, key=lambda pv: (as_utc(pv[0].created_at), pv[0].key))
    start, stop = as_utc(since), as_utc(until)
    alerts: list[Alert] = []
    tick = start
    for post, verdict in ordered:
        at = as_utc(post.created_at)
        if at > stop:
            break
        while tick < at:
            if tick >= start:
                alerts += detector.evaluate(tick)
            tick += step
        detector.observe(post, verdict)
        if at >= start:
            alerts += detector.evaluate(at)
    while tick <= stop:
        alerts += detector.evaluate(tick)
        tick += step
    return alerts
