// The check page: each trial's live panel is its own framed document (live.js drives one panel
// per document). The page follows them through live.js's layerlab:event, asks the server for the
// verdict whenever a build reaches a final status, and sizes each frame to its panel.
(function () {
  "use strict";
  const verdict = document.getElementById("check-verdict");
  const FINAL = new Set(["done", "failed", "error", "held"]);
  let asked = 0;

  async function refresh() {
    const mine = ++asked;
    let answer;
    try {
      answer = await (await fetch(verdict.dataset.url, { credentials: "same-origin" })).json();
    } catch (err) {
      return;
    }
    if (mine !== asked) return;
    if (verdict.textContent !== answer.line) verdict.textContent = answer.line;
    verdict.classList.toggle("ok", answer.ok === true);
    verdict.classList.toggle("bad", answer.ok === false);
    verdict.dataset.finished = answer.finished ? "true" : "false";
  }

  document.querySelectorAll("iframe.trial-frame").forEach((frame) => {
    let attached = null;
    const attach = () => {
      const doc = frame.contentDocument;
      if (!doc || !doc.body || attached === doc) return;
      attached = doc;
      const fit = () => {
        frame.style.height = `${doc.documentElement.scrollHeight + 4}px`;
      };
      new ResizeObserver(fit).observe(doc.body);
      fit();
      doc.addEventListener("layerlab:event", (e) => {
        const d = e.detail || {};
        if (d.kind === "status" && d.payload && FINAL.has(d.payload.status)) refresh();
      });
      refresh();
    };
    if (frame.contentDocument && frame.contentDocument.readyState === "complete") attach();
    frame.addEventListener("load", attach);
  });
})();
