// Draws the ```mermaid blocks of a page with the Mermaid copy served beside this file,
// loaded only on the pages that have such a block; nothing comes from a CDN.
(function () {
  var blocks = document.querySelectorAll("div.mermaid");
  if (blocks.length === 0) return;
  var script = document.createElement("script");
  script.src = new URL("mermaid.min.js", document.currentScript.src).href;
  script.onload = function () {
    mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default" });
    mermaid.run({ nodes: blocks });
  };
  document.head.appendChild(script);
})();
