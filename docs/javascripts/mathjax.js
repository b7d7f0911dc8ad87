// MathJax 3, served from the site itself (docs/hooks.py copies it there): no page loads from another host.
// Loaded once per page: by mkdocs (extra_javascript) on every page, and by mkdocs-jupyter on notebook pages
// (whose MathJax 2 configuration block MathJax 3 ignores). Markdown pages write maths as \( \) and \[ \]
// (pymdownx.arithmatex); notebooks as $ $ and $$ $$.
(function () {
  if (window.__diffcompareMathJax) { return; }
  window.__diffcompareMathJax = true;
  var here = document.currentScript.src;
  window.MathJax = {
    tex: {
      inlineMath: [["\\(", "\\)"], ["$", "$"]],
      displayMath: [["\\[", "\\]"], ["$$", "$$"]],
      processEscapes: true,
      processEnvironments: true
    },
    options: { ignoreHtmlClass: "tex2jax_ignore", processHtmlClass: "tex2jax_process" }
  };
  var script = document.createElement("script");
  script.src = new URL("../assets/mathjax/tex-chtml.js", here).href;
  script.async = true;
  document.head.appendChild(script);
})();
