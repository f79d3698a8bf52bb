// Small page behaviours; no framework, no build step.

// A field the user has typed into but not sent yet is "dirty": live refreshes wait for it.
document.addEventListener("input", (event) => {
  if (event.target.matches("input, select, textarea")) event.target.dataset.dirty = "1";
});

// A select marked data-autosubmit sends its form on change (no inline handler: the
// Content-Security-Policy forbids inline script).
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]") && event.target.form) {
    event.target.form.submit();
  }
});

// Live refresh: an element with hx-trigger="poll" gets a "poll" event every 3 s, unless an
// element matching its data-poll-unless selector is on the page (a field being edited, an
// error or a conflict the user has to read). A script rather than htmx's trigger filter,
// which needs eval (forbidden by the Content-Security-Policy). While the page's live stream
// is open the server says when to ask instead (see "Live updates" at the end of this file).
setInterval(() => {
  if (typeof htmx === "undefined") return;
  for (const el of document.querySelectorAll("[data-poll-unless]")) {
    if (liveStreamCovers(el)) continue;
    if (!document.querySelector(el.dataset.pollUnless)) htmx.trigger(el, "poll");
  }
}, 3000);

// "12 s ago" texts keep counting between refreshes.
function formatAgo(seconds) {
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return null; // older: keep the server's date
}
setInterval(() => {
  for (const el of document.querySelectorAll("time.ago[datetime]")) {
    const text = formatAgo(Math.round((Date.now() - Date.parse(el.dateTime)) / 1000));
    if (text) el.textContent = text;
  }
}, 5000);

// Planning room: drag a backlog ticket onto another to place it just above it. The same
// endpoint serves the keyboard ▲/▼ buttons.
document.addEventListener("dragstart", (event) => {
  const item = event.target.closest && event.target.closest(".backlog-item[draggable=true]");
  if (!item) return;
  event.dataTransfer.setData("text/plain", item.dataset.key);
  event.dataTransfer.effectAllowed = "move";
  item.classList.add("dragging");
});
document.addEventListener("dragend", (event) => {
  if (event.target.classList) event.target.classList.remove("dragging");
});
document.addEventListener("dragover", (event) => {
  if (event.target.closest && event.target.closest(".backlog-item")) event.preventDefault();
});
document.addEventListener("drop", (event) => {
  const target = event.target.closest && event.target.closest(".backlog-item");
  const list = target && target.closest("[data-rank-url]");
  if (!target || !list) return;
  event.preventDefault();
  const key = event.dataTransfer.getData("text/plain");
  const dragged = list.querySelector(`.backlog-item[data-key="${key}"]`);
  if (!dragged || dragged === target) return;
  const sprint = document.querySelector("#target-sprint");
  // Send the backlog filters, as the ▲/▼ buttons do. The answer moves the row itself
  // (out-of-band swaps), so nothing is swapped into the room.
  const filters = document.querySelector("#planning-filters");
  const kept = filters ? Object.fromEntries(new FormData(filters)) : {};
  htmx.ajax("POST", list.dataset.rankUrl, {
    target: "#planning-room",
    swap: "none",
    values: {
      ...kept,
      ticket: key,
      version: dragged.dataset.version,
      before: target.dataset.key,
      sprint: sprint ? sprint.value : "",
    },
  });
});

// === Phones: the top bar's menu =============================================================
// Below 900 px the main menu and the account controls fold behind the "Menu" button, a
// disclosure (aria-expanded). Escape folds it again and gives the focus back to the button.
// Without script, noscript.css shows the menu unfolded.
function setSiteMenu(button, open) {
  button.setAttribute("aria-expanded", open ? "true" : "false");
  const bar = button.closest(".topbar");
  if (bar) bar.classList.toggle("menu-open", open);
}
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("[data-menu-toggle]");
  if (button) setSiteMenu(button, button.getAttribute("aria-expanded") !== "true");
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const button = document.querySelector("[data-menu-toggle][aria-expanded='true']");
  if (!button) return;
  setSiteMenu(button, false);
  button.focus();
});

// === Team board: drag a card to another column ==============================================
// A drop posts what the card's ← / → forms post, to the same endpoint, so the server answers
// as it does for them: the whole board when the card moved (a column now over its WIP limit
// is said on the moved card), or the card itself with the refusal when a gate held it back.
// A refused card stays where it was and its refusal is moved into the lane it was dropped
// on. Mouse: native HTML5 drag and drop. Touch and pen: hold the card still for a moment,
// then drag; a quick swipe still scrolls the lanes. The buttons stay for the keyboard.
const BOARD_CARD = ".board-card[data-move-url]";
const BOARD_CELL = "ol.board-cell[data-status]";
const BOARD_HOLD_MS = 350; // a touch held this long on a card picks it up
const BOARD_SWIPE_PX = 8; // a touch moving further before that is a swipe (scroll)
const BOARD_EDGE_PX = 36; // a card held this near a side of the lanes brings the next lane
let boardDragged = null; // the card in a mouse (HTML5) drag
let boardTouch = null; // the touch or pen drag in progress: see boardTouchStart

function boardCellAt(x, y) {
  const hit = document.elementFromPoint(x, y);
  return hit && hit.closest(BOARD_CELL);
}

function boardAccepts(card, cell) {
  return Boolean(
    card && cell && cell.dataset.status !== card.dataset.column
      && cell.closest(".board-grid") === card.closest(".board-grid"),
  );
}

function boardMarkTarget(cell) {
  for (const marked of document.querySelectorAll(`${BOARD_CELL}.drop-target`)) {
    if (marked !== cell) marked.classList.remove("drop-target");
  }
  if (cell) cell.classList.add("drop-target");
}

function boardMove(card, cell) {
  if (typeof htmx === "undefined") return;
  for (const old of document.querySelectorAll(".board-drop-refusal")) old.remove();
  const key = card.dataset.key;
  htmx.ajax("POST", card.dataset.moveUrl, {
    source: cell,
    target: `#${CSS.escape(card.id)}`,
    swap: "outerHTML",
    values: { version: card.dataset.version, column: card.dataset.column, status: cell.dataset.status },
  }).then(() => boardShowRefusalAt(key, cell));
}

// Refused: the card came back where it was, its refusal inside. Put the refusal (with its
// "Close anyway" form) at the top of the lane the card was dropped on, and the focus on it.
function boardShowRefusalAt(key, cell) {
  const card = document.getElementById(`card-${key}`);
  const refusal = card && card.querySelector(":scope > .card-error");
  if (!refusal || !cell.isConnected) return; // moved: the board was drawn afresh
  const home = card.closest(BOARD_CELL);
  const item = document.createElement("li");
  item.className = "board-drop-refusal";
  item.dataset.key = key;
  const what = document.createElement("p");
  what.className = "board-drop-what";
  const link = Object.assign(document.createElement("a"), { href: `#${card.id}`, textContent: key });
  what.append(link, ` stays in ${home ? home.dataset.label : "its column"}:`);
  item.append(what, refusal);
  const quickAdd = cell.querySelector(":scope > .quick-add");
  if (quickAdd) quickAdd.after(item);
  else cell.prepend(item);
  // htmx readies swapped-in content when it settles, after this: ready the moved part now.
  htmx.process(item);
  refusal.focus();
}
// A request from that refusal ("Close anyway" without a reason) answers with the card again:
// its new refusal goes back to the same lane.
document.addEventListener("htmx:afterRequest", (event) => {
  const elt = event.detail && event.detail.elt;
  const item = elt && elt.closest && elt.closest(".board-drop-refusal");
  if (!item) return;
  const cell = item.closest(BOARD_CELL);
  item.remove();
  if (cell) boardShowRefusalAt(item.dataset.key, cell);
});

// Mouse: HTML5 drag and drop.
function boardEndDrag() {
  if (boardDragged) boardDragged.classList.remove("dragging");
  boardDragged = null;
  boardMarkTarget(null);
}
document.addEventListener("dragstart", (event) => {
  const card = event.target.closest && event.target.closest(BOARD_CARD);
  if (!card) return;
  boardDragged = card;
  event.dataTransfer.setData("text/plain", card.dataset.key);
  event.dataTransfer.effectAllowed = "move";
  card.classList.add("dragging");
});
document.addEventListener("dragover", (event) => {
  if (!boardDragged) return;
  const cell = event.target.closest && event.target.closest(BOARD_CELL);
  if (!boardAccepts(boardDragged, cell)) {
    boardMarkTarget(null);
    return;
  }
  event.preventDefault();
  event.dataTransfer.dropEffect = "move";
  boardMarkTarget(cell);
});
document.addEventListener("drop", (event) => {
  if (!boardDragged) return;
  const card = boardDragged;
  const cell = event.target.closest && event.target.closest(BOARD_CELL);
  boardEndDrag();
  if (!boardAccepts(card, cell)) return;
  event.preventDefault();
  boardMove(card, cell);
});
document.addEventListener("dragend", boardEndDrag);

// A press decides how the card may be dragged: a mouse drags it natively (except from a text
// field on it, which keeps selecting text); touch and pen use the hold-and-drag below.
document.addEventListener("pointerdown", (event) => {
  const card = event.target.closest && event.target.closest(BOARD_CARD);
  if (!card) return;
  const inField = Boolean(event.target.closest("input, textarea, select"));
  card.draggable = event.pointerType === "mouse" && !inField;
  if (event.pointerType !== "mouse") boardTouchStart(card, event);
});

// Touch and pen.
function boardTouchStart(card, event) {
  boardTouchEnd();
  if (event.target.closest("a, button, input, select, textarea, summary, label")) return;
  const touch = {
    card,
    id: event.pointerId,
    startX: event.clientX,
    startY: event.clientY,
    x: event.clientX,
    y: event.clientY,
    ghost: null,
    lastLaneJump: 0,
  };
  touch.timer = setTimeout(() => boardTouchPickUp(touch), BOARD_HOLD_MS);
  boardTouch = touch;
}

function boardTouchPickUp(touch) {
  if (boardTouch !== touch || !touch.card.isConnected) return;
  const box = touch.card.getBoundingClientRect();
  const ghost = touch.card.cloneNode(true);
  for (const withId of [ghost, ...ghost.querySelectorAll("[id]")]) withId.removeAttribute("id");
  ghost.removeAttribute("draggable");
  ghost.setAttribute("aria-hidden", "true");
  ghost.classList.add("board-ghost");
  ghost.style.width = `${box.width}px`;
  ghost.style.left = `${box.left}px`;
  ghost.style.top = `${box.top}px`;
  touch.card.closest(".board").append(ghost); // inside the board: the card's own styles apply
  touch.ghost = ghost;
  touch.card.classList.add("dragging");
  if (navigator.vibrate) navigator.vibrate(15);
}

function boardTouchFollow(touch) {
  if (!touch.card.isConnected) { // a live refresh redrew the board meanwhile
    boardTouchEnd();
    return;
  }
  touch.ghost.style.transform = `translate(${touch.x - touch.startX}px, ${touch.y - touch.startY}px)`;
  const cell = boardCellAt(touch.x, touch.y);
  boardMarkTarget(boardAccepts(touch.card, cell) ? cell : null);
  // Held near a side of the lanes: the next lane slides in (one lane per moment).
  const lanes = touch.card.closest(".board-grid");
  const box = lanes.getBoundingClientRect();
  const side = touch.x < box.left + BOARD_EDGE_PX ? -1 : touch.x > box.right - BOARD_EDGE_PX ? 1 : 0;
  if (side && Date.now() - touch.lastLaneJump > 700) {
    touch.lastLaneJump = Date.now();
    lanes.scrollBy({ left: side * lanes.clientWidth * 0.8, behavior: "smooth" });
  }
}

function boardTouchEnd() {
  const touch = boardTouch;
  if (!touch) return;
  boardTouch = null;
  clearTimeout(touch.timer);
  if (touch.ghost) touch.ghost.remove();
  touch.card.classList.remove("dragging");
  boardMarkTarget(null);
}

document.addEventListener("pointermove", (event) => {
  const touch = boardTouch;
  if (!touch || event.pointerId !== touch.id) return;
  touch.x = event.clientX;
  touch.y = event.clientY;
  if (touch.ghost) boardTouchFollow(touch);
  else if (Math.hypot(touch.x - touch.startX, touch.y - touch.startY) > BOARD_SWIPE_PX) boardTouchEnd();
});
document.addEventListener("pointerup", (event) => {
  const touch = boardTouch;
  if (!touch || event.pointerId !== touch.id) return;
  const cell = touch.ghost ? boardCellAt(event.clientX, event.clientY) : null;
  boardTouchEnd();
  if (boardAccepts(touch.card, cell)) boardMove(touch.card, cell);
});
document.addEventListener("pointercancel", (event) => {
  if (boardTouch && event.pointerId === boardTouch.id) boardTouchEnd();
});
// While a card is held the finger drags it, not the page; and no long-press menu opens.
document.addEventListener("touchmove", (event) => {
  if (boardTouch && boardTouch.ghost) event.preventDefault();
}, { passive: false });
document.addEventListener("contextmenu", (event) => {
  if (boardTouch) event.preventDefault();
});

// Projector mode: larger type and stronger contrast for a shared screen. The choice is kept
// in localStorage, so the planning room and the boards stay in it across pages and reloads.
const PROJECTOR_KEY = "sprintplan.projector";
function setProjector(on) {
  document.documentElement.classList.toggle("projector", on);
  for (const button of document.querySelectorAll("[data-projector-toggle]")) {
    button.setAttribute("aria-pressed", on ? "true" : "false");
  }
}
try {
  setProjector(localStorage.getItem(PROJECTOR_KEY) === "1");
} catch (error) {
  setProjector(false); // storage blocked: the toggle still works for this page
}
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("[data-projector-toggle]");
  if (!button) return;
  const on = !document.documentElement.classList.contains("projector");
  setProjector(on);
  try {
    localStorage.setItem(PROJECTOR_KEY, on ? "1" : "0");
  } catch (error) {
    /* not remembered; fine */
  }
});

// Keyboard: an htmx action that re-renders a whole region (pull in, take out, rank ▲/▼)
// would drop focus to the page top. Put it back on the same control, or on the control of
// the same ticket that replaced it ("Pull in" becomes "take out"), or on the region.
let refocus = null;
document.addEventListener("htmx:beforeRequest", (event) => {
  const elt = event.detail.elt;
  if (!elt || !elt.closest || !elt.closest("[data-keep-focus]")) return;
  if (document.activeElement !== elt && !elt.contains(document.activeElement)) return;
  refocus = {
    label: elt.getAttribute("aria-label"),
    key: elt.dataset.focusKey,
    xhr: event.detail.xhr,
  };
});
document.addEventListener("htmx:afterSettle", (event) => {
  if (!refocus) return;
  // Only the answer to the request that asked: another request settling meanwhile (the
  // bell's unread count, a live refresh elsewhere) must not take the focus request.
  if (refocus.xhr && event.detail && event.detail.xhr !== refocus.xhr) return;
  const wanted = refocus;
  refocus = null;
  const region = document.querySelector("[data-keep-focus]");
  if (!region) return;
  const byLabel = wanted.label && region.querySelector(`[aria-label="${CSS.escape(wanted.label)}"]`);
  const byKey = wanted.key && region.querySelector(`[data-focus-key="${CSS.escape(wanted.key)}"]`);
  const target = byLabel || byKey || region;
  if (target === region) region.setAttribute("tabindex", "-1");
  target.focus();
});

// A link to a collapsed section (the sprint page's "What if…?" at the top) opens it.
function openTarget(hash) {
  if (!hash || hash.length < 2) return;
  const target = document.getElementById(hash.slice(1));
  const details = target && (target.tagName === "DETAILS" ? target : target.querySelector("details"));
  if (details) details.open = true;
}
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a[href^='#']");
  if (link) openTarget(link.getAttribute("href"));
});
window.addEventListener("load", () => openTarget(window.location.hash));

// Pickers (new ticket form): a click on a match puts it in the field as a chip carrying a
// hidden input; single pickers hold one chip, multi pickers several; × removes one.
document.addEventListener("click", (event) => {
  const pick = event.target.closest && event.target.closest("[data-pick]");
  if (pick) {
    const picker = document.querySelector(`[data-picker="${CSS.escape(pick.dataset.pick)}"]`);
    if (!picker) return;
    const chips = picker.querySelector(".chips");
    const value = pick.dataset.value;
    if (picker.dataset.multi !== "1") chips.replaceChildren();
    if (![...chips.querySelectorAll("input")].some((input) => input.value === value)) {
      const chip = document.createElement("span");
      chip.className = "chip";
      chip.textContent = pick.dataset.label;
      const input = Object.assign(document.createElement("input"), {
        type: "hidden", name: pick.dataset.pick, value,
      });
      const remove = Object.assign(document.createElement("button"), {
        type: "button", className: "link", textContent: "×",
      });
      remove.dataset.unpick = "";
      remove.setAttribute("aria-label", `Remove ${value}`);
      chip.append(input, remove);
      chips.append(chip);
    }
    picker.querySelector(".pick-results").replaceChildren();
    const search = picker.querySelector("input[type=search]");
    search.value = "";
    search.focus();
    return;
  }
  const unpick = event.target.closest && event.target.closest("[data-unpick]");
  if (unpick) unpick.closest(".chip").remove();
});
// Enter in a picker's search box picks the first match instead of sending the form.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || !event.target.closest) return;
  const picker = event.target.closest("[data-picker]");
  if (!picker || event.target.type !== "search") return;
  event.preventDefault();
  const first = picker.querySelector(".pick-results [data-pick]");
  if (first) first.click();
});

// "c" anywhere (outside a text field) opens the new-ticket form, as in Jira and Linear.
document.addEventListener("keydown", (event) => {
  if (event.key !== "c" || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
  const link = document.querySelector("[data-new-ticket]");
  if (link) {
    event.preventDefault();
    window.location.href = link.href;
  }
});

// No inline handlers (the Content-Security-Policy forbids them): a select marked
// data-autosubmit sends its form when changed; a button marked data-print prints the page.
document.addEventListener("change", (event) => {
  const field = event.target.closest && event.target.closest("[data-autosubmit]");
  if (field && field.form) field.form.requestSubmit();
});
document.addEventListener("click", (event) => {
  if (event.target.closest && event.target.closest("[data-print]")) window.print();
});

// === Partial re-renders and lazy parts (planning room, sprint page) ===
// A search box that asks the server as you type holds back the live refresh only while it
// has text (the refresh would redraw the lists unfiltered); cleared, refreshes resume.
document.addEventListener("input", (event) => {
  if (event.target.matches && event.target.matches("[data-search]") && !event.target.value) {
    delete event.target.dataset.dirty;
  }
});
// A live refresh asked for before the user opened a row's editor (or typed) arrives after
// it: drop that answer rather than close the editor; the next refresh comes once it is sent.
document.addEventListener("htmx:beforeSwap", (event) => {
  const source = event.detail.elt;
  const unless = source && source.dataset && source.dataset.pollUnless;
  if (unless && document.querySelector(unless)) event.detail.shouldSwap = false;
});

// ==== Live updates: server-sent events ===================================================
// A page's live blocks ([data-live-stream], each also a poll block above) share one stream
// (an EventSource on the server's /live/ endpoint) for the union of their data-live-topics.
// An event names the topics that may have changed ("*": any); each block that shows one asks
// its own live endpoint with the version it shows, which answers 204 unless its fragment
// moved. While the stream is open the 3-s poll rests; when it drops the poll takes over, and
// when it opens again every block asks once (changes made meanwhile are not lost). A block
// the user is busy in (its data-poll-unless matches) keeps the news and asks when free.
const LIVE_COALESCE_MS = 25; // a burst of events (ticket, insights ...) becomes one ask
const LIVE_SAFETY_MS = 60000; // and once a minute anyway: a writer that said nothing
const LIVE_RECONNECT_MS = [15000, 300000]; // after the browser gave up: first, longest wait
const liveState = {
  source: null, url: "", open: false, flushTimer: null, retryMs: 0, retryTimer: null,
};

function liveBlocks() {
  return [...document.querySelectorAll("[data-live-stream][data-live-topics]")];
}

function liveStreamUrl() {
  const blocks = liveBlocks();
  if (!blocks.length) return "";
  const topics = new Set(blocks.flatMap((el) => el.dataset.liveTopics.split(/[ ,]+/)));
  topics.delete("");
  const query = encodeURIComponent([...topics].sort().join(","));
  return `${blocks[0].dataset.liveStream}?topics=${query}`;
}

// Called by the poll above: true while the stream makes polling this block unnecessary.
function liveStreamCovers(el) {
  if (!liveState.open || !el.matches("[data-live-stream]")) return false;
  return !el.dataset.livePending; // news it could not act on yet: let the poll ask
}

function liveFlush() {
  liveState.flushTimer = null;
  if (typeof htmx === "undefined") return;
  for (const el of liveBlocks()) {
    if (!el.dataset.livePending || document.querySelector(el.dataset.pollUnless)) continue;
    delete el.dataset.livePending;
    htmx.trigger(el, "poll");
  }
}

function liveNotify(topics) {
  for (const el of liveBlocks()) {
    const mine = el.dataset.liveTopics.split(/[ ,]+/);
    if (topics.includes("*") || topics.some((topic) => mine.includes(topic))) {
      el.dataset.livePending = "1";
    }
  }
  if (!liveState.flushTimer) liveState.flushTimer = setTimeout(liveFlush, LIVE_COALESCE_MS);
}

function liveConnect(force = false) {
  const url = liveStreamUrl();
  if (!force && url === liveState.url && liveState.source) return;
  if (liveState.source) liveState.source.close();
  clearTimeout(liveState.retryTimer);
  Object.assign(liveState, { source: null, url, open: false });
  if (!url || typeof EventSource === "undefined") return;
  const source = new EventSource(url);
  liveState.source = source;
  const current = () => liveState.source === source; // not one replaced meanwhile
  source.addEventListener("open", () => {
    if (!current()) return;
    liveState.open = true;
    liveState.retryMs = 0;
    liveNotify(["*"]); // whatever changed while there was no stream
  });
  source.addEventListener("changed", (event) => {
    if (!current()) return;
    try {
      liveNotify(JSON.parse(event.data).topics || ["*"]);
    } catch (error) {
      liveNotify(["*"]);
    }
  });
  source.addEventListener("error", () => {
    if (!current()) return;
    liveState.open = false; // polling until it is back
    if (source.readyState !== EventSource.CLOSED) return; // the browser reconnects itself
    // Refused (signed out, a server without streams): try again later, less and less often.
    const [first, longest] = LIVE_RECONNECT_MS;
    liveState.retryMs = Math.min(liveState.retryMs ? liveState.retryMs * 2 : first, longest);
    liveState.retryTimer = setTimeout(() => liveConnect(true), liveState.retryMs);
  });
}

setInterval(() => {
  if (liveState.open) liveNotify(["*"]);
}, LIVE_SAFETY_MS);
document.addEventListener("DOMContentLoaded", () => liveConnect());
// A swap may bring other blocks (another sprint); the same topics keep the same stream.
document.addEventListener("htmx:afterSettle", () => liveConnect());
