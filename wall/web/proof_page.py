"""The proof-of-play question on the collector's fleet page (issue 16): "Ce post a-t-il été
affiché ?" for a takedown request. The answer comes from the broker's proof stream
(`wall.engine.fleet.proof.find_proof`, through `FleetView.proof`), so it outlives the post's
deletion; it names where (site, screen, panel), when (each showing, with its seconds on screen) and
the period kept (`[fleet] proof_days`), and downloads as CSV for the takedown file.

Everything a record or a post holds is hostile (a kiosk's word, a network's text): it is escaped,
isolated in a `<bdi>`, never made a link, and a CSV cell cannot start a spreadsheet formula."""

from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from wall.web.wording import esc as _e
from wall.web.wording import text

if TYPE_CHECKING:  # nats (the fleet's client) is never loaded by a standalone wall's page
    from wall.engine.fleet.proof import PostProof, ProofRecord

QUERY_FIELD = "proof"  # the form's field, and the query parameter of /fleet and /fleet/proof.csv
MAX_QUERY_CHARS = 2000  # a post's URL, with room; a longer paste is text around it


def proof_query(raw: str) -> tuple[str, str]:
    """The question as asked (no control characters, trimmed) and "" when it can be asked; else what
    to fix (the field's rule)."""
    query = "".join(ch for ch in raw if unicodedata.category(ch) != "Cc").strip()
    if len(query) > MAX_QUERY_CHARS:
        return query[:MAX_QUERY_CHARS], "proof.too_long"
    return query, ""


def proof_section(
    lang: str, zone: ZoneInfo, query: str = "", found: PostProof | None = None, problem: str = ""
) -> str:
    """The form, and the answer to `query` when one was asked (`found`) or why it was not."""
    form = (
        f'<form method="get" action="/fleet" role="search" class="proof-form">'
        f'<label for="proof-query">{_e(text("proof.field", lang))}</label>'
        f'<input id="proof-query" name="{QUERY_FIELD}" type="text" value="{_e(query)}" required '
        f'maxlength="{MAX_QUERY_CHARS}" autocomplete="off" spellcheck="false">'
        f'<button type="submit">{_e(text("proof.ask", lang))}</button></form>'
    )
    if problem:
        answer = f'<p class="error" role="alert">{_e(text(problem, lang, max=str(MAX_QUERY_CHARS)))}</p>'
    elif found is not None:
        answer = _answer(lang, zone, found)
    else:
        answer = ""
    return (
        f'<section class="proof" id="proof" aria-labelledby="proof-title">'
        f'<h2 id="proof-title">{_e(text("proof.title", lang))}</h2>'
        f'<p class="help">{_e(text("proof.help", lang))}</p>{form}{answer}</section>'
    )


def _answer(lang: str, zone: ZoneInfo, found: PostProof) -> str:
    query, days = found.answer.query, str(found.proof_days)
    if found.unavailable:
        said = text("proof.unavailable", lang, why=found.unavailable)
        return f'<div class="proof-answer"><p class="error" role="alert">{_e(said)}</p></div>'
    records = found.answer.records
    kept = f'<p class="proof-kept">{_e(text("proof.kept", lang, days=days))}</p>'
    if not records:
        said = text("proof.none", lang, query=query, days=days)
        return (
            f'<div class="proof-answer"><p class="proof-none">{_e(said)}</p>{kept}{_post(lang, found)}</div>'
        )
    screens = {f"{r.site}/{r.screen}" for r in records}
    seconds = sum(r.seconds for r in records)
    shown = text(
        "proof.shown",
        lang,
        query=query,
        times=str(len(records)),
        screens=str(len(screens)),
        seconds=f"{seconds:.0f}",
    )
    first, last = records[0], max(records, key=_ended)
    span = text(
        "proof.span", lang, first=_when(first.started_at, lang, zone), last=_when(_ended(last), lang, zone)
    )
    head = "".join(
        f'<th scope="col">{_e(text(key, lang))}</th>'
        for key in ("proof.when", "proof.seconds", "proof.site", "proof.screen", "proof.panel")
    )
    rows = "".join(_row(r, lang, zone) for r in records)
    download = f"/fleet/proof.csv?{QUERY_FIELD}={quote(query, safe='')}"
    return (
        f'<div class="proof-answer"><p class="proof-shown">{_e(shown)}</p><p>{_e(span)}</p>{kept}'
        f"{_post(lang, found)}"
        f'<table class="proof-records"><caption>{_e(text("proof.records", lang, zone=str(zone)))}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        f'<p><a href="{_e(download)}" download>{_e(text("proof.csv", lang))}</a></p></div>'
    )


def _post(lang: str, found: PostProof) -> str:
    """The post as the collector still has it (its text is a network's: hostile), or that it is gone;
    and the addresses the screens recorded (as text: never a link a person could follow by mistake)."""
    urls = sorted({r.url for r in found.answer.records if r.url})
    addresses = "".join(
        f'<p class="proof-url">{_e(text("proof.url", lang))} <bdi>{_e(url)}</bdi></p>' for url in urls
    )
    post = found.post
    if post is None:
        if not found.answer.records:
            return ""
        return f'<p class="proof-gone">{_e(text("proof.gone", lang))}</p>{addresses}'
    author = post.author.handle or post.author.name
    return (
        f'<div class="proof-post"><p>{_e(text("proof.post", lang))}</p>'
        f'<p class="meta"><bdi>{_e(post.key)}</bdi> — <bdi>{_e(author)}</bdi></p>'
        f'<p class="text"><bdi>{_e(post.text)}</bdi></p></div>{addresses}'
    )


def _row(record: ProofRecord, lang: str, zone: ZoneInfo) -> str:
    screen = record.screen + (
        f" ({text('proof.display', lang, n=str(record.display + 1))})" if record.display else ""
    )
    cells = (
        _when(record.started_at, lang, zone),
        f"{record.seconds:.0f} s",
        record.site,
        screen,
        record.panel,
    )
    return "<tr>" + "".join(f"<td><bdi>{_e(cell)}</bdi></td>" for cell in cells) + "</tr>"


def _ended(record: ProofRecord) -> datetime:
    return record.started_at + timedelta(seconds=record.seconds)


def _when(at: datetime, lang: str, zone: ZoneInfo) -> str:
    """Date and time to the second (a takedown file asks "when", not "about when")."""
    return format_datetime(at.astimezone(zone), "medium", locale=lang)


# --- the CSV for a takedown file -----------------------------------------------------------------
CSV_COLUMNS = (
    "started_at_utc",
    "ended_at_utc",
    "seconds",
    "site",
    "screen",
    "display",
    "panel",
    "post_key",
    "source",
    "url",
)


def proof_filename(query: str) -> str:
    """The download's name: from a digest of the question (a URL is no file name, nor a safe header)."""
    return f"proof-of-play-{hashlib.sha256(query.encode()).hexdigest()[:12]}.csv"


def proof_csv(found: PostProof, asked_at: datetime) -> str:
    """The answer as CSV: what was asked, when, the period kept and the post's state first, then one
    row a showing (times in UTC, ISO 8601)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    answer = found.answer
    state = "unavailable" if found.unavailable else ("shown" if answer.records else "not shown")
    in_store = "yes" if found.post is not None else "no"
    for row in (
        ("question", answer.query),
        ("asked_at_utc", asked_at.isoformat(timespec="seconds")),
        ("kept_days", str(found.proof_days)),
        ("answer", state),
        ("post_in_collector_store", in_store),
        (),
        CSV_COLUMNS,
    ):
        writer.writerow(_cells(row))
    for r in answer.records:
        started = r.started_at.isoformat(timespec="seconds")
        ended = _ended(r).isoformat(timespec="seconds")
        cells = (
            started,
            ended,
            f"{r.seconds:.1f}",
            r.site,
            r.screen,
            str(r.display + 1),
            r.panel,
            r.post_key,
            r.source,
            r.url,
        )
        writer.writerow(_cells(cells))
    return out.getvalue()


def _cells(values: Iterable[str]) -> list[str]:
    """A cell that a spreadsheet would read as a formula (=, +, -, @, tab, CR) gets a leading quote:
    a post's URL or key is not trusted to run in the takedown file's reader."""
    return ["'" + v if v[:1] in ("=", "+", "-", "@", "\t", "\r") else v for v in values]
