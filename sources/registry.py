"""Which adapter reads which `type` of `[[sources]]` entry.

Adding a network: write `sources/<network>.py` with a settings class (subclass of
`SourceSettings`) and a source class, then add one line to `_WHERE`.

An adapter's module is imported the first time its type is named: a wall with one RSS feed does not
carry fifteen other networks' parsers (about 6.7 MB), and a fleet kiosk, which polls nothing,
carries none (issue 16: a kiosk must weigh no more than a standalone wall).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from sources.contract import SourceSettings

if TYPE_CHECKING:  # the HTTP stack comes with the first adapter, never with the config
    from sources.base import HttpFetcher, PictureSource


@dataclass(frozen=True, slots=True)
class Adapter:
    """A source type: its settings model and the class that polls it."""

    settings: type[SourceSettings]
    # The class, called with (settings, http). Its own settings class narrows the first parameter, so
    # only the result is typed: tests/sources/test_base.py checks every adapter's class.
    source: Callable[..., PictureSource]


# type -> (module, settings class, source class)
_WHERE: dict[str, tuple[str, str, str]] = {
    "demo": ("sources.demo", "DemoSettings", "DemoSource"),
    "rss": ("sources.rss", "RssSettings", "RssSource"),
    "mastodon": ("sources.mastodon", "MastodonSettings", "MastodonSource"),
    "youtube": ("sources.youtube", "YouTubeSettings", "YouTubeSource"),
    "facebook": ("sources.facebook", "FacebookSettings", "FacebookSource"),
    "bluesky": ("sources.bluesky", "BlueskySettings", "BlueskySource"),
    "instagram": ("sources.instagram", "InstagramSettings", "InstagramSource"),
    "linkedin": ("sources.linkedin", "LinkedInSettings", "LinkedInSource"),
    "x": ("sources.x", "XSettings", "XSource"),
    "teams": ("sources.teams", "TeamsSettings", "TeamsSource"),
    "vivaengage": ("sources.vivaengage", "VivaEngageSettings", "VivaEngageSource"),
    "discourse": ("sources.discourse", "DiscourseSettings", "DiscourseSource"),
    "humhub": ("sources.humhub", "HumHubSettings", "HumHubSource"),
    "matrix": ("sources.matrix", "MatrixSettings", "MatrixSource"),
    "mattermost": ("sources.mattermost", "MattermostSettings", "MattermostSource"),
    "slack": ("sources.slack", "SlackSettings", "SlackSource"),
}


@cache
def _import_adapter(kind: str) -> Adapter:
    module_name, settings_name, source_name = _WHERE[kind]
    from sources.base import SourceBase

    module = importlib.import_module(module_name)
    settings, source = getattr(module, settings_name), getattr(module, source_name)
    if not (issubclass(settings, SourceSettings) and issubclass(source, SourceBase)):
        raise TypeError(f"{module_name}: {settings_name} or {source_name} is not an adapter's class")
    return Adapter(settings, source)


class _Adapters(Mapping[str, Adapter]):
    """Every type by name; an adapter's module is imported when its type is first looked up."""

    def __getitem__(self, kind: str) -> Adapter:
        return _import_adapter(kind)

    def __contains__(self, kind: object) -> bool:
        return kind in _WHERE

    def __iter__(self) -> Iterator[str]:
        return iter(_WHERE)

    def __len__(self) -> int:
        return len(_WHERE)


ADAPTERS: Mapping[str, Adapter] = _Adapters()


def build_source(settings: SourceSettings, http: HttpFetcher) -> PictureSource:
    """The adapter instance for one validated `[[sources]]` entry."""
    return ADAPTERS[settings.type].source(settings, http)
