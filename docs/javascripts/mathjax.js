// MathJax 2 from the site itself (copied from jupyter-server-mathjax by docs/hooks.py): no other host.
// Loaded once per page: by mkdocs (extra_javascript) on every page, and by mkdocs-jupyter on notebook pages.
(function () {
  if (window.__diffcompareMathJax) { return; }
  window.__diffcompareMathJax = true;
  var here = document.currentScript.src;
  window.MathJax = {
    tex2jax: {
      inlineMath: [["$", "$"], ["\\(", "\\)"]],
      displayMath: [["$$", "$$"], ["\\[", "\\]"]],
      processEscapes: true,
      processEnvironments: true
    },
    TeX: { extensions: ["AMSmath.js", "AMSsymbols.js"] },
    messageStyle: "none",
    "HTML-CSS": { availableFonts: ["TeX"], imageFont: null },
    CommonHTML: { linebreaks: { automatic: true } }
  };
  var script = document.createElement("script");
  script.src = new URL("../assets/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full", here).href;
  document.head.appendChild(script);
})();
