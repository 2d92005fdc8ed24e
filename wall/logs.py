"""Logging set-up: one line per event on stderr (journald adds the time), secrets masked."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from pydantic import SecretStr

from wall.config import WallConfig

_TRACEBACKS = logging.Formatter()


class SecretMask(logging.Filter):
    """Replaces every configured secret value by `***` in log records, whatever logged it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
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
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def config_secrets(config: WallConfig) -> list[str]:
    """Every SecretStr value in the sources' settings."""
    values = []
    for source in config.sources:
        for name in type(source).model_fields:
            value = getattr(source, name)
            if isinstance(value, SecretStr):
                values.append(value.get_secret_value())
    return values


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
