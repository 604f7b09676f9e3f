// chainrule serve: the plots — the loss curve (with axes), the decision boundary, and each hidden
// neuron's output over the plane. Every value plotted is one the server sent; only positions and
// colours are worked out here.
"use strict";

// About `count` round tick values from 0 to `top` (1, 2 or 5 times a power of ten apart).
function ticks(top, count) {
  if (!(top > 0)) return [0];
  const raw = top / count, power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const out = [];
  for (let k = 0; !(out.length && out[out.length - 1] >= top); k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

// A tick's label: few digits, exponent form for the very small or large.
function tickLabel(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a < 1e-3 || a >= 1e5 ? v.toExponential(0).replace("e+", "e") : String(Number(v.toPrecision(3)));
}

function drawLossCurve() {
  const svg = $("loss-curve");
  svg.replaceChildren();
  const w = 320, h = 170, left = 44, right = 18, top = 10, bottom = 34;
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  el("rect", { x: 0, y: 0, width: w, height: h, class: "plot-bg" }, svg);
  // losses[0] is epoch 0, before any training; losses[k] the loss after epoch k.
  const losses = app.losses, tested = app.testLosses, trained = Math.max(0, losses.length - 1);
  $("epoch").textContent = losses.length
    ? `epoch ${trained}, loss ${app.lossShown}` + (tested.length > 1 ? `, test ${app.testShown}` : "")
    : "";
  if (losses.length < 1) {
    el("text", { x: w / 2, y: h / 2, class: "plot-empty" }, svg).textContent = "train to see the loss fall";
    return;
  }
  const highest = Math.max(...losses, ...tested), ys = ticks(highest, 4), yTop = ys[ys.length - 1] || 1;
  const xs = ticks(Math.max(1, trained), 4).filter((v) => Number.isInteger(v)), xTop = Math.max(1, trained, xs[xs.length - 1]);
  const px = (epoch) => left + (w - left - right) * (epoch / xTop);
  const py = (loss) => h - bottom - (h - top - bottom) * (loss / yTop);
  const axes = el("g", { class: "axes" }, svg);
  el("line", { x1: left, y1: h - bottom, x2: w - right, y2: h - bottom, class: "axis" }, axes);
  el("line", { x1: left, y1: top, x2: left, y2: h - bottom, class: "axis" }, axes);
  for (const v of ys) {
    el("line", { x1: left - 4, y1: py(v), x2: w - right, y2: py(v), class: v ? "grid" : "axis" }, axes);
    el("text", { x: left - 7, y: py(v) + 4, class: "tick y-tick" }, axes).textContent = tickLabel(v);
  }
  for (const v of xs) {
    el("line", { x1: px(v), y1: h - bottom, x2: px(v), y2: h - bottom + 4, class: "axis" }, axes);
    el("text", { x: px(v), y: h - bottom + 15, class: "tick x-tick" }, axes).textContent = String(v);
  }
  el("text", { x: (left + w - right) / 2, y: h - 3, class: "axis-title" }, axes).textContent = "epoch";
  el("text", { x: 11, y: (top + h - bottom) / 2, class: "axis-title", transform: `rotate(-90 11 ${(top + h - bottom) / 2})` }, axes).textContent = "loss";
  const line = (values, cls) => {
    const points = values.map((l, i) => `${px(i).toFixed(1)},${py(l).toFixed(1)}`);
    el("polyline", { points: points.join(" "), class: cls }, svg);
  };
  line(losses, "curve");
  if (tested.length) line(tested, "curve test");
  $("loss-legend").hidden = !tested.length;
}

// The colour of t in [0, 1]: orange at 0, white at ½, blue at 1.
function shade(t) {
  const blue = [37, 99, 235], orange = [234, 88, 12];
  const mix = blue.map((bc, k) => Math.round(255 + ((t >= 0.5 ? bc : orange[k]) - 255) * Math.abs(t - 0.5) * 1.6));
  return `rgb(${mix.join(",")})`;
}

function paint(canvas, rows, low, high) {
  const ctx = canvas.getContext("2d"), size = rows.length, cell = canvas.width / size, span = (high - low) || 1;
  rows.forEach((row, r) => row.forEach((v, c) => {
    ctx.fillStyle = shade(Math.max(0, Math.min(1, (v - low) / span)));
    ctx.fillRect(c * cell, r * cell, cell + 0.5, cell + 0.5);
  }));
}

function drawBoundary() {
  const b = app.data.boundary;
  $("boundary-figure").hidden = !b;
  drawNeuronMaps(b);
  if (!b) return;
  const canvas = $("boundary"), ctx = canvas.getContext("2d");
  // Discretized: each point of the plane in its class's colour, cut where the engine cuts (threshold).
  const rows = $("discretize").checked ? b.values.map((row) => row.map((v) => (v > b.threshold ? b.high : b.low))) : b.values;
  paint(canvas, rows, b.low, b.high);
  const [x0, x1] = b.x1, [y0, y1] = b.x2;
  // Training examples filled with a white rim; test examples (shown when asked) a ring in dark ink.
  const showTest = $("show-test").checked;
  for (const [px, py, label, test] of b.points) {
    if (test && !showTest) continue;
    const cx = (px - x0) / (x1 - x0) * canvas.width, cy = (y1 - py) / (y1 - y0) * canvas.height;
    ctx.beginPath();
    ctx.arc(cx, cy, 3.2, 0, 2 * Math.PI);
    ctx.fillStyle = label > b.threshold ? "#1e40af" : "#c2410c";  // the class the engine reads (above the cut)
    ctx.fill();
    ctx.lineWidth = test ? 1.6 : 1;
    ctx.strokeStyle = test ? "#111827" : "white";
    ctx.stroke();
  }
  drawAxes(canvas, b);
}

// Where the plane runs, on its edges: each input's first and last value, and its name (x1 across,
// x2 up), as TensorFlow Playground marks its plane; the same said in the canvas's label.
function axisTicks(b) {
  const [across, up] = app.data.record.network.inputs;
  const tick = (v) => String(Number(v.toPrecision(2))).replace("-", "−");
  return { across, up, x: b.x1.map(tick), y: b.x2.map(tick) };
}

function drawAxes(canvas, b) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height, t = axisTicks(b);
  ctx.font = "10px system-ui, sans-serif";
  const label = (text, x, y, align) => {
    ctx.textAlign = align;
    ctx.lineWidth = 3;
    ctx.strokeStyle = "rgba(255,255,255,0.85)";
    ctx.strokeText(text, x, y);
    ctx.fillStyle = "#1f2937";
    ctx.fillText(text, x, y);
  };
  label(t.x[0], 3, h - 4, "left");
  const short = (name) => (name.length > 12 ? `${name.slice(0, 11)}…` : name);  // the whole name is in the label
  label(`${short(t.across)} →`, w / 2, h - 4, "center");
  label(t.x[1], w - 3, h - 4, "right");
  label(t.y[1], 3, 11, "left");
  label(`${short(t.up)} ↑`, 3, h / 2, "left");
  canvas.setAttribute("aria-label", `Decision boundary: the network's output over the plane, ${t.across} from ${t.x[0]} to ${t.x[1]} across, ${t.up} from ${t.y[0]} to ${t.y[1]} up, with the data points`);
}

// One small map per hidden neuron, each a button that shows it large below.
function drawNeuronMaps(b) {
  const maps = b ? b.neurons : [];
  $("neurons-figure").hidden = !maps.length;
  const box = $("neuron-maps");
  if (box.childElementCount !== maps.length || [...box.children].some((c, i) => c.dataset.neuron !== maps[i].name)) {
    box.replaceChildren(...maps.map((m) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "neuron-map";
      button.dataset.neuron = m.name;
      button.setAttribute("aria-label", `enlarge the map of neuron ${m.name}`);
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 50;
      const name = document.createElement("span");
      name.textContent = m.name;
      button.append(canvas, name);
      button.addEventListener("click", () => { app.enlarged = app.enlarged === m.name ? null : m.name; drawBoundary(); });
      return button;
    }));
  }
  maps.forEach((m, i) => {
    const button = box.children[i];
    button.title = `a_${m.name} over the plane: from ${m.low.toPrecision(3)} (orange) to ${m.high.toPrecision(3)} (blue)`;
    button.setAttribute("aria-pressed", String(app.enlarged === m.name));
    paint(button.querySelector("canvas"), m.values, m.low, m.high);
  });
  const big = maps.find((m) => m.name === app.enlarged);
  $("neuron-large-figure").hidden = !big;
  if (big) {
    paint($("neuron-large"), big.values, big.low, big.high);
    $("neuron-large-caption").textContent = `a_${big.name} over the plane: orange ${big.low.toPrecision(3)}, blue ${big.high.toPrecision(3)} (click its map again to close)`;
  }
}
