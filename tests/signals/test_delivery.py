"""Alerts reach comms over real protocols (SMTP to aiosmtpd, a Mattermost webhook on
pytest-httpserver), a target that is down, answers 500 or hangs is retried with backoff without
holding the loop, and neither our logs nor Apprise's print a target's secret."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from pytest_httpserver import HTTPServer

from tests.servers.synapse import free_port
from tests.signals.servers import silent_server, smtp_server
from wall.engine.logs import setup_logging
from wall.engine.signals.alerts import Alert, Evidence
from wall.engine.signals.delivery import DeliveryPolicy, Notifier

AT = datetime(2026, 11, 7, 14, 12, tzinfo=UTC)
HOOK_TOKEN = "yobjmukpaw3r3urc5h6i369yima"
SMTP_PASSWORD = "s3cret-Relay-pw"


def an_alert() -> Alert:
    evidence = tuple(
        Evidence(f"feed:{i}", f"https://social.example/@p{i}/{i}", f"@p{i}", f"Rappel produit ? ({i})", AT)
        for i in range(5)
    )
    return Alert(
        signal="volume",
        state="alert",
        at=AT,
        observed=31,
        baseline=6.2,
        threshold=17.0,
        window_start=AT.replace(minute=0),
        window_end=AT,
        evidence=evidence,
        page_url="https://wall.corp.example:8787/#signaux",
    )


class Outcomes:
    """What the notifier reported, per target."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    async def __call__(self, alert: Alert, label: str, status: str) -> None:
        self.seen[label] = status


class Waits:
    """An injected sleep: records the backoff it is asked for, and yields to the loop only."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(0)


async def test_an_alert_reaches_the_smtp_server_with_its_evidence_and_the_page_link() -> None:
    outcomes = Outcomes()
    with smtp_server("wall", SMTP_PASSWORD) as (mailbox, port):
        url = f"mailto://wall:{SMTP_PASSWORD}@127.0.0.1:{port}?to=comms@corp.example&from=wall@corp.example"
        notifier = Notifier([SecretStr(url)], outcome=outcomes)
        notifier.send(an_alert())
        await notifier.drain()

    assert outcomes.seen == {"target 1 (mailto)": "sent"}
    [message] = mailbox.messages
    assert message["To"] == "comms@corp.example"
    assert "Alerte mur : volume de mentions" in str(message["Subject"])
    parts = [part for part in message.walk() if part.get_content_type() == "text/plain"]
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode()
    assert "Observé : 31 / h" in text and "seuil : 17 / h" in text
    assert "https://social.example/@p4/4" in text
    assert "https://wall.corp.example:8787/#signaux" in text


async def test_an_alert_reaches_a_mattermost_webhook(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"/hooks/{HOOK_TOKEN}", method="POST").respond_with_data("ok")
    outcomes = Outcomes()
    notifier = Notifier([SecretStr(f"mmost://127.0.0.1:{httpserver.port}/{HOOK_TOKEN}")], outcome=outcomes)

    notifier.send(an_alert())
    await notifier.drain()

    assert outcomes.seen == {"target 1 (mmost)": "sent"}
    [(request, _)] = httpserver.log
    posted = json.loads(request.data)
    assert "Alerte mur : volume de mentions" in posted["text"]
    assert "https://social.example/@p0/0" in posted["text"]


async def test_a_target_down_500_or_silent_is_retried_with_backoff_and_never_holds_the_loop(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/hooks/broken0token1", method="POST").respond_with_data("no", status=500)
    down = free_port()  # nothing listens there
    outcomes, waits = Outcomes(), Waits()
    with silent_server() as (silent, arrived):
        notifier = Notifier(
            [
                SecretStr(f"mmost://127.0.0.1:{down}/down0token1"),
                SecretStr(f"mmost://127.0.0.1:{httpserver.port}/broken0token1"),
                SecretStr(f"json://127.0.0.1:{silent}/alerts"),
            ],
            policy=DeliveryPolicy(attempts=3, first_wait=5, max_wait=600, attempt_timeout=1),
            outcome=outcomes,
            sleep=waits,
        )
        notifier.send(an_alert())  # returns at once: the deliveries run in the background
        assert notifier.pending() == 3
        # While the silent target holds its request, the loop runs on: the two other targets are
        # tried three times each and given up before the silent one's first attempt ends.
        while not (arrived.is_set() and len(outcomes.seen) == 2):
            await asyncio.sleep(0.01)
        assert notifier.pending() == 1
        await notifier.drain()

    assert outcomes.seen == {
        "target 1 (mmost)": "failed: refused or unreachable",
        "target 2 (mmost)": "failed: refused or unreachable",
        "target 3 (json)": "failed: no answer within 1 s",
    }
    assert len(httpserver.log) == 3  # every attempt reached the server that answers 500
    assert sorted(waits.asked) == [5, 5, 5, 10, 10, 10]  # backoff doubles, per target


async def test_neither_our_logs_nor_apprises_print_a_targets_secret(
    httpserver: HTTPServer, capfd: pytest.CaptureFixture[str]
) -> None:
    httpserver.expect_request(f"/hooks/{HOOK_TOKEN}", method="POST").respond_with_data("no", status=500)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    setup_logging("DEBUG")
    logging.getLogger("apprise").setLevel(logging.DEBUG)
    try:
        with smtp_server("wall", "other-password") as (_, port):  # refuses the login
            notifier = Notifier(
                [
                    SecretStr(f"mailto://wall:{SMTP_PASSWORD}@127.0.0.1:{port}?to=comms@corp.example"),
                    SecretStr(f"mmost://127.0.0.1:{httpserver.port}/{HOOK_TOKEN}"),
                ],
                policy=DeliveryPolicy(attempts=2, attempt_timeout=5),
                sleep=Waits(),
            )
            notifier.send(an_alert())
            await notifier.drain()
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
        logging.getLogger("apprise").setLevel(logging.NOTSET)
    printed = capfd.readouterr().err
    sys.stderr.write(printed[-3000:])  # shown if the test fails

    assert "apprise" in printed and "gave up after 2 attempts" in printed  # Apprise did log, at DEBUG
    assert SMTP_PASSWORD not in printed and HOOK_TOKEN not in printed
    assert "target 1 (mailto)" in printed and "target 2 (mmost)" in printed


def test_the_backoff_doubles_up_to_its_cap() -> None:
    policy = DeliveryPolicy(first_wait=5, max_wait=30)
    assert [policy.wait(n) for n in range(1, 6)] == [5, 10, 20, 30, 30]
    assert timedelta(seconds=policy.wait(1)) == timedelta(seconds=5)
