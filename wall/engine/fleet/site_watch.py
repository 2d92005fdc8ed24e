"""A kiosk's watch of its site's KV bucket over a consumer of our own, so that it recovers within
seconds when the node holding it dies (issue 16: the cluster's leader killed).

nats-py's `KeyValue.watch` uses its ordered consumer with a 5 s idle heartbeat it does not let us
shorten, and notices a dead consumer only after two missed heartbeats, then tries once per check:
12-40 s after a leader kill here (docs/fleet.md). This watch is an ephemeral push consumer on the
bucket's stream (the last value of each key, then new ones; flow control; an idle heartbeat every
`HEARTBEAT_S`), and a guard makes a new one, starting after the last message received, when the
heartbeats stop, when the server says the consumer is gone, or when a message was skipped. Every
message's stream sequence is the key's revision: the receiver keeps each key's last revision
applied, so a value delivered again is skipped (nothing twice) and the new consumer starts where
the old one stopped (nothing lost).

It uses only the API subjects a kiosk may already call on its own site's stream (`layout.py`):
consumer create and delete, and the flow-control replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, Header, StatusCode

from wall.core.tasks import cancel_until_done

log = logging.getLogger("wall.engine.fleet.site_watch")

HEARTBEAT_S = 1.0  # the server sends one when it has nothing else to send
SILENCE_S = 3.0  # three heartbeats missed: the consumer (or its node) is gone
RETRY_S = 0.5  # while a new leader is being elected, creating a consumer fails: try again soon
CREATE_TIMEOUT_S = 1.0  # a live leader answers in milliseconds; one being elected, never
DELETE_TIMEOUT_S = 1.0
INACTIVE_S = 30.0  # the server drops a consumer nobody listens to (a kiosk switched off) after this
_KV_OPERATION = "KV-Operation"
_BROKER_ERRORS = (nats.errors.Error, TimeoutError, OSError)


@dataclass(frozen=True, slots=True)
class KeyUpdate:
    """One value of one key; `revision` is its stream sequence; a deleted key has `value` b""."""

    key: str
    revision: int
    value: bytes


class SiteWatch:
    """The current value of every key of `bucket`, then each update, across consumer losses."""

    def __init__(self, link: Client, bucket: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._link = link
        self._stream = f"KV_{bucket}"
        self._prefix = f"$KV.{bucket}."
        self._clock = clock
        self._updates: asyncio.Queue[KeyUpdate] = asyncio.Queue()
        self._sub: Subscription | None = None
        self._consumer = ""
        self._last_seq = 0  # stream sequence of the last message received: the next consumer starts after it
        self._next_dseq = 1  # the consumer sequence expected next: a gap means a message was skipped
        self._heard = clock()
        self._lost = asyncio.Event()
        self._generation = 0  # of the consumer listened to
        self._guard: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Make the first consumer (trying again while the stream has no leader) and guard it."""
        await self._make_consumer_soon()
        self._guard = asyncio.ensure_future(self._keep_alive())

    async def next(self) -> KeyUpdate:
        """The next value, waiting for one."""
        return await self._updates.get()

    async def stop(self) -> None:
        """Stop guarding and listening; the consumer is deleted (or dropped by the server later)."""
        if self._guard is not None:  # cancelled again until it ends: `wait_for` may swallow one
            await cancel_until_done([self._guard])
        consumer = self._consumer
        await self._drop_consumer()
        if consumer and self._link.is_connected:
            # Best effort: the server drops one it cannot reach now after INACTIVE_S without listeners.
            with contextlib.suppress(*_BROKER_ERRORS, nats.js.errors.Error):
                await self._link.jetstream(timeout=DELETE_TIMEOUT_S).delete_consumer(self._stream, consumer)

    # --- the consumer ------------------------------------------------------------------------
    async def _keep_alive(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), HEARTBEAT_S / 2)
            if not self._link.is_connected:
                # The receiver starts a new watch when the link is back; until then, nothing to ask.
                await asyncio.sleep(HEARTBEAT_S / 2)
                continue
            silent = self._clock() - self._heard > SILENCE_S
            if not (self._lost.is_set() or silent):
                continue
            log.info(
                "fleet: the watch of %s is %s; following again after revision %d",
                self._stream,
                "gone" if self._lost.is_set() else f"silent for {SILENCE_S:.0f} s",
                self._last_seq,
            )
            await self._make_consumer_soon()

    async def _make_consumer_soon(self) -> None:
        while True:
            try:
                await self._make_consumer()
                return
            except _BROKER_ERRORS as exc:  # a leader being elected answers nothing, or 503
                log.debug("fleet: no consumer on %s yet (%s)", self._stream, exc)
                await asyncio.sleep(RETRY_S)

    async def _make_consumer(self) -> None:
        await self._drop_consumer()
        self._lost.clear()
        deliver = self._link.new_inbox()
        self._next_dseq = 1
        self._generation += 1
        generation = self._generation

        async def on_message(msg: Msg) -> None:
            if generation == self._generation:  # else a late message for a consumer already replaced
                await self._on_message(msg)

        self._sub = await self._link.subscribe(deliver, cb=on_message)
        # The first: each key's current value; a new one: what came after the last received.
        policy = DeliverPolicy.BY_START_SEQUENCE if self._last_seq else DeliverPolicy.LAST_PER_SUBJECT
        config = ConsumerConfig(
            deliver_subject=deliver,
            filter_subject=f"{self._prefix}>",
            ack_policy=AckPolicy.NONE,
            flow_control=True,
            idle_heartbeat=HEARTBEAT_S,
            inactive_threshold=INACTIVE_S,
            num_replicas=1,
            mem_storage=True,  # a kiosk's position is kept by the kiosk, not by the cluster
            deliver_policy=policy,
            opt_start_seq=self._last_seq + 1 if self._last_seq else None,
        )
        info = await self._link.jetstream().add_consumer(self._stream, config, timeout=CREATE_TIMEOUT_S)
        self._consumer = info.name
        self._heard = self._clock()

    async def _drop_consumer(self) -> None:
        # Not deleted here: asking a dead node to delete it would wait for the API's timeout before
        # the new one; without a listener the server drops it after INACTIVE_S.
        sub, self._sub, self._consumer = self._sub, None, ""
        if sub is not None:
            with contextlib.suppress(*_BROKER_ERRORS):
                await sub.unsubscribe()

    async def _on_message(self, msg: Msg) -> None:
        self._heard = self._clock()
        headers = msg.headers or {}
        status = headers.get(Header.STATUS)
        if status == StatusCode.CONTROL_MESSAGE:
            # A flow-control request expects an empty reply; a heartbeat may carry a stalled
            # consumer's reply subject, and says which consumer sequence was sent last.
            reply = msg.reply or headers.get(Header.CONSUMER_STALLED, "")
            if reply:
                with contextlib.suppress(*_BROKER_ERRORS):
                    await self._link.publish(reply, b"")
            last = headers.get(Header.LAST_CONSUMER)
            if last is not None and int(last) != self._next_dseq - 1:
                self._lost.set()  # the server sent messages that never arrived
            return
        if status:
            self._lost.set()  # 409 "Consumer Deleted" and the like: this consumer is gone
            return
        meta = msg.metadata
        if meta.sequence.consumer != self._next_dseq:
            self._lost.set()  # a message was skipped: start again after the last one received
            return
        self._next_dseq += 1
        self._last_seq = meta.sequence.stream
        deleted = headers.get(_KV_OPERATION) in ("DEL", "PURGE")
        self._updates.put_nowait(
            KeyUpdate(msg.subject[len(self._prefix) :], meta.sequence.stream, b"" if deleted else msg.data)
        )
