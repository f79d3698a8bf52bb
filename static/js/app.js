// Small page behaviours; no framework, no build step.

// A field the user has typed into but not sent yet is "dirty": live refreshes wait for it.
document.addEventListener("input", (event) => {
  if (event.target.matches("input, select, textarea")) event.target.dataset.dirty = "1";
});

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
  htmx.ajax("POST", list.dataset.rankUrl, {
    target: "#planning-room",
    swap: "outerHTML",
    values: {
      ticket: key,
      version: dragged.dataset.version,
      before: target.dataset.key,
      sprint: sprint ? sprint.value : "",
    },
  });
});
