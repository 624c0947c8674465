/**
 * The admin page's markup and style. Everything the page loads comes from the admin server
 * itself (uPlot from the package's node_modules, no CDN), so it works on an offline machine
 * and under a `default-src 'self'` Content-Security-Policy.
 */

export const ADMIN_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sessiond admin</title>
<link rel="stylesheet" href="/assets/uPlot.min.css">
<link rel="stylesheet" href="/assets/admin.css">
</head>
<body>
<header>
  <h1>sessiond</h1>
  <span id="store" class="muted"></span>
  <span id="durability" class="badge"></span>
  <span id="readonly" class="badge bad" hidden></span>
  <span id="updated" class="muted right"></span>
</header>
<main>
  <section class="cards" id="cards">
    <div class="card"><div class="label">sessions live</div><div class="value" id="card-sessions">-</div></div>
    <div class="card"><div class="label">operations / s</div><div class="value" id="card-ops">-</div></div>
    <div class="card"><div class="label">fsync p99</div><div class="value" id="card-fsync">-</div></div>
    <div class="card"><div class="label">flush lag</div><div class="value" id="card-lag">-</div></div>
    <div class="card"><div class="label">log + database</div><div class="value" id="card-bytes">-</div></div>
    <div class="card"><div class="label">event-loop delay p99</div><div class="value" id="card-loop">-</div></div>
  </section>
  <section class="charts">
    <figure><figcaption>Sessions live</figcaption><div class="chart" id="chart-sessions"></div></figure>
    <figure><figcaption>Operations per second</figcaption><div class="chart" id="chart-ops"></div></figure>
    <figure><figcaption>fsync latency (ms)</figcaption><div class="chart" id="chart-fsync"></div></figure>
    <figure><figcaption>Event-loop delay (ms)</figcaption><div class="chart" id="chart-loop"></div></figure>
  </section>
  <section class="panels">
    <div class="panel">
      <h2>Look up a session</h2>
      <form id="lookup">
        <input id="lookup-id" name="id" placeholder="session ID" autocomplete="off" spellcheck="false">
        <button type="submit">Look up</button>
      </form>
      <p class="muted">Shows metadata only; attribute values are never sent to this page.</p>
      <table id="lookup-result" class="kv" hidden><tbody></tbody></table>
      <p id="lookup-missing" class="bad-text" hidden>No such session (or it has expired).</p>
    </div>
    <div class="panel">
      <h2>Latency (ms, since the store opened)</h2>
      <table id="latency" class="grid"><thead><tr><th>operation</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr></thead><tbody></tbody></table>
    </div>
    <div class="panel">
      <h2>Last recovery</h2>
      <table id="recovery" class="kv"><tbody></tbody></table>
    </div>
    <div class="panel">
      <h2>Store files</h2>
      <table id="files" class="grid"><thead><tr><th>file</th><th>bytes</th></tr></thead><tbody></tbody></table>
    </div>
  </section>
</main>
<script src="/assets/uPlot.iife.min.js"></script>
<script src="/assets/admin.js"></script>
</body>
</html>
`;

export const ADMIN_CSS = `
:root { --fg: #1d2330; --muted: #6b7385; --line: #e3e6ec; --bg: #f6f7f9; --card: #fff; --accent: #2f6fdb; --bad: #c0392b; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 12px; padding: 12px 20px; background: var(--card); border-bottom: 1px solid var(--line); }
h1 { font-size: 18px; margin: 0; }
h2 { font-size: 14px; margin: 0 0 8px; }
.muted { color: var(--muted); }
.right { margin-left: auto; }
.badge { padding: 1px 8px; border-radius: 10px; background: #e8effc; color: var(--accent); font-size: 12px; }
.badge.bad { background: #fbe9e7; color: var(--bad); }
.bad-text { color: var(--bad); }
main { padding: 16px 20px; display: grid; gap: 16px; }
.cards { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 12px; }
.card, figure, .panel { background: var(--card); border: 1px solid var(--line); border-radius: 6px; }
.card { padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 22px; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
figure { margin: 0; padding: 8px 10px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
.chart { min-height: 220px; }
.panels { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
.panel { padding: 12px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); }
table.grid td:not(:first-child), table.grid th:not(:first-child) { text-align: right; }
table.kv th { color: var(--muted); font-weight: normal; width: 40%; }
form { display: flex; gap: 8px; }
input { flex: 1; padding: 6px 8px; border: 1px solid var(--line); border-radius: 4px; font-family: ui-monospace, monospace; }
button { padding: 6px 14px; border: 0; border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; }
@media (max-width: 900px) { .cards { grid-template-columns: repeat(3, 1fr); } .charts, .panels { grid-template-columns: 1fr; } }
`;
