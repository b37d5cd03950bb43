"""Static assets shipped inside the site folder: the Vega/Vega-Lite/vega-embed bundle (from
vl-convert, no CDN), the stylesheet and the small script that renders every embedded chart."""

from __future__ import annotations

import functools
from pathlib import Path

import vl_convert as vlc

BUNDLE = "vega-bundle.js"

SITE_JS = r"""/* frontier site: render every embedded Vega-Lite spec with vega-embed (all local, no network).
   State for tests and humans: <html data-charts-total, data-charts-rendered, data-charts-failed, data-errors>. */
(function () {
  "use strict";
  var root = document.documentElement;
  var errors = window.__frontierErrors || [];
  var state = {total: 0, rendered: 0, failed: 0};
  function sync() {
    root.setAttribute("data-charts-total", String(state.total));
    root.setAttribute("data-charts-rendered", String(state.rendered));
    root.setAttribute("data-charts-failed", String(state.failed));
    root.setAttribute("data-errors", JSON.stringify(errors));
  }
  var origError = console.error;
  console.error = function () {
    errors.push(Array.prototype.map.call(arguments, String).join(" ")); sync();
    return origError.apply(console, arguments);
  };
  var opts = {renderer: "svg", actions: {export: true, source: false, compiled: false, editor: false}};
  var boxes = document.querySelectorAll('script.vl-spec[type="application/json"]');
  state.total = boxes.length;
  window.frontierCharts = state;
  sync();
  if (typeof window.vegaEmbed !== "function") {
    errors.push("vega-embed bundle did not load (assets/vega-bundle.js)"); sync();
    return;
  }
  boxes.forEach(function (el) {
    var target = document.getElementById(el.getAttribute("data-target"));
    if (!target) { state.failed += 1; errors.push("no chart container " + el.getAttribute("data-target")); sync(); return; }
    var spec;
    try { spec = JSON.parse(el.textContent); } catch (err) {
      target.textContent = "chart spec is not valid JSON: " + err;
      state.failed += 1; errors.push(String(err)); sync();
      return;
    }
    window.vegaEmbed(target, spec, opts).then(function () {
      state.rendered += 1;
      target.setAttribute("data-rendered", "1");
      sync();
    }).catch(function (err) {
      target.textContent = "chart failed to render: " + err;
      state.failed += 1;
      console.error("frontier chart " + el.getAttribute("data-target") + ": " + err);
    });
  });
  document.querySelectorAll("[data-toggle]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var group = btn.getAttribute("data-group");
      document.querySelectorAll('button[data-group="' + group + '"]').forEach(function (b) {
        b.classList.toggle("on", b === btn);
      });
      document.querySelectorAll('[data-pane="' + group + '"]').forEach(function (pane) {
        pane.hidden = pane.getAttribute("data-view") !== btn.getAttribute("data-toggle");
      });
    });
  });
})();
"""

# runs first in <head>: collects uncaught errors (even from the bundle) for site.js to publish
ERROR_TRAP_JS = (
    "window.__frontierErrors=[];window.addEventListener('error',function(e){"
    "window.__frontierErrors.push(String(e.message||e.type)+' @ '+String(e.filename||''));});"
    "window.addEventListener('unhandledrejection',function(e){window.__frontierErrors.push("
    "'unhandled rejection: '+String(e.reason));});"
)

SITE_CSS = """
:root { --ink:#1f2430; --muted:#6b7280; --line:#e5e7eb; --bg:#f6f7f9; --card:#fff; --accent:#1f77b4;
        --bad:#b42318; --bad-bg:#fef3f2; --good:#067647; --good-bg:#ecfdf3; --warn:#b45309; --warn-bg:#fffaeb; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 Inter, "Segoe UI", "Helvetica Neue", Arial, "DejaVu Sans", sans-serif;
       color:var(--ink); background:var(--bg); }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
header.top { display:flex; gap:16px; align-items:center; padding:10px 24px; background:#111827; color:#e5e7eb; }
header.top a { color:#e5e7eb; } header.top nav { flex:1; color:#9ca3af; } header.top nav strong { color:#fff; }
header.top .brand { font-weight:700; letter-spacing:.3px; }
main { max-width:1880px; margin:0 auto; padding:18px 24px 40px; }
footer { color:var(--muted); font-size:12px; padding:8px 24px 24px; max-width:1880px; margin:0 auto; }
h1 { font-size:22px; margin:4px 0 2px; } h2 { font-size:17px; margin:26px 0 10px; }
h3 { font-size:15px; margin:0 0 6px; }
.sub { color:var(--muted); margin:0 0 14px; }
.tiles { display:flex; flex-wrap:wrap; gap:10px; margin:12px 0 8px; }
.tile { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:8px 14px; min-width:120px; }
.tile .k { color:var(--muted); font-size:11px; text-transform:uppercase; letter-spacing:.5px; }
.tile .v { font-size:18px; font-weight:650; font-variant-numeric: tabular-nums; }
.tile.bad { border-color:#fda29b; background:var(--bad-bg); } .tile.bad .v { color:var(--bad); }
.tile.good .v { color:var(--good); } .tile.warn { border-color:#fedf89; background:var(--warn-bg); }
.banner { border-radius:8px; padding:10px 14px; margin:12px 0; border:1px solid; }
.banner.bad { background:var(--bad-bg); border-color:#fda29b; }
.banner.good { background:var(--good-bg); border-color:#abefc6; }
.banner.note { background:#f9fafb; border-color:var(--line); color:var(--muted); }
.cards { display:grid; grid-template-columns: 1fr; gap:16px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px;
        overflow-x:auto; }
.card-head { display:flex; justify-content:space-between; align-items:baseline; gap:12px; }
.card-head .links { font-size:12px; white-space:nowrap; }
.card-body { display:grid; grid-template-columns: max-content minmax(320px, 1fr); gap:18px; align-items:start; }
.card-chart { overflow-x:auto; max-width:100%; } .card-side { overflow-x:auto; min-width:0; }
.card-side h4 { margin:8px 0 4px; font-size:13px; } .card-side table.data { font-size:12px; }
@media (max-width: 1400px) { .card-body { grid-template-columns: 1fr; } }
.chart-box { margin:6px 0 4px; } .chart { min-height:200px; }
.chart-links { font-size:12px; color:var(--muted); }
.toggle { display:inline-flex; border:1px solid var(--line); border-radius:6px; overflow:hidden; font-size:12px; }
.toggle button { border:0; background:#fff; padding:3px 10px; cursor:pointer; color:var(--muted); }
.toggle button.on { background:#111827; color:#fff; }
table.data { border-collapse:collapse; width:100%; font-size:12.5px; background:var(--card); }
table.data th { text-align:left; font-weight:600; color:var(--muted); border-bottom:1px solid var(--line);
                padding:5px 8px; white-space:nowrap; font-size:11.5px; }
table.data td { padding:4px 8px; border-bottom:1px solid #f0f1f4; vertical-align:top; }
table.data td.num { text-align:right; font-variant-numeric: tabular-nums; white-space:nowrap; }
table.data tr.bad td { background:var(--bad-bg); } table.data tr.warn td { background:var(--warn-bg); }
.tablebox { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:8px 10px; overflow-x:auto; }
.empty { color:var(--muted); font-style:italic; margin:4px 0; }
.pill { display:inline-block; padding:1px 8px; border-radius:10px; font-size:11.5px; font-weight:600; }
.pill.success, .pill.ok { background:var(--good-bg); color:var(--good); }
.pill.failed { background:var(--bad-bg); color:var(--bad); }
.pill.partial, .pill.running { background:var(--warn-bg); color:var(--warn); }
pre { background:#0f172a; color:#e2e8f0; padding:12px; border-radius:8px; overflow:auto; font-size:12px;
      font-family: "JetBrains Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace; max-height:480px; }
details { margin:6px 0; } summary { cursor:pointer; color:var(--accent); }
.two { display:grid; grid-template-columns: 1fr 1fr; gap:16px; }
@media (max-width: 1100px) { .two { grid-template-columns: 1fr; } .cards { grid-template-columns: 1fr; } }
"""


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed in one script (globals ``vega``, ``vegaLite``, ``vegaEmbed``)."""
    return vlc.javascript_bundle()


def write_assets(site_root: Path) -> Path:
    """Write ``assets/`` (bundle, CSS, site.js) under ``site_root``; returns the assets folder."""
    assets = site_root / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    (assets / BUNDLE).write_text(vega_bundle(), encoding="utf-8")
    (assets / "site.css").write_text(SITE_CSS.lstrip(), encoding="utf-8")
    (assets / "site.js").write_text(SITE_JS, encoding="utf-8")
    return assets
