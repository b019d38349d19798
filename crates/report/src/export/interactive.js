// membench's interactive report: no library, no network. Everything it shows comes from the
// JSON in <script id="membench-data">, which the Rust exporter (export/html.rs) writes from the
// same records as REPORT.md. predict()/rank() mirror membench_report::predict (Model::predict,
// fits, rank); the browser test holds the two to the same answer.
(function () {
  'use strict';
  var errors = [];
  function showErrors() {
    var box = document.getElementById('errors');
    if (box) { box.textContent = errors.join('\n'); box.hidden = errors.length === 0; }
  }
  window.addEventListener('error', function (e) { errors.push(String(e.message)); showErrors(); });

  var D = JSON.parse(document.getElementById('membench-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2',
    '#17becf', '#bcbd22', '#7f7f7f', '#393b79', '#637939', '#8c6d31', '#843c39', '#7b4173'];
  var params = new URLSearchParams(location.search);

  function svgEl(tag, attrs, parent, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (text != null) { e.textContent = text; }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function htmlEl(tag, attrs, parent, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) { e.setAttribute(k, attrs[k]); }
    if (text != null) { e.textContent = text; }
    if (parent) { parent.appendChild(e); }
    return e;
  }

  // Formatting, as membench_report::format.
  function bytes(b) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], v = b, i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    if (i === 0) { return v.toFixed(0) + ' B'; }
    return (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + ' ' + units[i];
  }
  function duration(ns) {
    if (ns >= 1e9) { return (ns / 1e9).toFixed(2) + ' s'; }
    if (ns >= 1e6) { return (ns / 1e6).toFixed(1) + ' ms'; }
    return (ns / 1e3).toFixed(0) + ' µs';
  }
  function rows(n) {
    if (n >= 1e6 && n % 1e6 === 0) { return (n / 1e6) + 'm'; }
    if (n >= 1e3 && n % 1e3 === 0) { return (n / 1e3) + 'k'; }
    return String(n);
  }
  // As membench_protocol::parse_count: 10m, 50M, 100k, 1e6.
  function parseCount(s) {
    var t = String(s).trim().toLowerCase(), mul = 1, last = t.slice(-1);
    if (last === 'k') { mul = 1e3; } else if (last === 'm') { mul = 1e6; } else if (last === 'g' || last === 'b') { mul = 1e9; }
    if (mul !== 1) { t = t.slice(0, -1); }
    var v = Number(t);
    return t !== '' && isFinite(v) && v > 0 ? Math.round(v * mul) : null;
  }

  // The models of membench_report::predict.
  function predict(m, n) {
    var mid = Math.max(m.intercept + m.per_row * n, 0);
    if (m.shape === 'bounded') { return { lo: mid, mid: mid, hi: mid * (1 + D.bounded_margin) }; }
    var beyond = Math.max(n / Math.max(m.largest_rows, 1), 1);
    var half = Math.max(2 * m.rel_error, D.min_rel_interval) * (1 + Math.log10(beyond));
    return { lo: mid * Math.max(1 - half, 0), mid: mid, hi: mid * (1 + half) };
  }
  // A memory guard grows toward its share of a larger budget (predict::guarded_memory).
  // Whether it filled the default's is judged from its heap (the budget counts heap).
  function guarded(mem, heap, budget) {
    var ceiling = Math.min(D.guard_high_water * budget, D.guard_max_growth * mem.mid);
    var measured = D.guard_high_water * D.guard_default_budget;
    var filled = (heap === null ? mem.mid : heap) >= 0.8 * measured;
    if (!filled || ceiling <= mem.mid) { return mem; }
    var mid = ceiling;
    return { lo: Math.min(mem.lo, mid), mid: mid, hi: Math.max(Math.min(Math.max(mem.hi, mid * 1.25), budget), mid) };
  }
  var FITS_ORDER = { yes: 0, maybe: 1, no: 2 };
  function rank(group, n, budget) {
    var out = group.fitted.map(function (f) {
      var mem = predict(f.memory, n), t = predict(f.time, n);
      if (f.guard) { mem = guarded(mem, f.guard_heap ? predict(f.guard_heap, n).mid : null, budget); }
      var fits = mem.hi <= budget ? 'yes' : (mem.mid <= budget ? 'maybe' : 'no');
      return { strategy: f.strategy, mem: mem, t: t, fits: fits };
    });
    out.sort(function (a, b) { return FITS_ORDER[a.fits] - FITS_ORDER[b.fits] || a.t.mid - b.t.mid; });
    return out;
  }

  function colour(strategy) {
    var i = D.strategies.indexOf(strategy);
    return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
  }

  // A log-log chart of one metric against rows, a series per strategy.
  function chart(group, metric, title, fmt) {
    var W = 700, H = 360, L = 72, R = 160, T = 28, B = 42;
    var svg = svgEl('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, 'class': 'chart', 'data-metric': metric });
    svgEl('text', { x: L, y: 18, 'class': 'title' }, svg, title);
    var ok = group.cells.filter(function (c) { return c.status === 'ok' && c[metric] > 0; });
    if (ok.length === 0) { svgEl('text', { x: L, y: H / 2 }, svg, 'nothing measured'); return svg; }
    var xs = group.sizes, ys = ok.map(function (c) { return c[metric]; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys) / 1.5, y1 = Math.max.apply(null, ys) * 1.5;
    if (x0 === x1) { x0 /= 2; x1 *= 2; }
    function lx(v) { return L + (Math.log(v) - Math.log(x0)) / (Math.log(x1) - Math.log(x0)) * (W - L - R); }
    function ly(v) { return H - B - (Math.log(v) - Math.log(y0)) / (Math.log(y1) - Math.log(y0)) * (H - T - B); }
    svgEl('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, 'class': 'axis' }, svg);
    svgEl('line', { x1: L, y1: T, x2: L, y2: H - B, 'class': 'axis' }, svg);
    xs.forEach(function (n) {
      svgEl('text', { x: lx(n), y: H - B + 16, 'text-anchor': 'middle', 'class': 'tick' }, svg, rows(n));
    });
    for (var i = 0; i <= 4; i++) {
      var v = Math.exp(Math.log(y0) + i / 4 * (Math.log(y1) - Math.log(y0)));
      svgEl('line', { x1: L, y1: ly(v), x2: W - R, y2: ly(v), 'class': 'grid' }, svg);
      svgEl('text', { x: L - 6, y: ly(v) + 4, 'text-anchor': 'end', 'class': 'tick' }, svg, fmt(v));
    }
    svgEl('text', { x: (L + W - R) / 2, y: H - 6, 'text-anchor': 'middle', 'class': 'tick' }, svg, 'rows');
    group.strategies.forEach(function (s, k) {
      var mine = ok.filter(function (c) { return c.strategy === s; }).sort(function (a, b) { return a.rows - b.rows; });
      var g = svgEl('g', { 'class': 'series', 'data-strategy': s }, svg);
      if (mine.length > 1) {
        svgEl('polyline', {
          points: mine.map(function (c) { return lx(c.rows) + ',' + ly(c[metric]); }).join(' '),
          fill: 'none', stroke: colour(s), 'stroke-width': 2
        }, g);
      }
      mine.forEach(function (c) {
        svgEl('circle', {
          cx: lx(c.rows), cy: ly(c[metric]), r: 4, fill: colour(s),
          'data-tip': s + ' · ' + rows(c.rows) + ' rows: ' + fmt(c[metric])
        }, g);
      });
      group.cells.filter(function (c) { return c.strategy === s && c.status !== 'ok'; }).forEach(function (c) {
        svgEl('text', {
          x: lx(c.rows), y: T + 12, fill: colour(s), 'text-anchor': 'middle', 'class': 'fail',
          'data-tip': s + ' · ' + rows(c.rows) + ' rows: ✗ ' + c.status + (c.limit ? ' (over ' + c.limit + ')' : '')
        }, g, '✗');
      });
      var item = svgEl('g', { 'class': 'legend-item', 'data-strategy': s, transform: 'translate(' + (W - R + 12) + ',' + (T + 16 * k) + ')' }, svg);
      svgEl('rect', { width: 10, height: 10, y: -9, fill: colour(s) }, item);
      svgEl('text', { x: 15, y: 0, 'class': 'tick' }, item, s);
      item.addEventListener('click', function () { toggle(group, s); });
    });
    return svg;
  }

  // Shows or hides one strategy in every chart of its group.
  function toggle(group, s) {
    var sec = section(group);
    var off = !sec.querySelector('.legend-item[data-strategy="' + CSS.escape(s) + '"]').classList.contains('off');
    sec.querySelectorAll('[data-strategy="' + CSS.escape(s) + '"]').forEach(function (e) { e.classList.toggle('off', off); });
  }

  function section(group) { return document.querySelector('section.group[data-group="' + CSS.escape(group.id) + '"]'); }

  // The raw records of a group, sortable by any column.
  var RAW_COLUMNS = [
    ['strategy', 'strategy', String], ['rows', 'rows', rows], ['allocator', 'allocator', String],
    ['repetition', 'rep', String], ['status', 'status', String],
    ['peak_heap_bytes', 'peak heap', bytes], ['peak_rss_bytes', 'peak RSS', bytes],
    ['wall_ns', 'time', duration]
  ];
  // A generated table's shape knobs (absent: the default table), compared as JSON.
  function sameShape(a, b) { return JSON.stringify(a.shape || {}) === JSON.stringify(b.shape || {}); }
  function rawTable(group) {
    var recs = D.records.filter(function (r) { return r.workload === group.workload && r.format === group.format && sameShape(r, group); });
    var table = htmlEl('table', { 'class': 'raw' });
    var head = htmlEl('tr', {}, htmlEl('thead', {}, table));
    var body = htmlEl('tbody', {}, table);
    var order = { key: null, dir: 1 };
    function fill() {
      body.textContent = '';
      recs.forEach(function (r) {
        var tr = htmlEl('tr', {}, body);
        RAW_COLUMNS.forEach(function (c) {
          var v = r[c[0]];
          htmlEl('td', { 'data-value': v == null ? '' : v }, tr, v == null ? '–' : c[2](v));
        });
      });
    }
    RAW_COLUMNS.forEach(function (c) {
      var th = htmlEl('th', { 'data-key': c[0], title: 'sort' }, head, c[1]);
      th.addEventListener('click', function () {
        order.dir = order.key === c[0] ? -order.dir : 1;
        order.key = c[0];
        recs.sort(function (a, b) {
          var x = a[c[0]], y = b[c[0]];
          if (x == null) { return 1; }
          if (y == null) { return -1; }
          return (x < y ? -1 : x > y ? 1 : 0) * order.dir;
        });
        head.querySelectorAll('th').forEach(function (h) { h.removeAttribute('data-order'); });
        th.setAttribute('data-order', order.dir > 0 ? 'ascending' : 'descending');
        fill();
      });
    });
    fill();
    return table;
  }

  // This run against a baseline's medians, cell by cell.
  function baselineTable(group) {
    var base = D.baseline.filter(function (b) { return b.workload === group.workload && b.format === group.format && sameShape(b, group); });
    var table = htmlEl('table', { 'class': 'baseline' });
    var head = htmlEl('tr', {}, table);
    ['strategy', 'rows', 'peak heap', 'baseline', 'ratio', 'time', 'baseline', 'ratio'].forEach(function (t) { htmlEl('th', {}, head, t); });
    group.cells.forEach(function (c) {
      var b = base.filter(function (x) { return x.strategy === c.strategy && x.rows === c.rows; })[0];
      if (!b) { return; }
      var tr = htmlEl('tr', {}, table);
      htmlEl('td', {}, tr, c.strategy);
      htmlEl('td', {}, tr, rows(c.rows));
      [['heap', 'peak_heap_bytes', bytes], ['wall', 'wall_ns', duration]].forEach(function (m) {
        var now = c[m[0]], then = b[m[1]];
        htmlEl('td', {}, tr, now ? m[2](now) : c.status);
        htmlEl('td', {}, tr, then ? m[2](then) : b.status);
        var ratio = now && then ? now / then : null;
        htmlEl('td', { 'class': ratio && ratio > 1.1 ? 'worse' : (ratio && ratio < 0.9 ? 'better' : '') }, tr,
          ratio ? ratio.toFixed(2) + '×' : '–');
      });
    });
    return table;
  }

  // The recommendation panel: a size, a budget, and the ranking for the shown group.
  var state = { group: null, rows: 50e6, budget: 8 * Math.pow(2, 30) };
  function renderRecommendation() {
    var g = state.group, out = document.getElementById('rec-table'), top = document.getElementById('rec-top');
    document.getElementById('budget-label').textContent = bytes(state.budget);
    out.textContent = '';
    if (g.fitted.length === 0) {
      top.textContent = 'no strategy of ' + g.id + ' was measured at two sizes or more: nothing to predict';
      top.setAttribute('data-strategy', '');
      return;
    }
    var ranked = rank(g, state.rows, state.budget);
    var best = ranked.filter(function (c) { return c.fits === 'yes'; })[0];
    top.setAttribute('data-strategy', best ? best.strategy : '');
    top.textContent = best
      ? 'recommended for ' + g.id + ' at ' + rows(state.rows) + ' rows in ' + bytes(state.budget) + ': ' + best.strategy +
        ' (≈ ' + bytes(best.mem.mid) + ', ≈ ' + duration(best.t.mid) + ')'
      : 'no strategy fits ' + bytes(state.budget) + ' for sure at ' + rows(state.rows) + ' rows';
    var head = htmlEl('tr', {}, out);
    ['strategy', 'memory (interval)', 'time', 'fits'].forEach(function (t) { htmlEl('th', {}, head, t); });
    ranked.forEach(function (c) {
      var tr = htmlEl('tr', { 'class': 'fits-' + c.fits, 'data-strategy': c.strategy }, out);
      htmlEl('td', {}, tr, c.strategy);
      htmlEl('td', {}, tr, bytes(c.mem.mid) + ' (' + bytes(c.mem.lo) + '–' + bytes(c.mem.hi) + ')');
      htmlEl('td', {}, tr, duration(c.t.mid));
      htmlEl('td', {}, tr, c.fits === 'yes' ? 'fits' : c.fits === 'maybe' ? 'maybe' : 'does not fit');
    });
  }

  function show(group) {
    state.group = group;
    document.querySelectorAll('section.group').forEach(function (s) { s.hidden = s.getAttribute('data-group') !== group.id; });
    document.querySelectorAll('nav button').forEach(function (b) { b.classList.toggle('current', b.getAttribute('data-group') === group.id); });
    renderRecommendation();
  }

  function build() {
    var nav = document.getElementById('groups');
    D.groups.forEach(function (g) {
      var b = htmlEl('button', { 'data-group': g.id }, nav, g.workload + ' · ' + g.format);
      b.addEventListener('click', function () { show(g); history.replaceState(null, '', '#' + g.id); });
      var sec = section(g), box = sec.querySelector('.interactive');
      box.appendChild(chart(g, 'heap', 'peak heap (counting allocator)', bytes));
      box.appendChild(chart(g, 'anon', 'peak anonymous RSS', bytes));
      box.appendChild(chart(g, 'wall', 'time', duration));
      var raw = sec.querySelector('.raw-records');
      raw.appendChild(rawTable(g));
      if (D.baseline) {
        var cmp = sec.querySelector('.vs-baseline');
        htmlEl('h3', {}, cmp, 'Against the baseline (' + D.baseline_label + ')');
        cmp.appendChild(baselineTable(g));
      }
    });
    var tip = document.getElementById('tip');
    document.addEventListener('mouseover', function (e) {
      var t = e.target.getAttribute && e.target.getAttribute('data-tip');
      tip.hidden = !t;
      if (t) { tip.textContent = t; tip.style.left = (e.pageX + 12) + 'px'; tip.style.top = (e.pageY + 12) + 'px'; }
    });
    var slider = document.getElementById('budget'), size = document.getElementById('size');
    slider.addEventListener('input', function () { state.budget = Math.round(Math.pow(2, Number(slider.value))); renderRecommendation(); });
    size.addEventListener('input', function () {
      var n = parseCount(size.value);
      size.classList.toggle('invalid', n === null);
      if (n !== null) { state.rows = n; renderRecommendation(); }
    });
    if (params.get('rows') && parseCount(params.get('rows'))) { state.rows = parseCount(params.get('rows')); }
    if (params.get('budget') && Number(params.get('budget')) > 0) { state.budget = Number(params.get('budget')); }
    size.value = rows(state.rows);
    slider.value = Math.log2(state.budget);
    var wanted = params.get('group') || location.hash.slice(1);
    show(D.groups.filter(function (g) { return g.id === wanted; })[0] || D.groups[0]);
  }

  // ?selftest=1: drives the page as a user would and writes what it saw into #selftest, for
  // the headless-browser test.
  function selftest() {
    var slider = document.getElementById('budget'), r = {};
    var keep = { rows: state.rows, budget: state.budget };
    function top() { return document.getElementById('rec-top').getAttribute('data-strategy'); }
    slider.value = slider.min; slider.dispatchEvent(new Event('input'));
    r.top_at_min_budget = top();
    slider.value = slider.max; slider.dispatchEvent(new Event('input'));
    r.top_at_max_budget = top();
    var sec = section(state.group), th = sec.querySelector('table.raw th[data-key="peak_heap_bytes"]');
    th.click();
    var vals = Array.prototype.map.call(sec.querySelectorAll('table.raw tbody tr td:nth-child(6)'), function (td) {
      return td.getAttribute('data-value') === '' ? Infinity : Number(td.getAttribute('data-value'));
    });
    r.heap_sorted_ascending = vals.every(function (v, i) { return i === 0 || vals[i - 1] <= v; });
    var legend = sec.querySelector('.legend-item');
    legend.dispatchEvent(new MouseEvent('click'));
    r.toggled_off = sec.querySelectorAll('.series.off[data-strategy="' + legend.getAttribute('data-strategy') + '"]').length;
    legend.dispatchEvent(new MouseEvent('click'));
    state.rows = keep.rows; state.budget = keep.budget; slider.value = Math.log2(keep.budget);
    renderRecommendation();
    document.getElementById('selftest').textContent = JSON.stringify(r);
  }

  try {
    build();
    if (params.get('selftest')) { selftest(); }
  } catch (e) {
    errors.push(String(e && e.stack || e));
  }
  showErrors();
  document.documentElement.setAttribute('data-ready', errors.length ? 'errors' : 'yes');
})();
