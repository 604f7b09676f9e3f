// chainrule serve: drawing what the server sent — the network (plots.js draws the plots).
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

// Positions in screen pixels: the drawing is as wide as its box and one unit is one pixel, so the
// text keeps its CSS size (11 px and up) at any width; rows spread to fit about 60% of the window's
// height. A network too tall for that scrolls (the box has a height limit) instead of shrinking.
const RIGHT = 152;  // room right of the outputs for the target and the loss box
const LEFT = 40;

function layout(graph) {
  const columns = graph.layers.length;
  const tallest = Math.max(...graph.layers.map((l) => l.neurons.length));
  const width = Math.max(300, $("diagram-box").clientWidth - 2);
  const gapX = (width - LEFT - RIGHT) / Math.max(1, columns - 1);
  // On a wide screen the drawing stays in view (sticky, at most 60% of the height): it fits that.
  const room = Math.max(220, window.innerHeight * (window.innerWidth > 860 ? 0.6 : 0.7) - 60);
  const gapY = tallest > 1 ? Math.max(44, Math.min(104, (room - 120) / (tallest - 1))) : 104;
  const radius = Math.max(15, Math.min(27, gapX / 3.6, gapY / 2.6));
  const height = Math.max(200, gapY * (tallest - 1) + 2 * radius + 120);
  const pos = {};
  graph.layers.forEach((layer, i) => {
    const x = LEFT + i * gapX;
    const span = gapY * (layer.neurons.length - 1);
    layer.neurons.forEach((n, j) => { pos[n] = { x, y: height / 2 - span / 2 + j * gapY + 20 }; });
  });
  // Weight labels only where they have room (else on hover and focus, which show every value).
  const fan = Math.max(...graph.layers.slice(1).map((l, i) => l.neurons.length * graph.layers[i].neurons.length));
  const labels = gapX >= 150 && (graph.edges.length <= 8 || (fan <= 12 && gapY >= 60));
  return { pos, width, height, radius, labels };
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
  const { pos, width, height, radius, labels } = layout(graph);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  // The wires show the weights, or (app.wires === "gradients") each weight's gradient ∂L/∂w.
  const gradients = app.wires === "gradients";
  const sizeOf = (e) => Number(exactOf(gradients ? `dL/d${e.weight}` : e.weight));
  const weights = graph.edges.map((e) => Math.abs(sizeOf(e)) || 0);
  const biggest = Math.max(1e-12, ...weights);
  const edges = el("g", { class: "edges" }, svg);
  const placed = [];  // the weight labels' boxes so far: a label slides back along its wire off them
  graph.edges.forEach((e, i) => {
    const a = pos[e.from], b = pos[e.to];
    const g = el("g", { class: "edge", "data-edge": e.weight }, edges);
    const sign = sizeOf(e) < 0 ? "neg" : "pos";
    el("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: `wire ${sign}`,
      "stroke-width": (1 + 6 * weights[i] / biggest).toFixed(2) }, g);
    el("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: "hit" }, g);
    if (labels) {
      // Ending nearer the receiving neuron, where the edges of one neuron fan apart, and clear of its circle.
      const length = Math.hypot(b.x - a.x, b.y - a.y);
      let t = 1 - (radius + 22) / length;
      const text = el("text", { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t - 5, class: "edge-label" }, g);
      // The label says what the wire shows: the weight, or its gradient.
      text.textContent = gradients ? `∂${e.weight} ${compact(`dL/d${e.weight}`, 6, 2)}` : `${e.weight} ${compact(e.weight, 6, 2)}`;
      // Where wires cross (3 × 3 and wider), back along the wire until clear of the labels before it.
      const lowest = (radius + 60) / length;
      while (placed.some((p) => overlapping(p, text.getBBox())) && t - 0.08 >= lowest) {
        t -= 0.08;
        text.setAttribute("x", a.x + (b.x - a.x) * t);
        text.setAttribute("y", a.y + (b.y - a.y) * t - 5);
      }
      placed.push(text.getBBox());
    }
    const gradient = exactOf(`dL/d${e.weight}`);
    focusable(g, e.weight, `weight ${e.weight} (${e.from} → ${e.to}) = ${exactOf(e.weight)}`
      + (gradient === undefined ? "" : `, ∂L/∂${e.weight} = ${gradient}`), true);
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
      fitValue(el("text", { x: p.x, y: p.y + 5, class: "node-value" }, g), key, radius);
      const what = input ? `input ${n}` : `neuron ${n}: z_${n} = ${exactOf(`z_${n}${s}`)}, a_${n}`;
      focusable(g, input ? n : `a_${n}`, `${what} = ${exactOf(key)}`, input);
    });
  });
  drawTargets(svg, pos, radius);
  drawLegend(gradients);
}

// A value as short as the circle needs: the page's own form when it fits, else two significant
// digits in exponent form (1.3e-7); squeezed if even that is too wide. The exact value is on hover.
function fitValue(text, key, radius) {
  const room = 2 * radius - 8;
  const shown = compact(key, radius >= 22 ? 6 : 4, radius >= 22 ? 3 : 2);
  if (shown !== shownOf(key)) text.classList.add("abbreviated");
  text.textContent = shown;
  if (text.getComputedTextLength() > room) {
    text.setAttribute("textLength", room);
    text.setAttribute("lengthAdjust", "spacingAndGlyphs");
  }
}

// The page's form of a value when at most `chars` long, else `digits` significant digits
// (a power of ten, 1.3×10⁻⁷, for the very small and large, as the server and the math write it).
// A matter of display: the server's exact value stays on hover.
const SUPERSCRIPT = { "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹", "-": "⁻" };

function compact(key, chars, digits) {
  const shown = shownOf(key);
  if (shown.length <= chars) return shown;
  const v = Number(exactOf(key)), a = Math.abs(v);
  if (a !== 0 && (a < 0.01 || a >= 1e4)) {
    const [mantissa, power] = v.toExponential(1).replace("e+", "e").split("e");
    return `${mantissa.replace("-", "−")}×10${[...power].map((c) => SUPERSCRIPT[c]).join("")}`;
  }
  return String(Number(v.toPrecision(digits))).replace(/-/g, "−");
}

function overlapping(p, q) {
  return p.x < q.x + q.width + 2 && q.x < p.x + p.width + 2 && p.y < q.y + q.height && q.y < p.y + p.height;
}

function drawLegend(gradients) {
  $("wire-legend").textContent = gradients
    ? "Wire width: |∂L/∂w| (the update's size). Blue: ∂L/∂w > 0, the update lowers w; orange: ∂L/∂w < 0, it raises w."
    : "Wire width: |w|. Blue: w > 0; orange: w < 0.";
}

function drawBiases(svg, pos, radius) {
  const byBias = {};
  for (const [neuron, bias] of Object.entries(app.data.graph.biases)) (byBias[bias] ||= []).push(neuron);
  const group = el("g", { class: "biases" }, svg);
  for (const [bias, neurons] of Object.entries(byBias)) {
    const xs = neurons.map((n) => pos[n]), top = Math.min(...xs.map((p) => p.y));
    const g = el("g", { class: "bias", "data-edge": bias }, group);
    const rect = el("rect", { height: 20, rx: 5 }, g);
    const text = el("text", {}, g);
    text.textContent = `${bias} ${shownOf(bias)}`;
    const width = text.getComputedTextLength() + 12;
    // A shared bias sits above and left of its layer, wired to each neuron; a neuron's own bias
    // above and right of its name, clear of the wires that come in from the left and their labels.
    const shared = neurons.length > 1;
    const right = shared ? xs[0].x - 24 : xs[0].x + 10 + width;
    const by = shared ? top - radius - 40 : top - radius - 28;
    if (shared) neurons.forEach((n) => el("line", { x1: right - width / 2, y1: by + 10, x2: pos[n].x, y2: pos[n].y, class: "bias-wire" }, g));
    else el("line", { x1: right, y1: by + 10, x2: xs[0].x, y2: xs[0].y, class: "bias-wire" }, g);
    g.appendChild(rect);
    g.appendChild(text);
    rect.setAttribute("x", right - width);
    rect.setAttribute("y", by);
    rect.setAttribute("width", width);
    text.setAttribute("x", right - width / 2);
    text.setAttribute("y", by + 14.5);
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
