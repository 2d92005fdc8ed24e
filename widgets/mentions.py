"""The public mentions panel: what people say about the brand on social networks."""

from __future__ import annotations

from widgets.posts import PostsPanel


class MentionsPanel(PostsPanel):
    """Public posts mentioning the brand (`kind = "mention"`), on neutral cards with each network's mark."""

    kind = "mention"
    internal = False
