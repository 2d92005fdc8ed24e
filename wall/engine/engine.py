"""The engine: polls the sources, applies consent and moderation, keeps the store, loads pictures,
and writes what the lobby should show to a `Screen` (the Qt hub in `wall run`; a test's fake; later
the fleet's publisher).

It runs on the process's asyncio loop; blocking work (SQLite, picture decoding) goes to worker
threads. At start the screen is filled from the store before any network call, so a restart (or a
boot without network) shows the last content at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from sources.contract import Source
from wall.core.model import POST_KINDS, Author, Batch, Count, Post, PostKind, SourceStatus, utcnow
from wall.core.paths import cache_dir
from wall.core.secrets import current as current_secrets
from wall.core.secrets import remember as remember_secrets
from wall.core.secrets import secret_values
from wall.engine.config import WallConfig
from wall.engine.consent import image_urls, shown_posts, split
from wall.engine.counts import HISTORY_WINDOW
from wall.engine.images import ImageLoader, cache_file, picture_fetcher
from wall.engine.moderation.decisions import (
    BlockedAuthor,
    Decision,
    PostAction,
    PublishedAnnouncement,
    author_key,
)
from wall.engine.moderation.rules import AWAITING_APPROVAL, Moderator, Verdict
from wall.engine.poller import Poller, RetryPolicy
from wall.engine.replay import POOL_SIZE, REPLAY_KINDS, best_first
from wall.engine.services import Purged, build_sources, consents, purge
from wall.engine.signals.alerts import Alert
from wall.engine.signals.crisis import ALERT_ACTOR, CrisisMode, CrisisState
from wall.engine.store import Store, StoreChange

if TYPE_CHECKING:  # a fleet kiosk's engine has no HTTP client: it never loads the HTTP stack
    import httpx

    from sources.base import HttpFetcher

    # Loaded with `[signals] enabled` only: the detector and its sentiment lexicon's code (~1.5 MB).
    from wall.engine.signals.watch import SignalWatch

log = logging.getLogger("wall.engine.engine")

POSTS_PER_KIND = 60
# Pictures of a post awaiting approval prepared for the moderation page: as many as it shows
# (`wall.web.queue.MAX_THUMBNAILS`).
AWAITING_PICTURES_PER_POST = 4
PURGE_EVERY_SECONDS = 3600.0
_DECISION_OF: dict[PostAction, Decision] = {
    "approve": "approve",
    "hide": "hide",
    "pin": "pin",
    "unpin": "approve",  # unpinned, the post stays approved
}


class Screen(Protocol):
    """What the engine writes to: the content of each kind, the counts, the statuses and pictures.

    `widgets.hub.Hub` is the lobby's. Every call is made on the engine's loop thread.
    """

    def set_posts(self, kind: PostKind, posts: Sequence[Post]) -> None: ...

    def set_replay_pool(self, kind: PostKind, posts: Sequence[Post]) -> None:
        """The posts a panel of `kind` may replay in quiet hours, best first (`wall.engine.replay`)."""
        ...

    def set_counts(self, latest: Sequence[Count], history: dict[str, list[Count]]) -> None: ...

    def set_statuses(self, statuses: Sequence[SourceStatus]) -> None: ...

    def update_status(self, status: SourceStatus) -> None: ...

    def statuses(self) -> list[SourceStatus]:
        """The statuses last written (the moderation page shows them)."""
        ...

    def set_announcement(self, announcement: PublishedAnnouncement | None) -> None: ...

    def set_image_requester(self, requester: Callable[[str], None]) -> None: ...

    def add_image(self, url: str, data: bytes | None) -> None: ...

    def forget_images(self, urls: Iterable[str]) -> None: ...


class Engine:
    """The asyncio side: polls sources, records batches, feeds the screen, loads images."""

    def __init__(
        self,
        config: WallConfig,
        store: Store,
        screen: Screen,
        client: httpx.AsyncClient | None,
        *,
        clock: Callable[[], datetime] = utcnow,
        post_groups: Sequence[Collection[str]] = (),
    ) -> None:
        self.config = config
        # A fleet's collector: the sources of each site, capped apart (`Store.recent_posts`).
        self._post_groups = post_groups
        remember_secrets(secret_values(config))
        self.store = store
        self.screen = screen
        self.clock = clock
        # None: a fleet's kiosk, which polls nothing and gets its pictures from the fleet.
        self.sources = build_sources(config, client) if client is not None else []
        self.consents = consents(config)
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        # Pictures: a URL from a post reaches public addresses only, without any token, unless it is
        # on the configured origin of a source whose shown post carries it: then that source's own
        # fetcher, and its token if it gives one (`_image_route`).
        self._public_images = picture_fetcher(client) if client is not None else None
        self.images = ImageLoader(
            self._public_images, cache_dir(), route=self._image_route if client is not None else None
        )
        self._source_images = {
            s.settings.name: (s, picture_fetcher(client, s.settings.origins()))
            for s in self.sources
            if client is not None
        }
        # Picture URL -> the sources whose posts carry it, per list handed to the screen (a kind,
        # or a kind's replay pool), and for the pictures of posts awaiting approval being prepared.
        self._image_owners: dict[str, dict[str, set[str]]] = {}
        self._awaiting_owners: dict[str, set[str]] = {}
        self._image_tasks: set[asyncio.Task[None]] = set()
        # Quiet hours of content: how far back the mentions panels replay (0: none of them does).
        self._replay_days = max((p.replay_days for p in config.effective_panels() if p.replay), default=0.0)
        for source in self.sources:
            source.restore(store.load_state(source.settings.name))
        # One Moderator per source, used only on the store thread (it keeps flood/duplicate memory).
        # Authors blocked from the moderation page are blocked everywhere, on top of the config's.
        blocked = store.blocked_authors()
        self.crisis = CrisisMode(config.signals.on_alert, CrisisState.from_store(store.crisis()))
        self.moderators = {
            s.settings.name: Moderator(
                self.crisis.settings_for(config.moderation_for(s.settings)), blocked_authors=blocked
            )
            for s in self.sources
        }
        self._background: set[asyncio.Task[None]] = set()
        # Cleared while the stored posts are judged again a page at a time (`_rejudge_stored`): a new
        # batch waits, so each source's moderator (its flood cap) sees posts in their order.
        self._judged = asyncio.Event()
        self._judged.set()
        # One re-judging at a time (start, a crisis switch): two would feed a moderator's flood cap
        # pages of posts out of order.
        self._rejudging = asyncio.Lock()
        # Weak signals (issue 17): read after each stored batch, told to comms, never to the screen.
        self.signals: SignalWatch | None = None
        if config.signals.enabled:
            from wall.engine.signals.watch import SignalWatch

            self.signals = SignalWatch(config, store, self._in_db, clock=clock, on_alert=self._on_alert)
        self.poller = Poller(
            self.sources,
            self._on_batch,
            self._on_status,
            policy=RetryPolicy(max_backoff=config.network.max_backoff),
            stale_after=config.wall.stale_after_intervals,
            poll_timeout=max(60.0, config.network.timeout * 4),
            clock=clock,
            initial=store.statuses(),
        )
        screen.set_image_requester(self._request_image)

    def fill_screen_from_store(self) -> None:
        """Show the last stored content at once (before any network call)."""
        for kind in POST_KINDS:
            self._show(kind, self._shown(self._recent_posts(kind)))
            self._show_replay_pool(kind, self._replay_pool(kind))
        self.screen.set_counts(*self._counts())
        self.screen.set_statuses(self.poller.statuses())
        self.screen.set_announcement(self.store.announcement())

    def _counts(self) -> tuple[list[Count], dict[str, list[Count]]]:
        """Latest counters and their daily history (runs on the store thread once started)."""
        zone = ZoneInfo(self.config.wall.timezone)
        history = self.store.daily_count_history(self.clock() - HISTORY_WINDOW, zone)
        return self.store.latest_counts(), history

    def start(self) -> None:
        """Start polling, re-judge the stored posts with today's moderation rules, and purge what
        consent and retention no longer allow (now, then every `PURGE_EVERY_SECONDS` seconds)."""
        self._judged.clear()  # before the first poll can bring a batch
        self.poller.start()
        if self.signals is not None:
            self.signals.start()
        for job in (self._rejudge_stored(), self._purge_regularly()):
            task = asyncio.ensure_future(job)
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def _shown(self, posts: list[Post]) -> list[Post]:
        return shown_posts(posts, self.consents, self.clock())

    async def _refresh(self, kinds: Iterable[PostKind]) -> None:
        for kind in sorted(kinds):
            posts = await self._in_db(self._recent_posts, kind)
            self._show(kind, self._shown(posts))
            if kind in REPLAY_KINDS and self._replay_days:
                self._show_replay_pool(kind, await self._in_db(self._replay_pool, kind))

    def _recent_posts(self, kind: PostKind) -> list[Post]:
        return self.store.recent_posts(kind, POSTS_PER_KIND, groups=self._post_groups)

    def _show(self, kind: PostKind, posts: list[Post]) -> None:
        """Hand `posts` to the screen, and remember which source's posts carry each picture URL."""
        self._image_owners[kind] = _owners(posts)
        self.screen.set_posts(kind, self.crisis.shown(kind, posts))

    def _replay_pool(self, kind: PostKind) -> list[Post] | None:
        """What the panels of `kind` may replay in quiet hours: only what the screen may show today,
        at most `replay_days` old, best first; None when no panel of `kind` replays (store thread)."""
        if kind not in REPLAY_KINDS or not self._replay_days:
            return None
        since = self.clock() - timedelta(days=self._replay_days)
        return best_first(self._shown(self.store.recent_posts(kind, POOL_SIZE, since=since)))

    def _show_replay_pool(self, kind: PostKind, pool: list[Post] | None) -> None:
        if pool is not None:
            self._image_owners[f"replay:{kind}"] = _owners(pool)
            self.screen.set_replay_pool(kind, self.crisis.shown(kind, pool))

    async def purge(self) -> Purged:
        """Remove from the store and the image cache what consent and retention no longer allow;
        the moderators forget the posts the store no longer keeps (purged, or over its cap)."""
        purged: Purged = await self._in_db(purge, self.store, self.consents, self.clock())
        await self._in_db(self._moderators_retain)
        if purged.posts:
            removed = await asyncio.to_thread(self.images.forget, purged.image_urls)
            self.screen.forget_images(purged.image_urls)
            log.info("purged %d posts and %d cached pictures (consent, retention)", purged.posts, removed)
        await self._refresh(purged.kinds)
        return purged

    def _moderators_retain(self) -> None:
        for name, moderator in self.moderators.items():
            moderator.retain(self.store.post_keys(name))

    async def _purge_regularly(self) -> None:
        while True:
            try:
                await self.purge()
            except Exception:  # a locked or full disk: keep the wall running, try again later
                log.exception("purge failed; next try in %d s", PURGE_EVERY_SECONDS)
            await asyncio.sleep(PURGE_EVERY_SECONDS)

    def _image_route(self, url: str) -> tuple[HttpFetcher, dict[str, str]]:
        """How to load a picture shown on screen: through the fetcher of a source whose shown post
        carries it (its configured origin may be on the LAN; its token only if it gives one for that
        URL); any other picture through the public-only fetcher, without headers."""
        owners: set[str] = set(self._awaiting_owners.get(url, ()))
        for by_url in self._image_owners.values():
            owners |= by_url.get(url, set())
        for name in sorted(owners):
            if name not in self._source_images:
                continue
            source, fetcher = self._source_images[name]
            headers = source.image_headers(url)
            if headers or fetcher.owns(url):
                return fetcher, headers
        assert self._public_images is not None, "only an engine with a client routes pictures"
        return self._public_images, {}

    async def _rejudge_stored(self) -> None:
        """A word blocked since the last start takes its posts off the screen within a second.

        A page of posts per job on the store's thread: a full store (10,000 posts) is never held
        at once, and a stop waits for one page, not for the whole store (it waited 8-16 s). The
        next start judges again what a stop left. New batches wait meanwhile (`_judged`)."""
        async with self._rejudging:
            self._judged.clear()
            try:
                for name, moderator in self.moderators.items():
                    pages = self.store.pages_of(name)  # advanced on the store's thread only

                    def rejudge_page(
                        pages: Iterator[list[Post]] = pages, moderator: Moderator = moderator
                    ) -> set[PostKind] | None:
                        page = next(pages, None)
                        return None if page is None else self.store.set_verdicts(moderator.judge_many(page))

                    kinds: set[PostKind] = set()
                    while (changed := await self._in_db(rejudge_page)) is not None:
                        kinds |= changed
                    await self._refresh(kinds)
            finally:
                self._judged.set()
        # Posts stored while they waited for a person (before a restart, or before the wall
        # prepared their pictures): the moderation page shows their pictures too.
        awaiting = await self._in_db(lambda: [item.post for item in self.store.queue("awaiting")])
        self._prepare_awaiting_pictures(self._shown(awaiting))

    # --- people's decisions (the moderation page, issue 5) ----------------------------------
    async def act(self, key: str, action: PostAction, who: str) -> bool:
        """Apply a person's action to a stored post and update the screen at once; False when no
        such post is stored. The decision is kept apart from the verdicts: re-judging keeps it."""
        if action == "block":
            return await self.block_author(key, who)
        decision = _DECISION_OF[action]

        def decide() -> PostKind | None:
            return self.store.decide(key, decision, who, action=action, now=self.clock())

        kind: PostKind | None = await self._in_db(decide)
        if kind is None:
            return False
        log.info("moderation: %s %r by %r", action, key, who)
        await self._refresh({kind})
        return True

    async def block_author(self, key: str, who: str) -> bool:
        """Block the author of the post `key` for good: their stored posts leave the screen now, and
        later ones never reach it. False when no such post is stored."""

        def block() -> tuple[str, set[PostKind]] | None:
            post = self.store.post(key)
            if post is None or not (author := author_key(post)):
                return None
            self.store.block_author(
                author, who, post_key=key, network=post.network, name=post.author.name, now=self.clock()
            )
            kinds = {post.kind}
            for name, moderator in self.moderators.items():
                moderator.block(author)
                kinds |= self._judge_again(name, moderator)
            return author, kinds

        done: tuple[str, set[PostKind]] | None = await self._in_db(block)
        if done is None:
            return False
        log.info("moderation: block author %r (post %r) by %r", done[0], key, who)
        await self._refresh(done[1])
        return True

    def _judge_again(self, name: str, moderator: Moderator) -> set[PostKind]:
        """Judge every stored post of `name` again, a page at a time (store thread); the kinds whose
        screen changed."""
        kinds: set[PostKind] = set()
        for page in self.store.pages_of(name):
            kinds |= self.store.set_verdicts(moderator.judge_many(page))
        return kinds

    async def unblock_author(self, author: str, who: str) -> bool:
        """Unblock an author blocked from the page: their stored posts are judged again now, and those
        every other rule and decision allow come back on screen. False when they were not blocked."""

        def unblock() -> set[PostKind] | None:
            if not self.store.unblock_author(author, who, now=self.clock()):
                return None
            kinds: set[PostKind] = set()
            for name, moderator in self.moderators.items():
                moderator.unblock(author)
                kinds |= self._judge_again(name, moderator)
            return kinds

        kinds: set[PostKind] | None = await self._in_db(unblock)
        if kinds is None:
            return False
        log.info("moderation: unblock author %r by %r", author, who)
        await self._refresh(kinds)
        return True

    async def blocked_authors(self) -> list[BlockedAuthor]:
        """Authors blocked from the page, newest first, each marked when `wall.toml` blocks them too."""

        def listed() -> list[BlockedAuthor]:
            marked = []
            for blocked in self.store.blocked_author_list():
                # The key is the handle when the post had one, else the display name (`author_key`).
                handle = blocked.author if blocked.author != blocked.name else ""
                author = Author(blocked.name or blocked.author, handle)
                in_config = any(m.blocked_by_settings(author) for m in self.moderators.values())
                marked.append(replace(blocked, in_config=in_config))
            return marked

        found: list[BlockedAuthor] = await self._in_db(listed)
        return found

    async def set_panic(self, on: bool, who: str) -> None:
        """Record the panic flag (the windows are switched by the caller, which owns them)."""
        await self._in_db(lambda: self.store.set_panic(on, who, now=self.clock()))
        log.warning("moderation: panic screen %s by %r", "ON" if on else "off", who)

    async def publish_announcement(self, announcement: PublishedAnnouncement | None, who: str) -> None:
        """Show `announcement` on every announcement panel (None: the configured one again); stored
        first, so what the screen shows survives a restart. Who published it and when go with it."""
        now = self.clock()
        if announcement is not None:
            announcement = replace(announcement, who=who, at=now)
        await self._in_db(self.store.set_announcement, announcement, who, now)
        self.screen.set_announcement(announcement)
        if announcement is None:
            log.info("moderation: announcement withdrawn by %r", who)
        else:
            log.info("moderation: announcement %r published by %r", announcement.title, who)

    # --- crisis mode (issue 17) ------------------------------------------------------------
    async def _on_alert(self, alert: Alert) -> None:
        """An alert switches crisis mode on when `[signals] on_alert` asks for it (once: a crisis in
        force stays as it is until a person clears it)."""
        mode = self.crisis.wanted()
        if mode and not self.crisis.mode:
            await self._set_crisis(mode, ALERT_ACTOR, alert.title())
            log.warning("signals: crisis mode %s on: %s", mode, alert.title())

    async def clear_crisis(self, who: str) -> bool:
        """End crisis mode (the moderation page); False when it was not on."""
        if not self.crisis.mode:
            return False
        await self._set_crisis("", who, "")
        log.warning("moderation: crisis mode cleared by %r", who)
        return True

    async def _set_crisis(self, mode: str, who: str, why: str) -> None:
        def switch() -> None:
            self.store.set_crisis(mode, who, why, now=self.clock())
            self.crisis.state = CrisisState.from_store(self.store.crisis())
            for source in self.sources:
                moderator = self.moderators[source.settings.name]
                moderator.settings = self.crisis.settings_for(self.config.moderation_for(source.settings))

        await self._in_db(switch)
        await self._rejudge_stored()
        await self._refresh({"mention"})

    async def pause(self) -> None:
        """Stop polling (outside opening hours); what is stored stays, pictures and decisions work."""
        await self.poller.stop()

    def resume(self) -> None:
        """Poll again after `pause`."""
        if not self.poller.running():
            self.poller.start()

    async def stop(self) -> None:
        """Stop polling and wait for pending writes."""
        await self.poller.stop()
        if self.signals is not None:
            await self.signals.stop()
        for task in [*self._image_tasks, *self._background]:
            task.cancel()
        await asyncio.gather(*self._image_tasks, *self._background, return_exceptions=True)
        self._db.shutdown(wait=True)

    async def _in_db(self, func: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._db, func, *args)

    async def _on_batch(self, source: Source, batch: Batch) -> None:
        name = source.settings.name
        batch = current_secrets().mask_batch(batch)  # a hostile server may echo a key into a post
        moderator = self.moderators[name]
        admitted, refused = split(batch.posts, self.consents[name], self.clock())
        if refused:  # never stored; an edit that dropped the tag takes the post off the screen
            batch = replace(batch, posts=tuple(admitted), deleted=(*batch.deleted, *(p.id for p in refused)))

        def judge_and_store() -> tuple[StoreChange, dict[str, Verdict]]:
            for post_id in batch.deleted:
                moderator.forget(f"{name}:{post_id}")
            verdicts = moderator.judge_many(batch.posts)
            change = self.store.apply(name, batch, verdicts=verdicts)
            if self.signals is not None:
                self.signals.observe(name, batch, verdicts)
            return change, verdicts

        try:
            await self._judged.wait()
            change, verdicts = await self._in_db(judge_and_store)
            await self._in_db(self.store.save_state, name, source.state())
        except Exception:
            # Not stored (disk full, database busy): rewind the source's cursor to the last stored
            # one, so the next poll fetches these posts again instead of skipping them.
            source.restore(await self._in_db(self.store.load_state, name))
            raise
        await self._refresh(change.kinds)
        if change.counts:
            self.screen.set_counts(*await self._in_db(self._counts))
        awaiting = [p for p in batch.posts if _awaits_a_person(verdicts.get(p.key))]
        self._prepare_awaiting_pictures(awaiting)  # consent was checked above: refused posts are not here
        if self.signals is not None and batch.posts:
            await self.signals.after_batch()

    def _on_status(self, status: SourceStatus) -> None:
        self.screen.update_status(status)
        self._db.submit(self.store.save_status, status)

    def _request_image(self, url: str) -> None:
        task = asyncio.ensure_future(self._load_image(url))
        self._image_tasks.add(task)
        task.add_done_callback(self._image_tasks.discard)

    async def _load_image(self, url: str) -> None:
        self.screen.add_image(url, await self.images.load(url))

    def _prepare_awaiting_pictures(self, posts: Iterable[Post]) -> None:
        """Prepare the pictures of posts awaiting approval into the picture cache, so that the
        moderation page shows them (`/pictures/<digest>`) while comms judge the post (issue 15).

        Loaded as every picture is (the same route, outbound policy, caps and decoding), but never
        handed to the screen: the post stays off it until a person approves it. Callers pass only
        posts the source's consent rules admit."""
        # Only for the page, which serves the cache alone: no page, or no cache, nothing to prepare.
        if not self.config.web.enabled or self.images.cache_dir is None:
            return
        for post in posts:
            for media in post.media[:AWAITING_PICTURES_PER_POST]:
                url = media.url
                if not url or url in self._awaiting_owners:
                    continue
                # The route (`_image_route`) needs to know whose post the picture is, as for a shown one.
                self._awaiting_owners[url] = {post.source}
                task = asyncio.ensure_future(self._prepare_awaiting_picture(url, self.images.cache_dir))
                self._image_tasks.add(task)
                task.add_done_callback(self._image_tasks.discard)

    async def _prepare_awaiting_picture(self, url: str, folder: Path) -> None:
        try:
            # Already prepared (an edit, a restart): not read again (the loop runs the GUI, no disk here).
            if not await asyncio.to_thread(cache_file(folder, url).is_file):
                await self.images.load(url)  # into the cache; a failure is logged there, once
        finally:
            self._awaiting_owners.pop(url, None)


def _owners(posts: Iterable[Post]) -> dict[str, set[str]]:
    """Each picture URL of `posts` (avatars and media) -> the sources whose posts carry it."""
    owners: dict[str, set[str]] = {}
    for post in posts:
        for url in image_urls((post,)):
            owners.setdefault(url, set()).add(post.source)
    return owners


def _awaits_a_person(verdict: Verdict | None) -> bool:
    """True for the rules' verdict on a post that pre-moderation keeps off the screen until approved."""
    return verdict is not None and not verdict.shown and verdict.reason == AWAITING_APPROVAL
