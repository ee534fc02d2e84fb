// c3l report page: draws the charts (Chart.js, inlined above) and makes the gallery sortable and filterable. Plain JS, no network.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("c3l-data").textContent);
  var colorOf = {};
  data.runs.forEach(function (r) { colorOf[r.label] = r.color; });
  var lastPass = data.passes[data.passes.length - 1];

  Chart.defaults.animation = false; // a report is read, not watched; also makes screenshots deterministic
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
  Chart.defaults.plugins.legend.labels.boxWidth = 18;

  function fmt(x) { return typeof x === "number" ? Number(x.toPrecision(4)).toString() : String(x); }
  function alpha(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + a + ")";
  }
  function groupBy(rows, key) {
    var out = new Map();
    rows.forEach(function (r) {
      var k = key(r);
      if (!out.has(k)) out.set(k, []);
      out.get(k).push(r);
    });
    return out;
  }
  function canvas(id) { return document.getElementById(id); }
  function linearAxis(title, extra) {
    return Object.assign({ type: "linear", title: { display: true, text: title } }, extra || {});
  }

  // --- stage timeline: one stacked bar per run, a segment per stage ---------------------------------
  var tl = canvas("chart-timeline");
  if (tl && data.timeline.length) {
    var stages = [];
    data.timeline.forEach(function (r) { if (stages.indexOf(r.stage) < 0) stages.push(r.stage); });
    var shades = ["#4e79a7", "#76b7b2", "#59a14f", "#edc948", "#f28e2b", "#e15759", "#b07aa1", "#9c755f", "#bab0ac"];
    new Chart(tl, {
      type: "bar",
      data: {
        labels: data.runs.map(function (r) { return r.label; }),
        datasets: stages.map(function (stage, i) {
          return {
            label: stage, c3l: "stage", backgroundColor: shades[i % shades.length],
            data: data.runs.map(function (run) {
              var row = data.timeline.find(function (t) { return t.run === run.label && t.stage === stage; });
              return row && row.seconds !== null ? row.seconds : 0;
            }),
          };
        }),
      },
      options: {
        indexAxis: "y",
        scales: { x: linearAxis("wall seconds", { stacked: true }), y: { stacked: true } },
        plugins: { legend: { position: "right" }, tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + fmt(c.parsed.x) + " s"; } } } },
      },
    });
  }

  // Chart.js's stepped "before" goes across at the previous point's height, then up or down to the next point.
  // --- I2C: CDF and histogram, one line per run × pass, selection thresholds as vertical lines -----------
  // thresholds are explained in the caption; the legend lists only the distributions
  var i2cLegend = { position: "bottom", labels: { filter: function (item, chartData) { return chartData.datasets[item.datasetIndex].c3l !== "threshold"; } } };
  function passStyle(pass) { return pass === lastPass ? [] : [6, 4]; }
  function thresholdSets(yMax) {
    return data.thresholds.map(function (t) {
      return {
        label: "threshold " + t.stage + " · " + t.run, c3l: "threshold", showLine: true, pointRadius: 0, borderWidth: 1.5,
        borderDash: [2, 3], borderColor: colorOf[t.run], backgroundColor: colorOf[t.run],
        data: [{ x: t.threshold, y: 0 }, { x: t.threshold, y: yMax }],
      };
    });
  }
  var cdfCanvas = canvas("chart-i2c-cdf");
  if (cdfCanvas) {
    var cdfSets = [];
    groupBy(data.cdf, function (r) { return r.run + "\u0000" + r.pass; }).forEach(function (rows) {
      var first = rows[0];
      var points = [{ x: first.i2c, y: 0 }].concat(rows.map(function (r) { return { x: r.i2c, y: r.cdf }; }));
      cdfSets.push({
        label: first.run + " · " + first.pass, c3l: "i2c", run: first.run, pass: first.pass, data: points, stepped: "before",
        borderColor: colorOf[first.run], backgroundColor: alpha(colorOf[first.run], 0.15), borderDash: passStyle(first.pass), pointRadius: 0, borderWidth: 2,
      });
    });
    new Chart(cdfCanvas, {
      type: "line",
      data: { datasets: cdfSets.concat(thresholdSets(1)) },
      options: {
        parsing: false,
        scales: { x: linearAxis("I2C"), y: linearAxis("share of pairs ≤ I2C", { min: 0, max: 1 }) },
        plugins: { title: { display: true, text: "I2C, cumulative" }, legend: i2cLegend },
      },
    });
  }
  var histCanvas = canvas("chart-i2c-hist");
  if (histCanvas && data.edges.length > 1) {
    var top = 0;
    var histSets = [];
    groupBy(data.hist, function (r) { return r.run + "\u0000" + r.pass; }).forEach(function (rows) {
      var first = rows[0];
      // an outline of the bars: up at the first edge, across each bin, down at the last edge
      var last = rows[rows.length - 1];
      var points = [{ x: first.lo, y: 0 }].concat(rows.map(function (r) { top = Math.max(top, r.share); return { x: r.lo, y: r.share }; }));
      points.push({ x: last.hi, y: last.share }, { x: last.hi, y: 0 });
      histSets.push({
        label: first.run + " · " + first.pass, c3l: "i2c", run: first.run, pass: first.pass, data: points, stepped: "before",
        borderColor: colorOf[first.run], backgroundColor: alpha(colorOf[first.run], first.pass === lastPass ? 0.18 : 0.06),
        fill: "origin", borderDash: passStyle(first.pass), pointRadius: 0, borderWidth: 2,
      });
    });
    new Chart(histCanvas, {
      type: "line",
      data: { datasets: histSets.concat(thresholdSets(top * 1.05 || 1)) },
      options: {
        parsing: false,
        scales: { x: linearAxis("I2C", { min: data.edges[0], max: data.edges[data.edges.length - 1] }), y: linearAxis("share of pairs per bin", { min: 0 }) },
        plugins: { title: { display: true, text: "I2C histogram (" + (data.edges.length - 1) + " bins)" }, legend: i2cLegend },
      },
    });
  }

  // --- training curves: one line per run × contrast stage ---------------------------------------
  document.querySelectorAll("canvas[data-curve]").forEach(function (c) {
    var curve = c.getAttribute("data-curve");
    var sets = [];
    groupBy(data.training, function (r) { return r.run + "\u0000" + r.stage; }).forEach(function (rows) {
      var first = rows[0];
      sets.push({
        label: first.run + " · " + first.stage, c3l: "training", data: rows.filter(function (r) { return r[curve] !== null; }).map(function (r) { return { x: r.micro + 1, y: r[curve] }; }),
        borderColor: colorOf[first.run], backgroundColor: colorOf[first.run], pointRadius: rows.length > 60 ? 0 : 2, borderWidth: 2,
      });
    });
    new Chart(c, {
      type: "line",
      data: { datasets: sets },
      options: {
        parsing: false,
        scales: { x: linearAxis("micro-step", { ticks: { precision: 0 } }), y: linearAxis(curve === "lr" ? "learning rate" : "loss") },
        plugins: { title: { display: true, text: c.getAttribute("data-title") }, legend: { display: sets.length > 1, position: "bottom" } },
      },
    });
  });

  // --- gallery: sort by a header click or the select, filter by text, kept, group, run -------------------
  var table = document.getElementById("gallery-table");
  if (!table) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var sortSelect = document.getElementById("gallery-sort");
  var state = { key: "rank", dir: "asc" };
  var numeric = { rank: true, i2c: true, sav: true, sa: true, kept: true };

  function value(row, key) {
    if (key === "run") return row.getAttribute("data-run");
    var v = row.getAttribute("data-" + key);
    return v === "" ? NaN : Number(v);
  }
  function compare(a, b) {
    var sign = state.dir === "asc" ? 1 : -1;
    if (state.key === "rank") { // the page's own order: run by run, I2C rank within
      return sign * (value(a, "order") - value(b, "order"));
    }
    var va = value(a, state.key);
    var vb = value(b, state.key);
    if (numeric[state.key]) {
      if (isNaN(va) !== isNaN(vb)) return isNaN(va) ? 1 : -1; // blanks last either way
      if (va !== vb) return sign * (va - vb);
    } else if (va !== vb) return sign * (va < vb ? -1 : 1);
    return value(a, "order") - value(b, "order");
  }
  function sort() {
    rows.slice().sort(compare).forEach(function (r) { body.appendChild(r); });
    table.querySelectorAll("th[data-sort]").forEach(function (th) {
      var on = th.getAttribute("data-sort") === state.key;
      th.querySelector(".arrow").textContent = on ? (state.dir === "asc" ? "▲" : "▼") : "";
      th.setAttribute("aria-sort", on ? (state.dir === "asc" ? "ascending" : "descending") : "none");
    });
    var option = state.key + ":" + state.dir;
    sortSelect.value = Array.prototype.some.call(sortSelect.options, function (o) { return o.value === option; }) ? option : "";
  }
  function filter() {
    var words = document.getElementById("gallery-filter").value.toLowerCase().split(/\s+/).filter(Boolean);
    var keptOnly = document.getElementById("gallery-kept").checked;
    var group = document.getElementById("gallery-group").value;
    var runSelect = document.getElementById("gallery-run");
    var run = runSelect ? runSelect.value : "";
    var shown = 0;
    rows.forEach(function (r) {
      var text = r.getAttribute("data-text");
      var ok = words.every(function (w) { return text.indexOf(w) >= 0; })
        && (!keptOnly || r.getAttribute("data-kept") === "1")
        && (!group || r.getAttribute("data-group") === group)
        && (!run || r.getAttribute("data-run") === run);
      r.hidden = !ok;
      if (ok) shown += 1;
    });
    document.getElementById("gallery-count").textContent = "showing " + shown + " of " + rows.length + " pairs";
  }
  function clickHeader(th) {
    var key = th.getAttribute("data-sort");
    state = { key: key, dir: state.key === key && state.dir === "asc" ? "desc" : "asc" };
    sort();
  }
  table.querySelectorAll("th[data-sort]").forEach(function (th) {
    th.addEventListener("click", function () { clickHeader(th); });
    th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); clickHeader(th); } });
  });
  sortSelect.addEventListener("change", function () {
    var parts = sortSelect.value.split(":");
    if (parts.length === 2) { state = { key: parts[0], dir: parts[1] }; sort(); }
  });
  ["gallery-filter", "gallery-kept", "gallery-group", "gallery-run"].forEach(function (id) {
    var el = document.getElementById(id);
    if (el) el.addEventListener(el.type === "search" ? "input" : "change", filter);
  });
  sort();
  filter();
})();
