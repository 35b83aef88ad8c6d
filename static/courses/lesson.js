// The lesson page: Mermaid draws each <pre class="mermaid"> (vendored, nothing fetched at run
// time), and the table of contents starts open on a wide screen, folded on a phone. (A wide code
// block or table joins the tab order while it scrolls: static/layerlab.js, on every page.)
(function () {
  "use strict";
  if (window.mermaid) {
    window.mermaid.initialize({ startOnLoad: true, securityLevel: "strict", theme: "default" });
  }
  var toc = document.getElementById("lesson-toc");
  if (toc && window.matchMedia("(min-width: 861px)").matches) {
    toc.open = true;
  }
})();
