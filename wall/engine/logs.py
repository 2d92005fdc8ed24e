"""Logging set-up: one line per event on stderr (journald adds the time), secrets masked."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from wall.core.secrets import current, mask, remember, secret_values
from wall.engine.config import WallConfig

_TRACEBACKS = logging.Formatter()


class SecretMask(logging.Filter):
    """Replaces every configured secret value by `***` in log records, whatever logged it
    (`wall.core.secrets`: the values remembered in this process, plus `secrets`)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        remember(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not current():
            return True
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info:  # a traceback may quote a URL or an argument holding a secret
            record.exc_text = self.mask(_TRACEBACKS.formatException(record.exc_info))
            record.exc_info = None
        return True

    def mask(self, text: str) -> str:
        """`text` with every secret replaced by ***."""
        return mask(text)


def config_secrets(config: WallConfig) -> list[str]:
    """Every SecretStr value of the config: the sources' keys and tokens, the page's token, any other."""
    return secret_values(config)


def setup_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Log to stderr; quiet the HTTP libraries, whose request lines may carry API keys."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretMask(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "hpack", "PIL", "qasync", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
