// The lesson page: Mermaid draws each <pre class="mermaid"> (vendored, nothing fetched at run
// time), and the table of contents starts open on a wide screen, folded on a phone. (A wide code
// block or table joins the tab order while it scrolls: static/layerlab.js, on every page.)
(function () {
  "use strict";
  if (window.mermaid) {
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default" });
    // A drawn diagram shrinks to its column only down to MIN_SCALE of its own width, where its
    // text is still readable; wider than that (on a phone), its box scrolls sideways instead.
    var MIN_SCALE = 0.85;
    var naturalSize = function () {
      document.querySelectorAll(".lesson pre.mermaid svg").forEach(function (svg) {
        var box = svg.viewBox && svg.viewBox.baseVal;
        var width = parseFloat(svg.style.maxWidth) || (box && box.width);
        if (width > 0) {
          svg.style.width = width + "px";
          svg.style.maxWidth = "100%";
          svg.style.minWidth = Math.round(width * MIN_SCALE) + "px";
          svg.style.height = "auto";
        }
      });
      document.documentElement.dataset.diagrams = "drawn";
    };
    window.mermaid.run({ querySelector: ".lesson pre.mermaid" }).then(naturalSize, naturalSize);
  }
  var toc = document.getElementById("lesson-toc");
  if (toc && window.matchMedia("(min-width: 861px)").matches) {
    toc.open = true;
  }
})();
