// Every page: a code block, table or log wider (or taller) than its box joins the tab order while
// it scrolls, so it can be scrolled by keyboard, and leaves it again when the box fits (axe's
// scrollable-region-focusable). Content drawn later (a lesson preview, a build log, a file viewer)
// is picked up as it arrives.
(function () {
  "use strict";
  const SCROLLERS = "main pre, main table, main .scroll-x";
  function reachable(el) {
    const scrolls = el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
    if (scrolls && !el.hasAttribute("tabindex")) {
      el.setAttribute("tabindex", "0");
      el.dataset.scrollFocus = "1";
    } else if (!scrolls && el.dataset.scrollFocus === "1") {
      el.removeAttribute("tabindex");
      delete el.dataset.scrollFocus;
    }
  }
  if (!window.ResizeObserver) {
    document.querySelectorAll(SCROLLERS).forEach(reachable);
    return;
  }
  const watched = new WeakSet();
  const sizes = new ResizeObserver((entries) => entries.forEach((entry) => reachable(entry.target)));
  function watch(root) {
    if (root.matches && root.matches(SCROLLERS) && !watched.has(root)) {
      watched.add(root);
      sizes.observe(root);
    }
    if (root.querySelectorAll) root.querySelectorAll(SCROLLERS).forEach(watch);
  }
  watch(document);
  // Text added inside a box (log lines) changes its scroll size, not its box: check those too.
  new MutationObserver((records) => {
    for (const r of records) {
      r.addedNodes.forEach((n) => n.nodeType === Node.ELEMENT_NODE && watch(n));
      const box = r.target.nodeType === Node.ELEMENT_NODE ? r.target.closest(SCROLLERS) : r.target.parentElement && r.target.parentElement.closest(SCROLLERS);
      if (box) reachable(box);
    }
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
})();
