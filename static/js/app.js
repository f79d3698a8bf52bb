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
