"""The public mentions panel: what people say about the brand on social networks.

With `replay = true` in its `[[panels]]` entry, the panel replays the best recent posts in quiet hours
(issue 15, `wall.engine.replay`): a turn is taken each time the panel leaves the screen, or when the
rotator keeps it for another round, so the cards never change under the rotator's pictures of them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol, runtime_checkable

from PySide6.QtGui import QHideEvent

from wall.core.model import Post
from wall.engine.replay import ReplayTurns
from widgets.posts import PostsPanel
from widgets.settings import PanelLook


@runtime_checkable
class ReplayLook(PanelLook, Protocol):
    """A `mentions` panel entry's quiet hours (`wall.engine.panel_settings.PanelSettings`); a panel
    entry without these keys (a test double) never replays."""

    @property
    def replay(self) -> bool: ...

    @property
    def replay_after(self) -> timedelta: ...

    @property
    def replay_days(self) -> float: ...


class MentionsPanel(PostsPanel):
    """Public posts mentioning the brand (`kind = "mention"`), on neutral cards with each network's mark."""

    kind = "mention"
    internal = False
    _replay: ReplayTurns | None = None  # made at the first refresh, which the base class runs

    def replay_turns(self) -> ReplayTurns | None:
        """The panel's quiet hours replay (None when its entry does not ask for one)."""
        if self._replay is None and isinstance(self.settings, ReplayLook) and self.settings.replay:
            self._replay = ReplayTurns(self.settings.replay_after, self.settings.replay_days)
        return self._replay

    def choose(self, posts: list[Post]) -> tuple[list[Post], bool]:
        """The newest posts, or in quiet hours the replayed ones (a new post ends that at once)."""
        replay = self.replay_turns()
        if replay is None:
            return super().choose(posts)
        cards = replay.cards(posts, self._pool(), self.settings.limit, self.context.clock())
        return cards.posts, cards.new_post_ended_replay

    def next_replay_turn(self) -> None:
        """A turn boundary: start, go on with or stop the replay, as the quiet time says."""
        replay = self.replay_turns()
        if replay is None:
            return
        posts = self.filter_sources(self.context.hub.posts(self.kind), lambda post: post.source)
        replay.next_turn(posts, self._pool(), self.settings.limit, self.context.clock())
        self.refresh()

    def shown_again(self) -> None:
        """Kept on screen for another round: the next replayed posts, when quiet."""
        super().shown_again()
        self.next_replay_turn()

    def hideEvent(self, event: QHideEvent) -> None:
        """Off screen: the next replayed posts are ready before the rotator takes its picture."""
        super().hideEvent(event)
        self.next_replay_turn()

    def _pool(self) -> list[Post]:
        return self.filter_sources(self.context.hub.replay_pool(self.kind), lambda post: post.source)
