// chainrule serve: drawing what the server sent — the network, the loss curve, the boundary.
// Sizes and colours only: every number written here is one the server sent (`shown`, `exact`).
"use strict";

const SVG = "http://www.w3.org/2000/svg";

function exactOf(name) { return app.data.exact[name]; }
function shownOf(name) { return app.data.shown[name]; }

// The suffix the record gives values of the first example in a batch (#1), or none.
function suffix() { return app.data.record.step.examples.length > 1 ? "#1" : ""; }

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function layout(graph) {
  const columns = graph.layers.length;
  const tallest = Math.max(...graph.layers.map((l) => l.neurons.length));
  const gapY = tallest > 8 ? 46 : 104;
  const gapX = 160;
  const width = gapX * (columns - 1) + 200;  // room on the right for the target and the loss
  const height = Math.max(220, gapY * tallest + 80);
  const pos = {};
  graph.layers.forEach((layer, i) => {
    const x = 45 + i * gapX;
    const span = gapY * (layer.neurons.length - 1);
    layer.neurons.forEach((n, j) => { pos[n] = { x, y: height / 2 - span / 2 + j * gapY + 14 }; });
  });
  return { pos, width, height, radius: tallest > 8 ? 16 : 27 };
}

function focusable(node, name, label, editable) {
  node.setAttribute("tabindex", "0");
  node.setAttribute("data-name", name);
  node.setAttribute("aria-label", label);
  if (editable) node.classList.add("editable");
  el("title", {}, node).textContent = label;
}

function drawDiagram() {
  const { graph } = app.data;
  const svg = $("diagram");
  svg.replaceChildren();
  const { pos, width, height, radius } = layout(graph);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const weights = graph.edges.map((e) => Math.abs(Number(exactOf(e.weight))));
  const biggest = Math.max(1e-12, ...weights);
  const labels = graph.edges.length <= 8;  // more labels than this only cover each other; hover shows them
  const edges = el("g", { class: "edges" }, svg);
  graph.edges.forEach((e, i) => {
    const a = pos[e.from], b = pos[e.to];
    const g = el("g", { class: "edge", "data-edge": e.weight }, edges);
    const sign = Number(exactOf(e.weight)) < 0 ? "neg" : "pos";
    el("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: `wire ${sign}`,
      "stroke-width": (1 + 6 * weights[i] / biggest).toFixed(2) }, g);
    el("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: "hit" }, g);
    if (labels) {
      const t = 0.68;  // nearer the receiving neuron, where the edges of one neuron fan apart
      const text = el("text", { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t - 5, class: "edge-label" }, g);
      text.textContent = `${e.weight} ${shownOf(e.weight)}`;
    }
    focusable(g, e.weight, `weight ${e.weight} (${e.from} → ${e.to}) = ${exactOf(e.weight)}`, true);
  });
  drawBiases(svg, pos, radius);
  const s = suffix();
  const nodes = el("g", { class: "nodes" }, svg);
  graph.layers.forEach((layer, li) => {
    layer.neurons.forEach((n) => {
      const p = pos[n];
      const input = li === 0;
      const key = input ? n + s : `a_${n}${s}`;
      const g = el("g", { class: input ? "node input" : "node", "data-node": n }, nodes);
      el("circle", { cx: p.x, cy: p.y, r: radius }, g);
      el("text", { x: p.x, y: p.y - radius - 6, class: "node-name" }, g).textContent = n;
      el("text", { x: p.x, y: p.y + 5, class: "node-value" }, g).textContent = shownOf(key);
      const what = input ? `input ${n}` : `neuron ${n}: z_${n} = ${exactOf(`z_${n}${s}`)}, a_${n}`;
      focusable(g, input ? n : `a_${n}`, `${what} = ${exactOf(key)}`, input);
    });
  });
  drawTargets(svg, pos, radius);
}

function drawBiases(svg, pos, radius) {
  const byBias = {};
  for (const [neuron, bias] of Object.entries(app.data.graph.biases)) (byBias[bias] ||= []).push(neuron);
  const group = el("g", { class: "biases" }, svg);
  for (const [bias, neurons] of Object.entries(byBias)) {
    const xs = neurons.map((n) => pos[n]), top = Math.min(...xs.map((p) => p.y));
    // A neuron's own bias sits right above its name; a shared bias above and left of its layer.
    const shared = neurons.length > 1;
    const bx = shared ? xs[0].x - 92 : xs[0].x - 26, by = shared ? top - radius - 40 : top - radius - 42;
    const g = el("g", { class: "bias", "data-edge": bias }, group);
    neurons.forEach((n) => el("line", { x1: bx + 26, y1: by + 10, x2: pos[n].x, y2: pos[n].y, class: "bias-wire" }, g));
    el("rect", { x: bx - 8, y: by, width: 68, height: 20, rx: 5 }, g);
    el("text", { x: bx + 26, y: by + 14.5 }, g).textContent = `${bias} ${shownOf(bias)}`;
    focusable(g, bias, `bias ${bias} (added to ${neurons.join(", ")}) = ${exactOf(bias)}`, true);
  }
}

function drawTargets(svg, pos, radius) {
  const s = suffix();
  const outs = app.data.graph.outputs;
  const group = el("g", { class: "targets" }, svg);
  outs.forEach((n) => {
    const p = pos[n], name = `y_${n}`;
    const g = el("g", { class: "target" }, group);
    el("text", { x: p.x + radius + 10, y: p.y + 5, class: "target-text" }, g).textContent = `${outs.length > 1 ? name : "y"} = ${shownOf(name + s)}`;
    focusable(g, name, `target ${name} = ${exactOf(name + s)}`, true);
  });
  const last = pos[outs[outs.length - 1]];
  const g = el("g", { class: "node loss", "data-node": "loss" }, group);
  el("rect", { x: last.x + radius + 8, y: last.y + 18, width: 108, height: 26, rx: 6 }, g);
  el("text", { x: last.x + radius + 62, y: last.y + 36 }, g).textContent = `L = ${shownOf("loss")}`;
  focusable(g, "loss", `loss L = ${exactOf("loss")}`, false);
}

// ---------------------------------------------------------------- plots
function drawLossCurve() {
  const svg = $("loss-curve");
  svg.replaceChildren();
  const w = 300, h = 140, pad = 6;
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  el("rect", { x: 0, y: 0, width: w, height: h, class: "plot-bg" }, svg);
  const losses = app.losses;
  $("epoch").textContent = losses.length ? `epoch ${losses.length}, loss ${app.lossShown}` : "";
  if (losses.length < 1) {
    el("text", { x: w / 2, y: h / 2, class: "plot-empty" }, svg).textContent = "train to see the loss fall";
    return;
  }
  const top = Math.max(...losses), n = Math.max(losses.length - 1, 1);
  const points = losses.map((l, i) => `${(pad + (w - 2 * pad) * i / n).toFixed(1)},${(h - pad - (h - 2 * pad) * l / (top || 1)).toFixed(1)}`);
  el("polyline", { points: points.join(" "), class: "curve" }, svg);
}

function drawBoundary() {
  const b = app.data.boundary;
  $("boundary-figure").hidden = !b;
  if (!b) return;
  const canvas = $("boundary"), ctx = canvas.getContext("2d");
  const cell = canvas.width / b.size;
  const span = (b.high - b.low) || 1;
  b.values.forEach((row, r) => row.forEach((v, c) => {
    const t = Math.max(0, Math.min(1, (v - b.low) / span));   // colour only: where v sits between low and high
    const blue = [37, 99, 235], orange = [234, 88, 12];
    const mix = blue.map((bc, k) => Math.round(255 + ((t >= 0.5 ? bc : orange[k]) - 255) * Math.abs(t - 0.5) * 1.6));
    ctx.fillStyle = `rgb(${mix.join(",")})`;
    ctx.fillRect(c * cell, r * cell, cell + 0.5, cell + 0.5);
  }));
  const [x0, x1] = b.x1, [y0, y1] = b.x2;
  for (const [px, py, label] of b.points) {
    const cx = (px - x0) / (x1 - x0) * canvas.width, cy = (y1 - py) / (y1 - y0) * canvas.height;
    ctx.beginPath();
    ctx.arc(cx, cy, 3.2, 0, 2 * Math.PI);
    ctx.fillStyle = label >= b.threshold ? "#1e40af" : "#c2410c";
    ctx.fill();
    ctx.strokeStyle = "white";
    ctx.stroke();
  }
}
