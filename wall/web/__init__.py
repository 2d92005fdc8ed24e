"""The moderation page, served by the wall itself with aiohttp (no Qt): the server, its HTML pages,
and the `ModerationDesk` protocol (`desk.py`) through which it reaches the running engine."""
