"""Secrets never reach the journal, whoever logs them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sources.base import redact_url
from wall.engine.config import ConfigProblems, load_config
from wall.engine.logs import config_secrets, setup_logging


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


def test_tracebacks_are_masked_too(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", ["tok-0123456789"])
    try:
        try:
            raise ValueError("bad answer for https://x.example/?key=tok-0123456789")
        except ValueError:
            logging.getLogger("wall.engine.poller").exception("source failed")
    finally:
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "ValueError" in err and "tok-0123456789" not in err


def test_urls_in_errors_lose_passwords_and_queries() -> None:
    assert redact_url("https://bob:Hunter2pw@feeds.example/a.xml?key=K1#f") == "https://feeds.example/a.xml"
    assert redact_url("http://feeds.example:8080/a") == "http://feeds.example:8080/a"


def test_check_config_never_echoes_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "wall.toml"
    path.write_text(
        '[[sources]]\nname = "m"\ntype = "mastodon"\nbase_url = "https://m.example/?access_token=SEKRET123"\n'
        'hashtags = ["x"]\ntoken = 12345678\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigProblems) as caught:
        load_config(path, env={})
    text = "\n".join(caught.value.lines)
    assert "SEKRET123" not in text and "12345678" not in text
    assert "sources[0].token" in text and "sources[0].base_url" in text
