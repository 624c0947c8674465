/**
 * The admin page's script, served as /assets/admin.js. Plain browser JavaScript (no build
 * step): it polls /api/stats and /api/series every sample interval, redraws four uPlot
 * charts, and looks one session up through /api/session. Every value reaches the DOM as
 * textContent, never as markup.
 */
export const ADMIN_SCRIPT = String.raw`(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var charts = {};
  var intervalMs = 5000;

  function fmtBytes(n) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + ' ' + u[i];
  }
  function fmtMs(ms) { return ms < 1 ? (ms * 1000).toFixed(0) + ' µs' : ms < 1000 ? ms.toFixed(ms < 10 ? 2 : 0) + ' ms' : (ms / 1000).toFixed(2) + ' s'; }
  function fmtTime(ms) { return ms === 0 ? 'never' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'); }
  function last(a) { return a.length === 0 ? undefined : a[a.length - 1]; }

  function fillKv(table, rows) {
    var body = table.tBodies[0];
    body.replaceChildren();
    rows.forEach(function (r) {
      var tr = body.insertRow();
      var th = document.createElement('th');
      th.textContent = r[0];
      tr.appendChild(th);
      tr.insertCell().textContent = r[1];
    });
  }
  function fillGrid(table, rows) {
    var body = table.tBodies[0];
    body.replaceChildren();
    rows.forEach(function (r) {
      var tr = body.insertRow();
      r.forEach(function (c) { tr.insertCell().textContent = c; });
    });
  }

  function makeChart(el, series) {
    var opts = {
      width: Math.max(200, el.clientWidth),
      height: 220,
      legend: { live: false },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
      axes: [{}, { size: 60 }],
      series: [{}].concat(series.map(function (s) { return { label: s.label, stroke: s.color, width: 2, fill: s.fill, points: { show: false } }; })),
    };
    return new uPlot(opts, [[]].concat(series.map(function () { return []; })), el);
  }

  function initCharts() {
    charts.sessions = { u: makeChart($('chart-sessions'), [{ label: 'sessions', color: '#2f6fdb', fill: 'rgba(47,111,219,0.08)' }]), keys: ['sessions'] };
    charts.ops = { u: makeChart($('chart-ops'), [{ label: 'ops/s', color: '#16a085', fill: 'rgba(22,160,133,0.08)' }]), keys: ['opsPerSec'] };
    charts.fsync = { u: makeChart($('chart-fsync'), [{ label: 'p50', color: '#8e44ad' }, { label: 'p99', color: '#e67e22' }]), keys: ['fsyncP50Ms', 'fsyncP99Ms'] };
    // max first, so p99 draws over it where the two meet (short windows have few samples).
    charts.loop = { u: makeChart($('chart-loop'), [{ label: 'max', color: '#95a5a6' }, { label: 'p99', color: '#c0392b' }]), keys: ['loopDelayMaxMs', 'loopDelayP99Ms'] };
    window.addEventListener('resize', function () {
      Object.keys(charts).forEach(function (k) {
        var c = charts[k];
        c.u.setSize({ width: Math.max(200, c.u.root.parentNode.clientWidth), height: 220 });
      });
    });
  }

  function drawSeries(s) {
    Object.keys(charts).forEach(function (k) {
      var c = charts[k];
      c.u.setData([s.t].concat(c.keys.map(function (key) { return s[key]; })));
    });
    document.body.dataset.points = String(s.t.length);
    $('card-ops').textContent = s.opsPerSec.length ? Math.round(last(s.opsPerSec)).toLocaleString('en-US') : '-';
    $('card-loop').textContent = s.loopDelayP99Ms.length ? fmtMs(last(s.loopDelayP99Ms)) : '-';
  }

  function drawStats(r) {
    var e = r.engine;
    intervalMs = r.sampleIntervalMs;
    $('store').textContent = r.dir;
    $('durability').textContent = 'durability: ' + e.durability;
    $('readonly').hidden = !e.readOnly;
    $('readonly').textContent = e.readOnly ? 'READ-ONLY: ' + e.readOnly.reason : '';
    $('updated').textContent = 'updated ' + fmtTime(e.atMs);
    $('card-sessions').textContent = e.sessions.count.toLocaleString('en-US');
    $('card-fsync').textContent = fmtMs(e.latencyMs.fsync.p99);
    $('card-lag').textContent = fmtMs(e.flush.lagMs);
    var logBytes = e.log.logBytes.reduce(function (a, b) { return a + b; }, 0);
    $('card-bytes').textContent = fmtBytes(logBytes + e.db.fileBytes);
    fillGrid($('latency'), Object.keys(e.latencyMs).map(function (k) {
      var l = e.latencyMs[k];
      return [k, l.count.toLocaleString('en-US'), l.p50.toFixed(3), l.p90.toFixed(3), l.p99.toFixed(3), l.max.toFixed(3)];
    }));
    var rec = e.lastRecovery;
    fillKv($('recovery'), [
      ['sessions recovered', String(rec.sessionsRecovered)],
      ['records replayed', String(rec.recordsReplayed)],
      ['records skipped', String(rec.recordsSkipped)],
      ['sessions expired', String(rec.sessionsExpired)],
      ['bytes discarded', String(rec.bytesDiscarded)],
      ['corruption', rec.corruption.length === 0 ? 'none' : rec.corruption.map(function (c) { return c.file + ' @' + c.offset + ' (' + c.bytes + ' bytes)'; }).join(', ')],
      ['time taken', fmtMs(rec.ms)],
    ]);
    fillGrid($('files'), r.files.map(function (f) { return [f.name, f.bytes.toLocaleString('en-US')]; }));
  }

  function getJson(url) {
    return fetch(url, { cache: 'no-store' }).then(function (res) {
      if (!res.ok) throw new Error(url + ': HTTP ' + res.status);
      return res.json();
    });
  }

  function refresh() {
    Promise.all([getJson('/api/stats'), getJson('/api/series')]).then(function (rs) {
      drawStats(rs[0]);
      drawSeries(rs[1]);
    }).catch(function (e) {
      $('updated').textContent = 'update failed: ' + e.message;
    }).finally(function () {
      setTimeout(refresh, intervalMs);
    });
  }

  $('lookup').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var id = $('lookup-id').value.trim();
    if (id === '') return;
    getJson('/api/session?id=' + encodeURIComponent(id)).then(function (m) {
      $('lookup-missing').hidden = m.found;
      $('lookup-result').hidden = !m.found;
      if (!m.found) return;
      fillKv($('lookup-result'), [
        ['created', fmtTime(m.createdAtMs)],
        ['last access', fmtTime(m.lastAccessAtMs)],
        ['expires', m.expiresAtMs === 0 ? 'never' : fmtTime(m.expiresAtMs)],
        ['max inactive', m.maxInactiveMs === 0 ? 'none' : fmtMs(m.maxInactiveMs)],
        ['size', fmtBytes(m.sizeBytes)],
        ['owner', m.owner],
        ['version', String(m.version)],
      ]);
    });
  });

  initCharts();
  refresh();
})();
`;
