"""Secrets never reach the journal, whoever logs them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from wall.config import load_config
from wall.logs import config_secrets, setup_logging


def test_configured_secrets_are_masked_in_every_log_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wall.toml"
    path.write_text(
        '[[sources]]\nname = "m"\ntype = "mastodon"\nbase_url = "https://m.example"\nhashtags = ["x"]\n'
        'token = "tok-0123456789"\n',
        encoding="utf-8",
    )
    config = load_config(path, env={})
    setup_logging("INFO", config_secrets(config))
    try:
        logging.getLogger("some.library").warning(
            "GET https://m.example/api?access_token=%s failed", "tok-0123456789"
        )
        logging.getLogger("wall").info("plain line")
    finally:
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "tok-0123456789" not in err
    assert "access_token=*** failed" in err and "plain line" in err
