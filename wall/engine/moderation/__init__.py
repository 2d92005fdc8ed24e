"""Moderation, in three words a newcomer can tell apart:

- **rules** (`rules.py`): what the wall decides by itself from `[moderation]` in the config: blocked
  words and authors, floods, duplicates, pre-moderation. `Moderator.judge` gives each post a `Verdict`.
- **decisions** (`decisions.py`): what a person decided on the moderation page: approve, hide, pin,
  block an author, panic, publish an announcement; stored and audited, never undone by the rules.
  `status_of(verdict, decision)` is whether a post is shown.
- **desk** (`wall.web.desk.ModerationDesk`): what the page may ask of the running wall;
  `wall.shell.desk.WallDesk` answers it.
"""
