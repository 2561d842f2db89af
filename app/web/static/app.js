// mltrain dashboard: loss charts (uPlot) fed by the job's events stream, and the compare overlay.
// Everything it loads comes from this server: /api/v1/jobs/{id}/events with the session cookie.
(function () {
  "use strict";

  var COLORS = ["#1f6fb4", "#d9660b", "#2a8a3e", "#8e44ad", "#b03a2e", "#16808a", "#7a6500", "#4d4d4d"];
  var FINISHED = ["succeeded", "failed", "cancelled"];

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function chartWidth(el) {
    return Math.max(240, Math.floor(el.getBoundingClientRect().width) || 320);
  }

  function isNum(v) {
    return typeof v === "number" && isFinite(v);
  }

  function duration(seconds) {
    if (!isNum(seconds)) return "";
    var s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    if (h) return h + " h " + m + " min";
    return m ? m + " min " + (s % 60) + " s" : s + " s";
  }

  function bestEpoch(rows) {
    var best = null;
    rows.forEach(function (r) {
      if (isNum(r.val_loss) && (best === null || r.val_loss < best.val_loss)) best = r;
    });
    return best ? best.epoch : null;
  }

  // ---- one model's chart: train, validation, best epoch, learning rate on its own axis ----------------
  function LossChart(figure, model, loss, rows, fixedBest) {
    this.figure = figure;
    this.body = figure.querySelector(".chart-body");
    this.model = model;
    this.loss = loss;
    this.rows = rows.slice();
    this.fixedBest = fixedBest || null;
    this.plot = null;
    this.draw();
  }

  LossChart.prototype.data = function () {
    var rows = this.rows, best = this.fixedBest || bestEpoch(rows);
    var x = rows.map(function (r) { return r.epoch; });
    var out = [
      x,
      rows.map(function (r) { return isNum(r.train_loss) ? r.train_loss : null; }),
      rows.map(function (r) { return isNum(r.val_loss) ? r.val_loss : null; }),
      rows.map(function (r) { return r.epoch === best && isNum(r.val_loss) ? r.val_loss : null; }),
    ];
    if (this.hasLr) out.push(rows.map(function (r) { return isNum(r.lr) ? r.lr : null; }));
    return out;
  };

  LossChart.prototype.draw = function () {
    this.hasLr = this.rows.some(function (r) { return isNum(r.lr); });
    if (this.plot) this.plot.destroy();
    var series = [
      { label: "epoch" },
      { label: "train", stroke: COLORS[0], width: 2 },
      { label: "validation", stroke: COLORS[1], width: 2 },
      { label: "best epoch", stroke: COLORS[2], fill: COLORS[2], width: 0, paths: function () { return null; },
        points: { show: true, size: 12, fill: COLORS[2], stroke: COLORS[2] } },
    ];
    var axes = [{ label: "epoch" }, { label: "loss (" + this.loss + ")", size: 60 }];
    if (this.hasLr) {
      series.push({ label: "learning rate", stroke: "#6b6b6b", width: 1, dash: [5, 4], scale: "lr" });
      axes.push({ scale: "lr", side: 1, label: "learning rate", size: 70, grid: { show: false },
                  values: function (u, vals) { return vals.map(function (v) { return v ? v.toExponential(1) : "0"; }); } });
    }
    var opts = { width: chartWidth(this.body), height: 240, series: series, axes: axes,
                 scales: { x: { time: false } }, cursor: { focus: { prox: 16 } } };
    this.plot = new uPlot(opts, this.data(), this.body);
    this.figure.dataset.epochs = String(this.rows.length);
  };

  LossChart.prototype.add = function (row) {
    var last = this.rows.length ? this.rows[this.rows.length - 1].epoch : 0;
    if (!isNum(row.epoch) || row.epoch <= last) return;
    this.rows.push(row);
    if (!this.hasLr && isNum(row.lr)) { this.draw(); return; }
    this.plot.setData(this.data());
    this.figure.dataset.epochs = String(this.rows.length);
  };

  LossChart.prototype.resize = function () {
    if (this.plot) this.plot.setSize({ width: chartWidth(this.body), height: 240 });
  };

  // ---- the job page --------------------------------------------------------------------------------
  function jobPage(job) {
    var charts = {};
    var holder = document.getElementById("charts");

    function chartFor(model) {
      if (charts[model]) return charts[model];
      var figure = holder.querySelector('.chart[data-model="' + model + '"]');
      if (!figure) {
        figure = document.createElement("figure");
        figure.className = "chart";
        figure.dataset.model = model;
        var caption = document.createElement("figcaption");
        caption.textContent = model + " · " + (job.losses[model] || "loss");
        var body = document.createElement("div");
        body.className = "chart-body";
        body.setAttribute("role", "img");
        body.setAttribute("aria-label", "loss curves of " + model);
        figure.appendChild(caption);
        figure.appendChild(body);
        holder.appendChild(figure);
        var empty = document.getElementById("charts-empty");
        if (empty) empty.remove();
      }
      charts[model] = new LossChart(figure, model, job.losses[model] || "loss", job.metrics[model] || [],
                                    job.best[model]);
      return charts[model];
    }

    Object.keys(job.metrics).forEach(chartFor);
    window.addEventListener("resize", function () {
      Object.keys(charts).forEach(function (k) { charts[k].resize(); });
    });
    if (job.finished || typeof EventSource === "undefined") return;

    var status = job.status;
    var source = new EventSource("/api/v1/jobs/" + job.id + "/events");
    function onEvent(event) {
      var current = JSON.parse(event.data);
      var p = current.progress || {};
      var percent = Math.round(100 * (p.fraction || 0));
      document.querySelectorAll('[data-role="progress"]').forEach(function (el) { el.value = percent; });
      document.querySelectorAll('[data-role="progress-text"]').forEach(function (el) {
        el.textContent = percent + " %";
      });
      var parts = [];
      if (p.current_model) parts.push(p.current_model);
      if (isNum(p.epoch) && p.total_epochs) parts.push("epoch " + p.epoch + "/" + p.total_epochs);
      if (current.status === "running" && isNum(p.eta_seconds)) parts.push("about " + duration(p.eta_seconds) + " left");
      var detail = document.querySelector('[data-role="progress-detail"]');
      if (detail) detail.textContent = parts.join(" · ");
      var badge = document.querySelector('h1 [data-role="status"]');
      if (badge) { badge.textContent = current.status; badge.className = "badge badge-" + current.status; }
      if (current.latest_metrics && p.current_model) chartFor(p.current_model).add(current.latest_metrics);
      document.body.dispatchEvent(new CustomEvent("job-progress"));
      if (FINISHED.indexOf(current.status) >= 0) {
        source.close();
        // The finished page has the full history, the evaluation and the artifacts.
        window.setTimeout(function () { window.location.reload(); }, status === current.status ? 0 : 300);
      }
      status = current.status;
    }
    source.addEventListener("status", onEvent);
    source.addEventListener("progress", onEvent);
    source.addEventListener("timeout", function () { source.close(); });
  }

  // ---- the compare page: every job's validation (solid) and train (dashed) loss on one chart ----------
  function comparePage(data) {
    var figure = document.getElementById("compare-chart");
    if (!figure || !data.jobs.length) return;
    var body = figure.querySelector(".chart-body");
    var maxEpoch = 0;
    data.jobs.forEach(function (j) {
      j.rows.forEach(function (r) { maxEpoch = Math.max(maxEpoch, r.epoch); });
    });
    var x = [];
    for (var e = 1; e <= maxEpoch; e++) x.push(e);
    var columns = [x];
    var series = [{ label: "epoch" }];
    data.jobs.forEach(function (j, i) {
      var byEpoch = {};
      j.rows.forEach(function (r) { byEpoch[r.epoch] = r; });
      var color = COLORS[i % COLORS.length];
      columns.push(x.map(function (ep) { var r = byEpoch[ep]; return r && isNum(r.val_loss) ? r.val_loss : null; }));
      series.push({ label: j.id + " validation", stroke: color, width: 2, spanGaps: true });
      columns.push(x.map(function (ep) { var r = byEpoch[ep]; return r && isNum(r.train_loss) ? r.train_loss : null; }));
      series.push({ label: j.id + " train", stroke: color, width: 1, dash: [6, 4], spanGaps: true });
    });
    var opts = { width: chartWidth(body), height: 320, series: series, scales: { x: { time: false } },
                 axes: [{ label: "epoch" }, { label: "loss (" + data.loss + ")", size: 60 }] };
    var plot = new uPlot(opts, columns, body);
    figure.dataset.series = String(data.jobs.length);
    window.addEventListener("resize", function () { plot.setSize({ width: chartWidth(body), height: 320 }); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var job = readJSON("job-data");
    if (job) jobPage(job);
    var compare = readJSON("compare-data");
    if (compare) comparePage(compare);
  });
})();
