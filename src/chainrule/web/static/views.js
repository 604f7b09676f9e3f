// chainrule serve: the matrix switch and the graph view. Both draw what /api/views sends:
// the matrix story's equations as MathML (each named entry carries its scalar name and exact
// value) and the computational graph (values, gradients, local derivatives, the products that
// flow back, the backward order). Nothing here computes a number.
"use strict";

const views = {
  form: "scalar",     // the equations: "scalar" (the stepper) or "matrix" (the whole update in matrices)
  picture: "network", // the picture: "network" (the diagram) or "graph" (the computational graph)
  answer: null,       // the last /api/views answer
  asked: 0,           // the number of the latest request: an older answer arriving late is dropped
  busy: false,        // a request in flight: while training, answers come faster than views are made
  again: false,       // an answer came while busy: ask once more when the request in flight is back
  at: 0,              // the graph view's step: index into circuit.order
};

function viewsWanted() { return views.form === "matrix" || views.picture === "graph"; }

// Called by app.js's show() after every answer: the views follow the network on the page.
async function refreshViews() {
  applyViewSwitches();
  if (!viewsWanted() || !app.data) return;
  if (views.busy) { views.again = true; return; }
  views.busy = true;
  const asked = ++views.asked;
  try {
    const body = { network: app.doc, example: app.example, version: app.version };
    const answer = await (await api("/api/views", body)).json();
    if (asked === views.asked && current(answer)) {
      views.answer = answer;
      if (views.at >= answer.circuit.order.length) views.at = 0;
      drawMatrixForm();
      drawCircuit();
    }
  } catch (err) { say(err.message, true); }
  views.busy = false;
  if (views.again) { views.again = false; refreshViews(); }
}

function applyViewSwitches() {
  const matrix = views.form === "matrix", graph = views.picture === "graph";
  $("matrix-form").hidden = !matrix;
  // One stepper at a time: the graph view steps its graph (its own buttons, and the arrow keys).
  for (const id of ["equations", "step-title"]) $(id).hidden = matrix || graph;
  document.querySelector(".stepper .step-buttons").hidden = matrix || graph;
  $("circuit").hidden = !graph;
  document.querySelector(".diagram-wrap").hidden = graph;
  $("wires-row").hidden = graph;
}

// ---------------------------------------------------------------- the matrix form
function drawMatrixForm() {
  const out = $("matrix-lines");
  out.replaceChildren();
  const form = views.answer.matrix;
  for (const line of form.lines) {
    let node;
    if (line.heading !== undefined) {
      node = document.createElement("h3");
      node.textContent = line.heading;
    } else if (line.text !== undefined) {
      node = document.createElement("div");
      node.className = "prose";
      node.textContent = line.text;
    } else {
      node = document.createElement("div");
      node.className = "eq";
      node.innerHTML = line.mathml;  // MathML written by the server (escaped there)
      node.querySelector("math")?.setAttribute("aria-label", line.plain);
    }
    out.appendChild(node);
  }
  out.querySelectorAll(".eq").forEach(wrapWide);  // app.js: long lines wrap on a phone instead of being cut
  if (form.note) {
    const note = document.createElement("p");
    note.className = "notice";
    note.textContent = form.note;
    out.appendChild(note);
  }
  $("entry-tip").textContent = "";
}

function showEntry(event) {
  const entry = event.target.closest?.(".entry");
  if (!entry) return;
  const { name, exact } = entry.dataset;
  const tip = $("entry-tip");
  tip.textContent = `${name} = ${exact}, entry ${entry.dataset.entry}`;
  // just above the entry, kept inside the panel's width
  const box = entry.getBoundingClientRect(), wrap = $("matrix-form").getBoundingClientRect();
  tip.style.left = `${Math.max(0, Math.min(box.left - wrap.left, wrap.width - tip.offsetWidth))}px`;
  tip.style.top = `${box.top - wrap.top - tip.offsetHeight - 4}px`;
}

// ---------------------------------------------------------------- the graph view
const COLUMN = 118, ROW = 58, RADIUS = 13;
const SYMBOLS = { mul: "×", add: "+", loss: "L", batch: "Σ" };

function svgEl(name, attrs, parent) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  parent.appendChild(node);
  return node;
}

function drawCircuit() {
  const svg = $("circuit-graph");
  svg.replaceChildren();
  const graph = views.answer.circuit;
  if (!graph.nodes.length) {
    svg.setAttribute("viewBox", "0 0 400 60");
    svgEl("text", { x: 200, y: 34, class: "plot-empty" }, svg).textContent = graph.note;
    showCircuitStep();
    return;
  }
  const at = (n) => ({ x: 50 + n.column * COLUMN, y: 30 + n.row * ROW });
  const width = 100 + Math.max(...graph.nodes.map((n) => n.column)) * COLUMN;
  const height = 60 + Math.max(...graph.nodes.map((n) => n.row)) * ROW;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const byId = Object.fromEntries(graph.nodes.map((n) => [n.id, n]));
  const edges = svgEl("g", {}, svg);
  graph.edges.forEach((e, i) => {
    const a = at(byId[e.src]), b = at(byId[e.dst]);
    const line = svgEl("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: "op-edge" }, edges);
    line.dataset.edge = i;
  });
  for (const n of graph.nodes) {
    const p = at(n);
    const g = svgEl("g", { class: `op-node ${n.kind}`, transform: `translate(${p.x} ${p.y})` }, svg);
    g.dataset.node = n.id;
    const leaf = ["input", "param", "target"].includes(n.kind);
    if (leaf) g.classList.add("leaf");
    svgEl("circle", { r: RADIUS }, g);
    svgEl("text", { y: 4 }, g).textContent = leaf ? "" : (SYMBOLS[n.kind] || n.op.slice(0, 4));
    svgEl("text", { y: -RADIUS - 4 }, g).textContent = n.label.length > 16 ? n.label.slice(0, 15) + "…" : n.label;
    svgEl("text", { y: RADIUS + 12, class: "op-grad" }, g);
  }
  showCircuitStep();
}

function showCircuitStep() {
  const graph = views.answer?.circuit;
  const count = graph ? graph.order.length : 0;
  views.at = Math.max(0, Math.min(count - 1, views.at));
  $("circuit-count").textContent = count ? `node ${views.at + 1} of ${count}, backward` : "";
  $("circuit-first").disabled = $("circuit-prev").disabled = views.at === 0;
  $("circuit-next").disabled = $("circuit-last").disabled = views.at >= count - 1;
  const detail = $("circuit-detail");
  detail.replaceChildren();
  if (!count) return;
  const byId = Object.fromEntries(graph.nodes.map((n) => [n.id, n]));
  const current = graph.order[views.at];
  const reached = new Set(graph.order.slice(0, views.at + 1));
  const svg = $("circuit-graph");
  svg.querySelectorAll(".op-node").forEach((g) => {
    const id = g.dataset.node, done = reached.has(id);
    g.classList.toggle("current", id === current);
    g.classList.toggle("done", done);
    g.querySelector(".op-grad").textContent = done ? `∂ ${byId[id].grad.shown}` : "";
  });
  svg.querySelectorAll(".op-local").forEach((t) => t.remove());
  graph.edges.forEach((e, i) => {
    const line = svg.querySelector(`[data-edge="${i}"]`);
    line.classList.toggle("in", e.dst === current);
    line.classList.toggle("out", e.src === current && Boolean(e.product));
    if (e.dst === current && e.local) {
      const x = (Number(line.getAttribute("x1")) + Number(line.getAttribute("x2"))) / 2;
      const y = (Number(line.getAttribute("y1")) + Number(line.getAttribute("y2"))) / 2;
      svgEl("text", { x, y: y - 3, class: "op-local" }, svg).textContent = `×${e.local.shown}`;
    }
  });
  describeNode(detail, graph, byId, current);
  // The lit node in view (a phone shows part of the graph at a time), without moving the page.
  const lit = svg.querySelector(".op-node.current"), wrap = svg.parentElement;
  if (lit && wrap.scrollWidth > wrap.clientWidth) {
    const box = lit.getBoundingClientRect(), frame = wrap.getBoundingClientRect();
    wrap.scrollLeft += box.left + box.width / 2 - (frame.left + frame.width / 2);
  }
}

function item(list, text, cls) {
  const li = document.createElement("li");
  li.textContent = text;
  if (cls) li.className = cls;
  list.appendChild(li);
}

// What the step says: the gradient that arrived at the node (one contribution per out-edge,
// and their sum), then what each of its inputs receives from it.
function describeNode(detail, graph, byId, id) {
  const node = byId[id];
  const title = document.createElement("h3");
  title.textContent = `∂L/∂${node.label} = ${node.grad.shown}` + (node.op ? ` (${node.op})` : "");
  title.title = node.grad.exact;
  detail.appendChild(title);
  const arrived = graph.edges.filter((e) => e.src === id && e.product);
  const heading = (text) => { const p = document.createElement("p"); p.textContent = text; detail.appendChild(p); };
  if (arrived.length) {
    heading(`Arrived at ${node.label}: ∂L/∂${node.label} += ∂dst/∂${node.label} · ∂L/∂dst, one term per use`);
    const list = document.createElement("ul");
    list.className = "arrived";
    for (const e of arrived) {
      const dst = byId[e.dst];
      item(list, `from ${dst.label}: ${e.local.shown} · ${dst.grad.shown} = ${e.product.shown}`);
    }
    if (arrived.length > 1) {
      item(list, `sum: ${arrived.map((e) => e.product.shown).join(" + ")} = ${node.grad.shown} = ∂L/∂${node.label}`, "sum");
    }
    detail.appendChild(list);
  } else heading(`The start: ∂L/∂${node.label} = 1`);
  const sent = graph.edges.filter((e) => e.dst === id && e.product);
  if (!sent.length) return;
  heading(`Sent back from ${node.label}: local derivative · ∂L/∂${node.label}`);
  const list = document.createElement("ul");
  list.className = "sent";
  for (const e of sent) {
    const src = byId[e.src];
    item(list, `to ${src.label}: ∂${node.label}/∂${src.label} = ${e.local.shown}; ${e.local.shown} · ${node.grad.shown} = ${e.product.shown}`);
  }
  detail.appendChild(list);
}

function circuitGo(at) {
  views.at = at;
  showCircuitStep();
}

// Called by app.js's start(), once app.js's helpers ($, api, say) exist.
function wireViews() {
  for (const input of document.querySelectorAll('input[name="form"], input[name="picture"]')) {
    input.addEventListener("change", () => {
      views[input.name] = input.value;
      refreshViews();
    });
  }
  $("circuit-first").addEventListener("click", () => circuitGo(0));
  $("circuit-prev").addEventListener("click", () => circuitGo(views.at - 1));
  $("circuit-next").addEventListener("click", () => circuitGo(views.at + 1));
  $("circuit-last").addEventListener("click", () => circuitGo(views.answer.circuit.order.length - 1));
  const lines = $("matrix-lines");
  lines.addEventListener("mouseover", showEntry);
  lines.addEventListener("focusin", showEntry);
}
