// The moderation page's only script (served by the wall; the Content-Security-Policy allows no other):
// it refreshes the picture of the lobby screen every few seconds, and merges new and changed posts
// into the open queue (GET /queue, issue 15) without a reload: what the moderator is typing or has
// focused stays, and the post they were reading stays where it was on the screen.
"use strict";
const screen = document.getElementById("screen");
if (screen) {
  setInterval(() => {
    screen.src = "/screen.png?t=" + Date.now();
  }, 3000);
}

const QUEUE_REFRESH_MS = 4000;

function firstVisiblePost() {
  for (const post of document.querySelectorAll("#posts li.post")) {
    if (post.getBoundingClientRect().bottom > 0) return post;
  }
  return null;
}

function keepFocused(node) {
  return node.contains(document.activeElement);
}

function mergeQueue(fresh) {
  const section = document.getElementById("posts");
  const anchor = firstVisiblePost();
  const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
  const tabs = section.querySelector("nav.filters");
  const freshTabs = fresh.querySelector("nav.filters");
  if (tabs && freshTabs && !keepFocused(tabs)) tabs.replaceWith(freshTabs);
  let list = section.querySelector("ul.queue");
  const freshList = fresh.querySelector("ul.queue");
  if (!freshList) return; // nothing listed any more: keep what the moderator sees until a reload
  if (!list) {
    section.querySelector("p.none")?.replaceWith(freshList);
    return;
  }
  const old = new Map([...list.children].map((li) => [li.dataset.key, li]));
  let before = list.firstElementChild;
  for (const li of [...freshList.children]) {
    let kept = old.get(li.dataset.key);
    old.delete(li.dataset.key);
    if (kept && kept.outerHTML !== li.outerHTML && !keepFocused(kept)) {
      kept.replaceWith(li);
      kept = li;
    }
    const node = kept || li;
    if (node !== before) list.insertBefore(node, before);
    before = node.nextElementSibling;
  }
  for (const gone of old.values()) if (!keepFocused(gone)) gone.remove();
  if (anchor && anchor.isConnected) window.scrollBy(0, anchor.getBoundingClientRect().top - anchorTop);
}

const posts = document.getElementById("posts");
if (posts) {
  const url = "/queue?" + posts.dataset.view;
  let seen = ""; // the ETag of the last answer: the wall answers 304 while nothing changed
  const refresh = setInterval(async () => {
    let answer;
    try {
      const headers = seen ? { "If-None-Match": seen } : {};
      answer = await fetch(url, { redirect: "error", cache: "no-store", headers });
    } catch {
      return; // the wall restarts or the network hiccups: try again next time
    }
    if (answer.status === 401) return clearInterval(refresh); // logged out: the next action says so
    if (!answer.ok) return; // 304: nothing new
    seen = answer.headers.get("ETag") || "";
    const html = await answer.text();
    const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("posts");
    if (fresh) mergeQueue(fresh);
  }, QUEUE_REFRESH_MS);
}

// The fleet page (issue 16): each screen's card follows its heartbeats and pictures without a reload
// (GET /fleet/screens every few seconds, 304 while nothing changed). A picture whose address (the
// screenshot's time) did not change is kept, not fetched again; a card whose button has the focus
// keeps its button; a screen is never dropped from an open page (the collector keeps them all).
const FLEET_REFRESH_MS = 3000;

function sameText(mine, theirs) {
  if (mine && theirs && mine.textContent !== theirs.textContent) mine.textContent = theirs.textContent;
}

function updateCard(card, fresh) {
  const picture = card.querySelector("img");
  const freshPicture = fresh.querySelector("img");
  if (picture && freshPicture && picture.getAttribute("src") === freshPicture.getAttribute("src")) {
    freshPicture.replaceWith(picture);
  }
  if (!keepFocused(card)) {
    card.replaceWith(fresh);
    return fresh;
  }
  // Moving a focused button would blur it: change everything around it instead.
  card.className = fresh.className;
  const kept = [...card.children];
  [...fresh.children].forEach((child, i) => {
    if (kept[i] && !keepFocused(kept[i]) && kept[i].outerHTML !== child.outerHTML) kept[i].replaceWith(child);
  });
  return card;
}

function mergeScreens(live, fresh) {
  sameText(live.querySelector(".fleet-summary"), fresh.querySelector(".fleet-summary"));
  sameText(live.querySelector("section.fleet h2"), fresh.querySelector("section.fleet h2"));
  const notice = live.querySelector(".fleet-missed, .fleet-reached");
  const freshNotice = fresh.querySelector(".fleet-missed, .fleet-reached");
  if (notice && !freshNotice) notice.remove();
  else if (!notice && freshNotice) live.querySelector("section.fleet").before(freshNotice);
  else if (notice && notice.outerHTML !== freshNotice.outerHTML) notice.replaceWith(freshNotice);
  const freshList = fresh.querySelector("ul.screens");
  if (!freshList) return;
  const list = live.querySelector("ul.screens");
  if (!list) {
    live.querySelector("section.fleet p.none")?.replaceWith(freshList);
    return;
  }
  const old = new Map([...list.children].map((li) => [li.id, li]));
  let before = list.firstElementChild;
  for (const card of [...freshList.children]) {
    let kept = old.get(card.id);
    if (kept && kept.outerHTML !== card.outerHTML) kept = updateCard(kept, card);
    const node = kept || card;
    if (node !== before) list.insertBefore(node, before);
    before = node.nextElementSibling;
  }
}

const fleetLive = document.getElementById("fleet-live");
if (fleetLive) {
  let seen = ""; // the ETag of the last answer
  const refresh = setInterval(async () => {
    let answer;
    try {
      const headers = seen ? { "If-None-Match": seen } : {};
      answer = await fetch(fleetLive.dataset.live, { redirect: "error", cache: "no-store", headers });
    } catch {
      return; // the collector restarts or the network hiccups: try again next time
    }
    if (answer.status === 401) return clearInterval(refresh); // logged out: a reload says so
    if (!answer.ok) return; // 304: nothing new
    seen = answer.headers.get("ETag") || "";
    const html = await answer.text();
    const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("fleet-live");
    if (fresh) mergeScreens(fleetLive, fresh);
  }, FLEET_REFRESH_MS);
}
