// The build context's tree marks the file the viewer shows (aria-current): the one the address
// names (#context-file-N, which CSS :target shows), else the first. Works without this too.
(function () {
  "use strict";
  var tree = document.querySelector(".context-tree");
  if (!tree) return;
  var links = tree.querySelectorAll("a[href^='#context-file-']");
  function mark() {
    var shown = document.querySelector(".context-view:target");
    var id = shown ? shown.id : links.length ? links[0].getAttribute("href").slice(1) : "";
    links.forEach(function (a) {
      if (a.getAttribute("href") === "#" + id) a.setAttribute("aria-current", "true");
      else a.removeAttribute("aria-current");
    });
  }
  window.addEventListener("hashchange", mark);
  mark();
})();
