"""The wall's views: panels, cards, rotator, header and window. They read models from the hub and paint.

No network, no database, no `await` here (import-linter enforces it); see DESIGN.md, "Data flow".
"""
