// Keeps the scores, sizes and statuses of attempts listed on the page (the exercise page's
// "Your submissions", the history table) up to date as live.js reports a build's events.
(() => {
  // As labs.charts.megabytes writes it on the server.
  function size(bytes) {
    return bytes >= 100000 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
  }
  function set(attr, id, text) {
    for (const node of document.querySelectorAll(`[${attr}="${id}"]`)) node.textContent = text;
  }
  document.addEventListener("layerlab:event", (e) => {
    const d = e.detail || {};
    const p = d.payload || {};
    if (!d.submission) return;
    if (d.kind === "score" && typeof p.score === "number") set("data-history-score", d.submission, p.score.toFixed(1));
    if (d.kind !== "status") return;
    if (p.status === "done") {
      if (typeof p.score === "number") set("data-history-score", d.submission, p.score.toFixed(1));
      if (typeof p.image_size === "number") set("data-history-size", d.submission, size(p.image_size));
    } else if (p.status === "failed") {
      set("data-history-score", d.submission, (0).toFixed(1));
    }
  });
})();
