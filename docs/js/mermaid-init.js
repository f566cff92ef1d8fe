// GitHub draws ```mermaid blocks itself; on the built site, this turns them into
// diagrams with Mermaid, loaded when a page has one (the build itself needs no network).
(function () {
  var blocks = document.querySelectorAll("pre > code.language-mermaid");
  if (!blocks.length) return;
  blocks.forEach(function (code) {
    var div = document.createElement("div");
    div.className = "mermaid";
    div.textContent = code.textContent;
    code.parentNode.replaceWith(div);
  });
  var script = document.createElement("script");
  script.src = "https://cdn.jsdelivr.net/npm/mermaid@11/dist/mermaid.min.js";
  script.onload = function () { window.mermaid.initialize({ startOnLoad: false }); window.mermaid.run(); };
  document.head.appendChild(script);
})();
