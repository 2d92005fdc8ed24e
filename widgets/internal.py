"""The internal panel: the company's own voice, set visibly apart from public mentions."""

from __future__ import annotations

from PySide6.QtGui import QColor

from widgets.posts import PostsPanel


class InternalPanel(PostsPanel):
    """Posts from the internal enterprise network (`kind = "internal"`) on brand-tinted cards."""

    kind = "internal"
    internal = True

    def background(self) -> QColor:
        """A background tinted with the brand colour, so the panel never looks like public mentions."""
        return self.theme.internal_panel
