// Regrade progress: asks the server every 2 s how many submissions are regraded; when the
// regrade is no longer running, reloads the page, which then shows the preview.
(function () {
  "use strict";
  const box = document.querySelector("[data-regrade-progress][data-url]");
  if (!box) return;
  const bar = box.querySelector("progress");
  const text = box.querySelector('[data-role="progress-text"]');
  const template = box.dataset.text || "__DONE__ / __TOTAL__";

  async function poll() {
    try {
      const response = await fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const p = await response.json();
        bar.max = Math.max(1, p.total);
        bar.value = p.total ? p.done : 1;
        text.textContent = template.replace("__DONE__", p.done).replace("__TOTAL__", p.total);
        if (p.status !== "running") {
          location.reload();
          return;
        }
      }
    } catch (e) {
      // The next poll tries again.
    }
    setTimeout(poll, 2000);
  }

  setTimeout(poll, 2000);
})();
