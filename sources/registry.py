"""Which adapter reads which `type` of `[[sources]]` entry.

Adding a network: write `sources/<network>.py` with a settings class (subclass of
`SourceSettings`) and a source class, then add one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sources import (
    bluesky,
    demo,
    discourse,
    facebook,
    humhub,
    instagram,
    linkedin,
    mastodon,
    matrix,
    mattermost,
    rss,
    slack,
    teams,
    vivaengage,
    x,
    youtube,
)
from sources.base import HttpFetcher, PictureSource, SourceSettings


@dataclass(frozen=True, slots=True)
class Adapter:
    """A source type: its settings model and the class that polls it."""

    settings: type[SourceSettings]
    # The class, called with (settings, http). Its own settings class narrows the first parameter, so
    # only the result is typed: mypy checks that every adapter satisfies the protocols.
    source: Callable[..., PictureSource]


ADAPTERS: dict[str, Adapter] = {
    "demo": Adapter(demo.DemoSettings, demo.DemoSource),
    "rss": Adapter(rss.RssSettings, rss.RssSource),
    "mastodon": Adapter(mastodon.MastodonSettings, mastodon.MastodonSource),
    "youtube": Adapter(youtube.YouTubeSettings, youtube.YouTubeSource),
    "facebook": Adapter(facebook.FacebookSettings, facebook.FacebookSource),
    "bluesky": Adapter(bluesky.BlueskySettings, bluesky.BlueskySource),
    "instagram": Adapter(instagram.InstagramSettings, instagram.InstagramSource),
    "linkedin": Adapter(linkedin.LinkedInSettings, linkedin.LinkedInSource),
    "x": Adapter(x.XSettings, x.XSource),
    "teams": Adapter(teams.TeamsSettings, teams.TeamsSource),
    "vivaengage": Adapter(vivaengage.VivaEngageSettings, vivaengage.VivaEngageSource),
    "discourse": Adapter(discourse.DiscourseSettings, discourse.DiscourseSource),
    "humhub": Adapter(humhub.HumHubSettings, humhub.HumHubSource),
    "matrix": Adapter(matrix.MatrixSettings, matrix.MatrixSource),
    "mattermost": Adapter(mattermost.MattermostSettings, mattermost.MattermostSource),
    "slack": Adapter(slack.SlackSettings, slack.SlackSource),
}


def build_source(settings: SourceSettings, http: HttpFetcher) -> PictureSource:
    """The adapter instance for one validated `[[sources]]` entry."""
    return ADAPTERS[settings.type].source(settings, http)
